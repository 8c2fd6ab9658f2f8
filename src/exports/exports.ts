/**
 * Streamed CSV exports: contacts with their consent state, and the ledger.
 *
 * Memory stays flat whatever the row count: a ReadableStream pulls one page of at most
 * EXPORT_PAGE_SIZE rows only when the client has taken the previous one (keyset pagination,
 * `WHERE id > ? ORDER BY id LIMIT n`, never OFFSET, so page n costs what page 1 costs), encodes it
 * as one chunk, and forgets it.
 */
import { effectiveTopicStatus } from "../consent/decision";
import { lastOptedOutAt } from "../consent/reducer";
import { CHANNELS, type ConsentState, type TopicDefinition } from "../consent/types";
import { readDatabase } from "../db/client";
import {
	CHANNEL_STATUSES,
	CONTACT_STATUSES,
	type ContactExportFilter,
	type ContactExportRow,
	type ContactStatus,
	contactPage,
	contactPageQuery,
	type EventExportFilter,
	type EventExportRow,
	eventPage,
	eventPageQuery,
	queryText,
} from "../db/exports";
import { countRows } from "../db/jobs";
import type { Bindings } from "../env";

export { CHANNEL_STATUSES, CONTACT_STATUSES, type ContactExportFilter, type ContactStatus, type EventExportFilter };

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

/**
 * An export that can also be read in separate invocations (an export job's steps): the key of a
 * row to go on after it, and a count of the matching rows.
 */
export interface ExportSource<Row> extends PagedCsv<Row> {
	keyOf(row: Row): string | number;
	/** Rows after the row with this key (null: from the start), in key order, at most pageSize. */
	fetchAfter(key: string | number | null): Promise<Row[]>;
	/** The matching rows, counted up to `limit` (null: all of them); one query. */
	count(limit: number | null): Promise<number>;
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

// ---------------------------------------------------------------------------------------------
// contacts.csv

/**
 * The column layout of contacts.csv: identity and times, `blocked`, `optedOut:<channel>` and
 * `bounced:<channel>` for every channel, `lastOptedOutAt`, then `topic:<key>` (effective status)
 * for every topic in `topics`. The same names are import columns (`lastOptedOutAt` one the import
 * skips), so an export can be imported back.
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
		{ name: "lastOptedOutAt", kind: "trusted" },
		...topics.map((topic) => ({ name: `topic:${topic.key}` })),
	];
}

export function contactsCsv(
	env: Bindings,
	filter: ContactExportFilter,
	topics: readonly TopicDefinition[],
	pageSize = EXPORT_PAGE_SIZE,
	bookmark: string | null = null,
): ExportSource<ContactExportRow> {
	const row = createRowEncoder(contactColumns(topics));
	// Pages are read through one D1 session: a replica, no older than the client's bookmark.
	const db = readDatabase(env, bookmark);
	return {
		header: row.header,
		pageSize,
		sql: queryText(contactPageQuery(filter, null, pageSize)),
		fetchPage: (after) => contactPage(env, filter, after?.id ?? null, pageSize, db),
		keyOf: (contact) => contact.id,
		fetchAfter: (key) => contactPage(env, filter, key === null ? null : String(key), pageSize, db),
		// LIMIT -1: no limit.
		count: (limit) => countRows(env, contactPageQuery(filter, null, limit ?? -1)),
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
			values.push(lastOptedOutAt(state, filter.channel));
			for (const topic of topics) values.push(effectiveTopicStatus(state, topic.key));
			return row.encode(values);
		},
	};
}

// ---------------------------------------------------------------------------------------------
// events.csv

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
	bookmark: string | null = null,
): ExportSource<EventExportRow> {
	const row = createRowEncoder(EVENT_COLUMNS);
	const db = readDatabase(env, bookmark);
	return {
		header: row.header,
		pageSize,
		sql: queryText(eventPageQuery(filter, null, pageSize)),
		fetchPage: (after) => eventPage(env, filter, after?.id ?? null, pageSize, db),
		keyOf: (event) => event.id,
		fetchAfter: (key) => eventPage(env, filter, key === null ? null : Number(key), pageSize, db),
		count: (limit) => countRows(env, eventPageQuery(filter, null, limit ?? -1)),
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
