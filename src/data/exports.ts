/**
 * Streamed CSV exports: contacts with their consent state, and the ledger.
 *
 * Memory stays flat whatever the row count: a ReadableStream pulls one page of at most
 * EXPORT_PAGE_SIZE rows only when the client has taken the previous one (keyset pagination,
 * `WHERE id > ? ORDER BY id LIMIT n`, never OFFSET, so page n costs what page 1 costs), encodes it
 * as one chunk, and forgets it.
 */
import { effectiveTopicStatus } from "../consent/decision";
import { CHANNELS, type Channel, type ConsentState, type TopicDefinition } from "../consent/types";
import type { Bindings } from "../env";
import { type CsvColumn, type CsvValue, createRowEncoder } from "./csv";

export const EXPORT_PAGE_SIZE = 1000;

/** One export: its header and how to read and encode a page after a given row. */
export interface PagedCsv<Row> {
	header: string;
	pageSize: number;
	/** The page query (for EXPLAIN QUERY PLAN in tests). */
	sql?: string;
	/** Rows after `after` (null: from the start), in key order, at most pageSize. */
	fetchPage(after: Row | null): Promise<Row[]>;
	encode(row: Row): string;
}

/** Counters a test (or a log line) can read while the stream runs. */
export interface StreamStats {
	pagesRead: number;
	rowsWritten: number;
	chunks: number;
	maxChunkBytes: number;
}

const encoder = new TextEncoder();

/**
 * The export as a byte stream. The first page is read before the stream is returned, so a failing
 * query still becomes a problem+json answer. A failure after that errors the stream: the client
 * sees a broken transfer (no terminating chunk), never a file that merely looks complete.
 */
export async function csvStream<Row>(
	source: PagedCsv<Row>,
	stats: StreamStats = { pagesRead: 0, rowsWritten: 0, chunks: 0, maxChunkBytes: 0 },
): Promise<ReadableStream<Uint8Array>> {
	let next: Row[] | null = await source.fetchPage(null);
	stats.pagesRead++;
	let header = source.header;
	let last: Row | null = null;

	return new ReadableStream<Uint8Array>(
		{
			async pull(controller) {
				try {
					let page: Row[];
					if (next) {
						page = next;
						next = null;
					} else {
						page = await source.fetchPage(last);
						stats.pagesRead++;
					}
					let text = header;
					header = "";
					for (const row of page) text += source.encode(row);
					if (text !== "") {
						const chunk = encoder.encode(text);
						stats.chunks++;
						stats.rowsWritten += page.length;
						stats.maxChunkBytes = Math.max(stats.maxChunkBytes, chunk.byteLength);
						controller.enqueue(chunk);
					}
					last = page[page.length - 1] ?? last;
					if (page.length < source.pageSize) controller.close();
				} catch (error) {
					console.error("export stream failed after", stats.rowsWritten, "rows:", String(error));
					controller.error(new Error("the export failed midway; the file is incomplete"));
				}
			},
		},
		// Pull only when the reader asks: at most one page is held, however slow the client is.
		{ highWaterMark: 0 },
	);
}

/**
 * The filters of a keyset page query, with their parameters in order.
 *
 * Filter columns are written `+column`, which keeps SQLite from answering through their indexes:
 * with an index on the filter (business unit, event and time) it would collect every matching row
 * and sort it by id on every page — quadratic in the export's size, with the whole result in a
 * temporary B-tree. Walking the primary key from the cursor and filtering as it goes reads each
 * row at most once over the whole export and stops a page after EXPORT_PAGE_SIZE matches.
 */
class Where {
	readonly conditions: string[] = [];
	readonly params: unknown[] = [];

	add(condition: string, ...params: unknown[]): this {
		this.conditions.push(condition);
		this.params.push(...params);
		return this;
	}

	sql(): string {
		return this.conditions.length > 0 ? `AND ${this.conditions.join(" AND ")}` : "";
	}
}

// ---------------------------------------------------------------------------------------------
// contacts.csv

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

interface ContactExportRow {
	id: string;
	external_id: string | null;
	email: string | null;
	phone: string | null;
	business_unit: string;
	created_at: string;
	updated_at: string;
	consent: string;
}

/**
 * The column layout of contacts.csv: identity and times, `blocked`, `optedOut:<channel>` and
 * `bounced:<channel>` for every channel, then `topic:<key>` (effective status) for every topic in
 * `topics`. The same names are import columns, so an export can be imported back.
 */
export function contactColumns(topics: readonly TopicDefinition[]): CsvColumn[] {
	return [
		{ name: "id", kind: "trusted" },
		{ name: "externalId" },
		{ name: "email" },
		// E.164, validated by normalizePhone: "+" and 7 to 15 digits, never a formula.
		{ name: "phone", kind: "trusted" },
		{ name: "businessUnit", kind: "trusted" },
		{ name: "createdAt", kind: "trusted" },
		{ name: "updatedAt", kind: "trusted" },
		{ name: "blocked" },
		...CHANNELS.flatMap((channel) => [{ name: `optedOut:${channel}` }, { name: `bounced:${channel}` }]),
		...topics.map((topic) => ({ name: `topic:${topic.key}` })),
	];
}

const channelFlag = (field: "optedOut" | "bounced", channel: Channel) => `$.channels.${channel}.${field}`;
// Topic keys may contain dots, so the key is a quoted JSON path label (keys never contain quotes).
const topicStatusPath = (key: string) => `$.topics."${key}".status`;

