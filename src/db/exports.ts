/**
 * The page queries of the CSV exports: keyset pages by primary key, whatever the filters.
 *
 * Filter columns are written `+column`, which keeps SQLite from answering through their indexes:
 * with an index on the filter (business unit, event and time) it would collect every matching row
 * and sort it by id on every page — quadratic in the export's size, with the whole result in a
 * temporary B-tree. Walking the primary key from the cursor and filtering as it goes reads each
 * row at most once over the whole export and stops a page after its size in matches.
 *
 * With a status, `from` and `to` are on the time that status began (`statusBegin`), read from the
 * consent JSON as the page walks; without one they are on `updated_at`. Neither changes the walk.
 */
import { type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Channel, TopicDefinition } from "../consent/types";
import { type Database, database } from "./client";

export const CONTACT_STATUSES = [
	"opted_out",
	"subscribed",
	"unsubscribed",
	"pending",
	"blocked",
	"bounced",
	"returned",
] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];
/** The statuses of a channel (the others: of a topic, or of the contact). */
export const CHANNEL_STATUSES: readonly ContactStatus[] = ["opted_out", "bounced", "returned"];

export interface ContactExportFilter {
	businessUnit?: string;
	/**
	 * opted_out/bounced/returned: of `channel`, or of any channel without one (returned: opted in now
	 * after an opt-out); subscribed/unsubscribed/pending: effective status of `topic`; blocked: the
	 * contact.
	 */
	status?: ContactStatus;
	channel?: Channel;
	/** With a topic status; alone: contacts with any status for the topic. */
	topic?: TopicDefinition;
	/** With a status: it began at or after `from` (inclusive); without: updated_at >= from. ISO 8601 UTC. */
	from?: string;
	/** With a status: it began before `to` (exclusive); without: updated_at < to. */
	to?: string;
}

export interface ContactExportRow {
	id: string;
	external_id: string | null;
	email: string | null;
	phone: string | null;
	business_unit: string;
	created_at: string;
	updated_at: string;
	consent: string;
}

export interface EventExportFilter {
	/** Canonical event name (system events) or a custom name, exactly. */
	event?: string;
	source?: string;
	/** Only rows of contacts in this business unit (rows of erased contacts have none). */
	businessUnit?: string;
	/** occurred_at >= from, ISO 8601 UTC. */
	from?: string;
	/** occurred_at < to. */
	to?: string;
}

export interface EventExportRow {
	id: number;
	occurred_at: string;
	received_at: string;
	contact_id: string;
	external_id: string | null;
	email: string | null;
	phone: string | null;
	business_unit: string | null;
	event: string;
	channel: string | null;
	topic: string | null;
	changed: number;
	source: string;
	reason: string | null;
	feedback: string | null;
	campaign: string | null;
	ip: string | null;
	user_agent: string | null;
	changes: string;
	properties: string;
}

const and = (conditions: SQL[]) => (conditions.length > 0 ? sql` AND ${sql.join(conditions, sql` AND `)}` : sql``);

type ChannelField = "optedOut" | "bounced" | "optedOutAt" | "bouncedAt" | "lastOptedOutAt" | "returnedAt";
type TopicField = "status" | "statusSince" | "changedAt";

/** A field of the contact's consent JSON, as SQL (the path is a bound parameter). */
const channelField = (channel: Channel, field: ChannelField) => sql`consent ->> ${`$.channels.${channel}.${field}`}`;
// Topic keys may contain dots, so the key is a quoted JSON path label (keys never contain quotes).
const topicField = (key: string, field: TopicField) => sql`consent ->> ${`$.topics."${key}".${field}`}`;

