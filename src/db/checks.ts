/**
 * The reads of a consent check: one statement per kind of recipient, whatever their number, and
 * the topic's row, all in one round trip. The decision itself is src/consent/decision.ts;
 * src/api/check.ts puts the two together.
 */
import { eq, fillPlaceholders, type SQL, sql } from "drizzle-orm";
import type { AddressKind } from "../consent/suppression";
import type { Channel } from "../consent/types";
import { type BuiltQuery, type Database, runBuilt, valuesOf, valuesOfBuilt } from "./client";
import { topics } from "./schema";
import type { Topic } from "./topics";

export type RecipientKind = "externalId" | "email" | "phone";

/**
 * One recipient's row, as the statement's columns in this order: only what the decision reads,
 * as scalars (no JSON to parse per recipient). JSON booleans come as 1 or 0, missing ones as null.
 */
export type CheckRow = [
	/** The recipient's position in its group (json_each key). */
	i: number,
	id: string | null,
	/** Only with `scope.withUnit`. */
	businessUnit: string | null,
	blocked: number | null,
	/** The asked channel's flags. */
	optedOut: number | null,
	bounced: number | null,
	/** The asked topic's stored status. */
	topicStatus: string | null,
	addressBlocked: number,
	/** The suppression reasons (JSON) of the address the channel reaches, when its hash was at hand. */
	suppression: string | null,
	/** That address, when its hash was not at hand: to look up afterwards. */
	unhashed: string | null,
];

export interface RecipientGroup {
	kind: RecipientKind;
	values: string[];
	/**
	 * For recipients that are addresses of the channel's kind: their keyed hashes (null where not
	 * at hand), so that the suppression of an address without a contact is found by the same
	 * statement. null: none travel (other kinds, and large batches, whose contacts' rows carry theirs).
	 */
	hashes: Array<string | null> | null;
}

export interface CheckScope {
	channel: Channel;
	/** The address kind the channel reaches (null: push). */
	addressKind: AddressKind | null;
	topicKey: string | null;
	businessUnit: string;
	/** Users found by externalId only in this business unit (keys limited to units). */
	sameUnitOnly: boolean;
	/** Whether rows carry the contact's business unit (else null). */
	withUnit?: boolean;
}

/**
 * Recipients travel as one JSON array parameter (D1 binds at most 100), the bare-address blocklist
 * is checked by primary key, and the suppression of the address the channel reaches is joined by
 * the keyed hash the contact row keeps of it (or the one that travels with the recipient).
 */
function statementFor(group: RecipientGroup, scope: CheckScope): SQL {
	const unit = sql.placeholder("businessUnit");
	const own = group.kind === scope.addressKind;
	const paired = group.hashes !== null;
	const v = sql.raw(paired ? "r.value ->> 0" : "r.value");
	const join =
		group.kind === "externalId"
			? sql`c.external_id = ${v}${scope.sameUnitOnly ? sql` AND c.business_unit = ${unit}` : sql``}`
			: sql`c.business_unit = ${unit} AND ${sql.raw(`c.${group.kind}`)} = ${v}`;
	// The recipient's own address equals the contact's email (or phone): probe it and the other one.
	// One equality per address (an IN list costs more per row), the contact's only when it has one.
	const listed = (address: SQL) => sql`EXISTS (SELECT 1 FROM blocklist b WHERE b.address = ${address})`;
	const listedIfAny = (column: string) => sql`(${sql.raw(column)} IS NOT NULL AND ${listed(sql.raw(column))})`;
	const blocklisted =
		group.kind === "externalId"
			? sql`${listedIfAny("c.email")} OR ${listedIfAny("c.phone")}`
			: sql`${listed(v)} OR ${listedIfAny(group.kind === "email" ? "c.phone" : "c.email")}`;
	const kind = scope.addressKind;
	const hash = !kind ? null : sql.raw(paired ? `coalesce(c.${kind}_hash, r.value ->> 1)` : `c.${kind}_hash`);
	// The address the channel reaches: the recipient itself, or its contact's.
	const address = !kind ? null : own ? v : sql.raw(`c.${kind}`);
	const channelPath = `$.channels.${scope.channel}`;
	return sql`SELECT r.key AS i, c.id AS id, ${scope.withUnit ? sql`c.business_unit` : sql`NULL`} AS unit,
		  c.consent ->> '$.blocked' AS blocked,
		  c.consent ->> ${`${channelPath}.optedOut`} AS opted_out, c.consent ->> ${`${channelPath}.bounced`} AS bounced,
		  ${scope.topicKey ? sql`c.consent ->> ${sql.placeholder("topicPath")}` : sql`NULL`} AS topic_status,
		  ${blocklisted} AS address_blocked,
		  ${hash ? sql`s.reasons` : sql`NULL`} AS suppression,
		  ${hash && address ? sql`CASE WHEN ${hash} IS NULL THEN ${address} END` : sql`NULL`} AS unhashed
		FROM json_each(${sql.placeholder("recipients")}) r LEFT JOIN contacts c ON ${join}
		${hash ? sql`LEFT JOIN suppressions s ON s.hash = ${hash}` : sql``}`;
}