function contactConditions(filter: ContactExportFilter): Where {
	const where = new Where();
	if (filter.businessUnit) where.add("+business_unit = ?", filter.businessUnit);
	if (filter.from) where.add("+updated_at >= ?", filter.from);
	if (filter.to) where.add("+updated_at < ?", filter.to);
	const { status, channel, topic } = filter;
	if (status === "blocked") where.add("consent ->> '$.blocked' = 1");
	if (status === "opted_out" || status === "bounced") {
		const field = status === "opted_out" ? "optedOut" : "bounced";
		if (channel) where.add("consent ->> ? = 1", channelFlag(field, channel));
		else
			where.add(
				`EXISTS (SELECT 1 FROM json_each(contacts.consent, '$.channels') AS c WHERE c.value ->> '${field}' = 1)`,
			);
	}
	if (topic) {
		const statusPath = topicStatusPath(topic.key);
		const channelOptedOut = channelFlag("optedOut", topic.channel);
		// The effective status is unsubscribed while the topic's channel is opted out.
		if (status === "subscribed" || status === "pending") {
			where.add("consent ->> ? = ? AND coalesce(consent ->> ?, 0) = 0", statusPath, status, channelOptedOut);
		} else if (status === "unsubscribed") {
			where.add(
				"(consent ->> ? = 'unsubscribed' OR (consent ->> ? IS NOT NULL AND consent ->> ? = 1))",
				statusPath,
				statusPath,
				channelOptedOut,
			);
		} else where.add("consent ->> ? IS NOT NULL", statusPath);
	}
	return where;
}

export function contactsCsv(
	env: Bindings,
	filter: ContactExportFilter,
	topics: readonly TopicDefinition[],
	pageSize = EXPORT_PAGE_SIZE,
): PagedCsv<ContactExportRow> {
	const row = createRowEncoder(contactColumns(topics));
	const where = contactConditions(filter);
	const sql = `SELECT id, external_id, email, phone, business_unit, created_at, updated_at, consent
		FROM contacts WHERE id > ? ${where.sql()} ORDER BY id LIMIT ?`;
	return {
		header: row.header,
		pageSize,
		sql,
		async fetchPage(after) {
			const { results } = await env.DB.prepare(sql)
				.bind(after?.id ?? "", ...where.params, pageSize)
				.all<ContactExportRow>();
			return results;
		},
		encode(contact) {
			const state = JSON.parse(contact.consent) as ConsentState;
			const values: CsvValue[] = [
				contact.id,
				contact.external_id,
				contact.email,
				contact.phone,
				contact.business_unit,
				contact.created_at,
				contact.updated_at,
				state.blocked,
			];
			for (const channel of CHANNELS) {
				const channelState = state.channels[channel];
				values.push(channelState?.optedOut ?? false, channelState?.bounced ?? false);
			}
			for (const topic of topics) values.push(effectiveTopicStatus(state, topic.key));
			return row.encode(values);
		},
	};
}

// ---------------------------------------------------------------------------------------------
// events.csv

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

interface EventExportRow {
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

export const EVENT_COLUMNS: readonly CsvColumn[] = [
	{ name: "id" },
	{ name: "occurredAt", kind: "trusted" },
	{ name: "receivedAt", kind: "trusted" },
	{ name: "contactId", kind: "trusted" },
	{ name: "externalId" },
	{ name: "email" },
	{ name: "phone", kind: "trusted" },
	{ name: "businessUnit", kind: "trusted" },
	{ name: "event" },
	{ name: "channel", kind: "trusted" },
	{ name: "topic", kind: "trusted" },
	{ name: "changed" },
	{ name: "source" },
	{ name: "reason" },
	{ name: "feedback" },
	{ name: "campaign" },
	{ name: "ip" },
	{ name: "userAgent" },
	{ name: "changes" },
	{ name: "properties" },
];

export function eventsCsv(
	env: Bindings,
	filter: EventExportFilter,
	pageSize = EXPORT_PAGE_SIZE,
): PagedCsv<EventExportRow> {
	const row = createRowEncoder(EVENT_COLUMNS);
	const where = new Where();
	if (filter.event) where.add("+l.event = ?", filter.event);
	if (filter.source) where.add("+l.source = ?", filter.source);
	if (filter.from) where.add("+l.occurred_at >= ?", filter.from);
	if (filter.to) where.add("+l.occurred_at < ?", filter.to);
	if (filter.businessUnit) where.add("+c.business_unit = ?", filter.businessUnit);
	// The contact columns are the contact as it is now; rows of erased contacts have none.
	const sql = `SELECT l.id, l.occurred_at, l.received_at, l.contact_id, c.external_id, c.email, c.phone,
			c.business_unit, l.event, l.channel, l.topic, l.changed, l.source, l.reason, l.feedback, l.campaign,
			l.ip, l.user_agent, l.changes, l.properties
		FROM ledger AS l LEFT JOIN contacts AS c ON c.id = l.contact_id
		WHERE l.id > ? ${where.sql()} ORDER BY l.id LIMIT ?`;
	return {
		header: row.header,
		pageSize,
		sql,
		async fetchPage(after) {
			const { results } = await env.DB.prepare(sql)
				.bind(after?.id ?? 0, ...where.params, pageSize)
				.all<EventExportRow>();
			return results;
		},
		encode(event) {
			return row.encode([
				event.id,
				event.occurred_at,
				event.received_at,
				event.contact_id,
				event.external_id,
				event.email,
				event.phone,
				event.business_unit,
				event.event,
				event.channel,
				event.topic,
				event.changed === 1,
				event.source,
				event.reason,
				event.feedback,
				event.campaign,
				event.ip,
				event.user_agent,
				event.changes,
				event.properties,
			]);
		},
	};
}