/**
 * Where a status and the time it began are, as SQL over a contact row: `has` holds for contacts
 * with the status, `since` is when it began (meaningful where `has` holds). A channel status
 * without a channel is one per channel (`perChannel`): conditions over `ch`, a row of
 * `json_each(contacts.consent, '$.channels')`. The rules (src/consent/reducer.ts):
 *
 * - opted_out: since `lastOptedOutAt` (states written before it was kept: `optedOutAt`).
 * - bounced: since `bouncedAt`, which only a change of the flag moves.
 * - returned: opted in now after an opt-out, since `returnedAt` (the opt-in that ended it).
 * - blocked: since `blockedAt` (states written before it was kept: the row's updated_at).
 * - a topic's effective status: `effectiveTopicSince`. Unsubscribed while the channel is opted
 *   out: the earlier of the topic's own unsubscribe and the opt-out's begin; subscribed or pending:
 *   the later of the status's begin and the channel's return.
 */
export type StatusBegin = { has: SQL; since: SQL; perChannel?: true };

/**
 * A channel field: of `channel`, or (null) of `ch`, the channel row of
 * `json_each(contacts.consent, '$.channels')` that a per-channel condition runs over.
 */
const channelOrEach = (channel: Channel | null, field: ChannelField) =>
	channel ? channelField(channel, field) : sql.raw(`ch.value ->> '${field}'`);

/** The status of `filter` as SQL; null without a status (or a topic status without its topic). */
export function statusBegin(filter: Pick<ContactExportFilter, "status" | "channel" | "topic">): StatusBegin | null {
	const { status, channel, topic } = filter;
	switch (status) {
		case undefined:
			return null;
		case "blocked":
			return { has: sql`consent ->> '$.blocked' = 1`, since: sql`coalesce(consent ->> '$.blockedAt', updated_at)` };
		case "opted_out":
		case "bounced":
		case "returned": {
			const field = (name: ChannelField) => channelOrEach(channel ?? null, name);
			const perChannel = channel ? {} : { perChannel: true as const };
			if (status === "opted_out") {
				return {
					has: sql`${field("optedOut")} = 1`,
					since: sql`coalesce(${field("lastOptedOutAt")}, ${field("optedOutAt")})`,
					...perChannel,
				};
			}
			if (status === "bounced") return { has: sql`${field("bounced")} = 1`, since: field("bouncedAt"), ...perChannel };
			return {
				has: sql`${field("returnedAt")} IS NOT NULL AND coalesce(${field("optedOut")}, 0) = 0`,
				since: field("returnedAt"),
				...perChannel,
			};
		}
		case "subscribed":
		case "pending":
		case "unsubscribed": {
			if (!topic) return null;
			const own = topicField(topic.key, "status");
			const ownSince = sql`coalesce(${topicField(topic.key, "statusSince")}, ${topicField(topic.key, "changedAt")})`;
			const optedOut = sql`coalesce(${channelField(topic.channel, "optedOut")}, 0)`;
			if (status !== "unsubscribed") {
				// max() of SQLite with several arguments: the larger, or NULL when one is NULL.
				return {
					has: sql`${own} = ${status} AND ${optedOut} = 0`,
					since: sql`max(${ownSince}, coalesce(${channelField(topic.channel, "returnedAt")}, ''))`,
				};
			}
			const optOutBegan = sql`coalesce(${channelField(topic.channel, "lastOptedOutAt")}, ${channelField(topic.channel, "optedOutAt")}, ${ownSince})`;
			return {
				has: sql`(${own} = 'unsubscribed' OR (${own} IS NOT NULL AND ${optedOut} = 1))`,
				since: sql`CASE WHEN ${optedOut} = 1 THEN (CASE WHEN ${own} = 'unsubscribed' THEN min(${ownSince}, ${optOutBegan}) ELSE ${optOutBegan} END) ELSE ${ownSince} END`,
			};
		}
	}
}

/** The status holds and began in the range. */
function inRange(begin: StatusBegin, range: { from?: string; to?: string }): SQL {
	const conditions = [begin.has];
	if (range.from) conditions.push(sql`${begin.since} >= ${range.from}`);
	if (range.to) conditions.push(sql`${begin.since} < ${range.to}`);
	return sql.join(conditions, sql` AND `);
}

