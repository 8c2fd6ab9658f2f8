/**
 * The page queries of the CSV exports: keyset pages by primary key, whatever the filters.
 *
 * Filter columns are written `+column`, which keeps SQLite from answering through their indexes:
 * with an index on the filter (business unit, event and time) it would collect every matching row
 * and sort it by id on every page — quadratic in the export's size, with the whole result in a
 * temporary B-tree. Walking the primary key from the cursor and filtering as it goes reads each
 * row at most once over the whole export and stops a page after its size in matches.
 */
import { type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { Channel, TopicDefinition } from "../consent/types";
import { type AnyDatabase, database } from "./client";

export const CONTACT_STATUSES = ["opted_out", "subscribed", "unsubscribed", "pending", "blocked", "bounced"] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];

export interface ContactExportFilter {
	businessUnit?: string;
	/** opted_out/bounced: of `channel`, or of any channel without one; subscribed/unsubscribed/pending: effective status of `topic`. */
	status?: ContactStatus;
	channel?: Channel;
	/** With a topic status; alone: contacts with any status for the topic. */
	topic?: TopicDefinition;
	/** updated_at >= from (inclusive), ISO 8601 UTC. */
	from?: string;
	/** updated_at < to (exclusive). */
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

const channelFlag = (field: "optedOut" | "bounced", channel: Channel) => `$.channels.${channel}.${field}`;
// Topic keys may contain dots, so the key is a quoted JSON path label (keys never contain quotes).
const topicStatusPath = (key: string) => `$.topics."${key}".status`;

function contactConditions(filter: ContactExportFilter): SQL[] {
	const where: SQL[] = [];
	if (filter.businessUnit) where.push(sql`+business_unit = ${filter.businessUnit}`);
	if (filter.from) where.push(sql`+updated_at >= ${filter.from}`);
	if (filter.to) where.push(sql`+updated_at < ${filter.to}`);
	const { status, channel, topic } = filter;
	if (status === "blocked") where.push(sql`consent ->> '$.blocked' = 1`);
	if (status === "opted_out" || status === "bounced") {
		const field = status === "opted_out" ? "optedOut" : "bounced";
		if (channel) where.push(sql`consent ->> ${channelFlag(field, channel)} = 1`);
		else
			where.push(
				sql.raw(
					`EXISTS (SELECT 1 FROM json_each(contacts.consent, '$.channels') AS c WHERE c.value ->> '${field}' = 1)`,
				),
			);
	}
	if (topic) {
		const statusPath = topicStatusPath(topic.key);
		const channelOptedOut = channelFlag("optedOut", topic.channel);
		// The effective status is unsubscribed while the topic's channel is opted out.
		if (status === "subscribed" || status === "pending") {
			where.push(sql`consent ->> ${statusPath} = ${status} AND coalesce(consent ->> ${channelOptedOut}, 0) = 0`);
		} else if (status === "unsubscribed") {
			where.push(
				sql`(consent ->> ${statusPath} = 'unsubscribed' OR (consent ->> ${statusPath} IS NOT NULL AND consent ->> ${channelOptedOut} = 1))`,
			);
		} else where.push(sql`consent ->> ${statusPath} IS NOT NULL`);
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
	db: AnyDatabase = database(env),
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
	db: AnyDatabase = database(env),
): Promise<EventExportRow[]> {
	return db.all<EventExportRow>(eventPageQuery(filter, after, pageSize));
}

/** The text of a query (for EXPLAIN QUERY PLAN in tests). */
export const queryText = (query: SQL): string => new SQLiteAsyncDialect().sqlToQuery(query).sql;
