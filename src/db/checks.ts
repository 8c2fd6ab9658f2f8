/**
 * The reads of a consent check: one statement per kind of recipient, whatever their number. The
 * decision itself is src/consent/decision.ts; src/api/check.ts puts the two together.
 */
import { sql } from "drizzle-orm";
import type { AddressKind } from "../consent/suppression";
import type { Channel } from "../consent/types";
import { database, rowsOf } from "./client";

export type RecipientKind = "externalId" | "email" | "phone";

/** What one recipient's row carries: only the consent fields the decision needs. */
export interface CheckRow {
	/** The recipient's position in its group (json_each key). */
	i: number;
	id: string | null;
	blocked: number | null;
	/** JSON of the asked channel's state. */
	ch: string | null;
	/** JSON of the asked topic's state. */
	tp: string | null;
	address_blocked: number;
	/** The suppression reasons (JSON) of the address the channel reaches, when its hash was at hand. */
	suppression: string | null;
	/** That address, when its hash was not at hand: to look up afterwards. */
	unhashed: string | null;
}

export interface RecipientGroup {
	kind: RecipientKind;
	values: string[];
	/** For recipients that are addresses of the channel's kind: their keyed hashes, where at hand. */
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
}

/**
 * Recipients travel as one JSON array parameter (D1 binds at most 100), the bare-address blocklist
 * is checked by primary key, and the suppression of the address the channel reaches is found by
 * the keyed hash the contact row keeps of it (or the one that travels with the recipient).
 */
function statementFor(group: RecipientGroup, scope: CheckScope) {
	const own = group.hashes !== null;
	const v = sql.raw(own ? "r.value ->> 0" : "r.value");
	const join =
		group.kind === "externalId"
			? sql`c.external_id = ${v}${scope.sameUnitOnly ? sql` AND c.business_unit = ${scope.businessUnit}` : sql``}`
			: sql`c.business_unit = ${scope.businessUnit} AND ${sql.raw(`c.${group.kind}`)} = ${v}`;
	// The recipient's own address equals the contact's email (or phone): probe it and the other one.
	const blocklisted =
		group.kind === "externalId"
			? sql.raw("c.email, c.phone")
			: sql`${v}, ${sql.raw(group.kind === "email" ? "c.phone" : "c.email")}`;
	const kind = scope.addressKind;
	const hash = !kind ? sql.raw("NULL") : sql.raw(own ? `coalesce(c.${kind}_hash, r.value ->> 1)` : `c.${kind}_hash`);
	const address = !kind ? sql.raw("NULL") : own ? v : sql.raw(`c.${kind}`);
	const values = own ? group.values.map((value, index) => [value, group.hashes?.[index] ?? null]) : group.values;
	return sql`SELECT r.key AS i, c.id, c.consent ->> '$.blocked' AS blocked,
		  c.consent -> ${`$.channels.${scope.channel}`} AS ch,
		  c.consent -> ${scope.topicKey ? `$.topics."${scope.topicKey}"` : "$.none"} AS tp,
		  EXISTS (SELECT 1 FROM blocklist b WHERE b.address IN (${blocklisted})) AS address_blocked,
		  (SELECT s.reasons FROM suppressions s WHERE s.hash = ${hash}) AS suppression,
		  CASE WHEN ${hash} IS NULL THEN ${address} END AS unhashed
		FROM json_each(${JSON.stringify(values)}) r LEFT JOIN contacts c ON ${join}`;
}

/** The rows of every group, in one round trip. */
export async function readCheckRows(
	env: { DB: D1Database },
	groups: RecipientGroup[],
	scope: CheckScope,
): Promise<CheckRow[][]> {
	const db = database(env);
	const [first, ...rest] = groups.map((group) => rowsOf<CheckRow>(db, statementFor(group, scope)));
	if (!first) return [];
	return rest.length === 0 ? [await first] : ((await db.batch([first, ...rest])) as CheckRow[][]);
}