const EACH_CHANNEL = sql`json_each(contacts.consent, '$.channels') AS ch`;

/**
 * The status's begin time, as SQL over a contact row, for contacts with the status that began in
 * the range (NULL for the others). Per channel: the earliest such begin over the channels.
 */
export function statusBeginInRange(begin: StatusBegin, range: { from?: string; to?: string }): SQL {
	if (begin.perChannel) return sql`(SELECT min(${begin.since}) FROM ${EACH_CHANNEL} WHERE ${inRange(begin, range)})`;
	return sql`CASE WHEN ${inRange(begin, range)} THEN ${begin.since} END`;
}

/** Conditions of a contacts export. */
function contactConditions(filter: ContactExportFilter): SQL[] {
	const where: SQL[] = [];
	if (filter.businessUnit) where.push(sql`+business_unit = ${filter.businessUnit}`);
	const begin = statusBegin(filter);
	const range = { from: filter.from, to: filter.to };
	if (!begin) {
		if (filter.from) where.push(sql`+updated_at >= ${filter.from}`);
		if (filter.to) where.push(sql`+updated_at < ${filter.to}`);
		if (filter.topic) where.push(sql`${topicField(filter.topic.key, "status")} IS NOT NULL`);
	} else if (begin.perChannel) {
		where.push(sql`EXISTS (SELECT 1 FROM ${EACH_CHANNEL} WHERE ${inRange(begin, range)})`);
	} else {
		where.push(inRange(begin, range));
	}
	return where;
}

export function contactPageQuery(filter: ContactExportFilter, after: string | null, pageSize: number): SQL {
	return sql`SELECT id, external_id, email, phone, business_unit, created_at, updated_at, consent
		FROM contacts WHERE id > ${after ?? ""}${and(contactConditions(filter))} ORDER BY id LIMIT ${pageSize}`;
}

export async function contactPage(
	env: { DB: D1Database },
	filter: ContactExportFilter,
	after: string | null,
	pageSize: number,
	db: Database = database(env),
): Promise<ContactExportRow[]> {
	return db.all<ContactExportRow>(contactPageQuery(filter, after, pageSize));
}

export function eventPageQuery(filter: EventExportFilter, after: number | null, pageSize: number): SQL {
	const where: SQL[] = [];
	if (filter.event) where.push(sql`+l.event = ${filter.event}`);
	if (filter.source) where.push(sql`+l.source = ${filter.source}`);
	if (filter.from) where.push(sql`+l.occurred_at >= ${filter.from}`);
	if (filter.to) where.push(sql`+l.occurred_at < ${filter.to}`);
	if (filter.businessUnit) where.push(sql`+c.business_unit = ${filter.businessUnit}`);
	// The contact columns are the contact as it is now; rows of erased contacts have none.
	return sql`SELECT l.id, l.occurred_at, l.received_at, l.contact_id, c.external_id, c.email, c.phone,
			c.business_unit, l.event, l.channel, l.topic, l.changed, l.source, l.reason, l.feedback, l.campaign,
			l.ip, l.user_agent, l.changes, l.properties
		FROM ledger AS l LEFT JOIN contacts AS c ON c.id = l.contact_id
		WHERE l.id > ${after ?? 0}${and(where)} ORDER BY l.id LIMIT ${pageSize}`;
}

export async function eventPage(
	env: { DB: D1Database },
	filter: EventExportFilter,
	after: number | null,
	pageSize: number,
	db: Database = database(env),
): Promise<EventExportRow[]> {
	return db.all<EventExportRow>(eventPageQuery(filter, after, pageSize));
}

/** The text of a query (for EXPLAIN QUERY PLAN in tests). */
export const queryText = (query: SQL): string => new SQLiteAsyncDialect().sqlToQuery(query).sql;