/** Compiled statements by shape (a few dozen at most): the SQL text and its parameters, placeholders included. */
const compiled = new Map<string, { sql: string; params: unknown[] }>();

/**
 * The group's statement, compiled from its `sql` template once per shape (a single check would
 * otherwise spend a good part of its time building the same SQL text again); the recipients'
 * JSON, the business unit and the topic fill its placeholders.
 */
function statementOf(db: Database, group: RecipientGroup, scope: CheckScope): BuiltQuery {
	const paired = group.hashes !== null;
	const key = `${group.kind} ${paired} ${scope.channel} ${scope.addressKind} ${scope.topicKey !== null} ${scope.sameUnitOnly} ${scope.withUnit === true}`;
	let entry = compiled.get(key);
	if (!entry) {
		entry = valuesOf(db, statementFor(group, scope)).getQuery();
		compiled.set(key, entry);
	}
	const values = paired ? group.values.map((value, index) => [value, group.hashes?.[index] ?? null]) : group.values;
	const params = fillPlaceholders(entry.params, {
		recipients: JSON.stringify(values),
		businessUnit: scope.businessUnit,
		topicPath: `$.topics."${scope.topicKey}".status`,
	});
	return { sql: entry.sql, params };
}

type CheckStatement = ReturnType<typeof valuesOfBuilt<CheckRow>>;

export interface CheckRead {
	/** Per group, one row per recipient. */
	rows: CheckRow[][];
	/** The row of `scope.topicKey` (null: no such topic; undefined: none asked for). */
	topic?: Topic | null;
}

/**
 * The rows of every group, and with `lookUpTopic` the row of `scope.topicKey`, in one round trip:
 * a single statement when there is one group and no topic to read, else one D1 batch.
 */
export async function readCheckRows(
	db: Database,
	groups: RecipientGroup[],
	scope: CheckScope,
	lookUpTopic = false,
): Promise<CheckRead> {
	const built = groups.map((group) => statementOf(db, group, scope));
	const topicKey = lookUpTopic ? scope.topicKey : null;
	// The single check's one statement goes to D1 as it is: no drizzle query built around it.
	if (!topicKey && built.length <= 1) return { rows: built[0] ? [await runBuilt<CheckRow>(db, built[0])] : [] };
	const statements = built.map((query) => valuesOfBuilt<CheckRow>(db, query)) as [CheckStatement, ...CheckStatement[]];
	if (!topicKey) return { rows: (await db.batch(statements)) as CheckRow[][] };
	const topic = db.select().from(topics).where(eq(topics.key, topicKey));
	const [[row], ...rows] = (await db.batch([topic, ...statements])) as unknown as [Topic[], ...CheckRow[][]];
	return { rows, topic: row ?? null };
}
