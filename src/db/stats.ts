/**
 * The queries of the opt-out statistics (what they count: src/reports/stats.ts). Group keys are
 * columns by name from a fixed list: nothing from the request is ever put into SQL text.
 *
 * Each read runs on the primary, or through `db`: a session of `readDatabase` (the API's
 * statistics, which may be served by a read replica).
 */
import { type SQL, sql } from "drizzle-orm";
import {
	type GroupBy,
	type Interval,
	MAX_SENT_CAMPAIGNS,
	OPT_OUT_EVENTS,
	type SeriesPoint,
	type StatsFilter,
} from "../reports/stats";
import { type Database, database } from "./client";
import { type ContactExportFilter, statusBegin, statusBeginInRange } from "./exports";

/** The same bucketing in SQL, of a time column. Weeks: back 6 days, then forward to a Monday, is the Monday on or before. */
const bucketSql = (column: string): Record<Interval, SQL> => ({
	day: sql.raw(`substr(${column}, 1, 10)`),
	week: sql.raw(`date(substr(${column}, 1, 10), '-6 days', 'weekday 1')`),
	month: sql.raw(`substr(${column}, 1, 7)`),
});
const BUCKET_SQL = bucketSql("l.occurred_at");

const KEY_SQL: Record<GroupBy, SQL> = {
	channel: sql.raw("l.channel"),
	topic: sql.raw("l.topic"),
	source: sql.raw("l.source"),
	reason: sql.raw("l.reason"),
	campaign: sql.raw("l.campaign"),
};

const EVENTS_SQL = sql.raw(OPT_OUT_EVENTS.map((event) => `'${event}'`).join(", "));

/**
 * FROM and WHERE of every opt-out count. Stored times are `toISOString()` text, so text comparison
 * is time order.
 */
function optOutRows(filter: StatsFilter): SQL {
	const from = filter.from.toISOString();
	const to = filter.to.toISOString();
	return filter.businessUnit === null
		? sql`FROM ledger l WHERE l.event IN (${EVENTS_SQL}) AND l.occurred_at >= ${from} AND l.occurred_at < ${to}
			AND l.changed = 1`
		: sql`FROM ledger l JOIN contacts c ON c.id = l.contact_id
			WHERE l.event IN (${EVENTS_SQL}) AND l.occurred_at >= ${from} AND l.occurred_at < ${to} AND l.changed = 1
			AND c.business_unit = ${filter.businessUnit}`;
}

/** The query of optOutSeries, exported for the query-plan check in the tests. */
export function optOutSeriesQuery(filter: StatsFilter, interval: Interval, groupBy: GroupBy | null): SQL {
	const key = groupBy ? KEY_SQL[groupBy] : sql.raw("NULL");
	// NULL keys sort first (SQLite), so the order is stable: bucket, then key.
	return sql`SELECT ${BUCKET_SQL[interval]} AS bucket, ${key} AS key, count(*) AS count ${optOutRows(filter)}
		GROUP BY 1, 2 ORDER BY 1, 2`;
}

/** Opt-outs per bucket and key; buckets and keys without any are left out. groupBy null: totals (key null). */
export async function optOutSeries(
	env: { DB: D1Database },
	filter: StatsFilter,
	interval: Interval,
	groupBy: GroupBy | null,
	db: Database = database(env),
): Promise<SeriesPoint[]> {
	return db.all<SeriesPoint>(optOutSeriesQuery(filter, interval, groupBy));
}

/** Opt-outs in the whole range per key, the most first (the dashboard's breakdowns). */
export async function optOutTotals(
	env: { DB: D1Database },
	filter: StatsFilter,
	groupBy: GroupBy,
	db: Database = database(env),
): Promise<Array<{ key: string | null; count: number }>> {
	return db.all(
		sql`SELECT ${KEY_SQL[groupBy]} AS key, count(*) AS count ${optOutRows(filter)} GROUP BY 1 ORDER BY 2 DESC, 1`,
	);
}

/** The status of a contact count: a status, with its channel or topic (as the contacts export takes them). */
export type ContactStatusFilter = Required<Pick<ContactExportFilter, "status">> &
	Pick<ContactExportFilter, "channel" | "topic">;

/** The query of contactStatusSeries, exported for the tests. */
export function contactStatusSeriesQuery(filter: StatsFilter, status: ContactStatusFilter, interval: Interval): SQL {
	const begin = statusBegin(status);
	if (!begin) throw new Error("stats: a topic status needs its topic");
	const range = { from: filter.from.toISOString(), to: filter.to.toISOString() };
	const unit = filter.businessUnit === null ? sql`` : sql` WHERE business_unit = ${filter.businessUnit}`;
	return sql`SELECT ${bucketSql("began")[interval]} AS bucket, count(*) AS count
		FROM (SELECT ${statusBeginInRange(begin, range)} AS began FROM contacts${unit})
		WHERE began IS NOT NULL GROUP BY 1 ORDER BY 1`;
}

/**
 * Contacts whose status is `status` now and began in the range, per bucket of the time it began
 * (what counts: src/reports/stats.ts); buckets without any are left out. Reads every contact of
 * the business unit (or all of them).
 */
export async function contactStatusSeries(
	env: { DB: D1Database },
	filter: StatsFilter,
	status: ContactStatusFilter,
	interval: Interval,
	db: Database = database(env),
): Promise<Array<{ bucket: string; count: number }>> {
	return db.all(contactStatusSeriesQuery(filter, status, interval));
}

export interface CampaignStat {
	campaign: string;
	/** Opt-out, unsubscribe and complaint rows that carried the campaign. */
	unsubscribes: number;
	/** Distinct contacts among them: the people the campaign lost. */
	contacts: number;
	/** Messages sent, as the caller said; null when not given. */
	sent: number | null;
	/** contacts / sent, rounded to 6 decimals; null without `sent`. */
	rate: number | null;
}

/**
 * Unsubscribes per campaign id (the id a link carried). consent-edge does not send and
 * cannot know how many messages a campaign went to, so the rate is only given for campaigns whose
 * send count the caller passes in `sent`: then exactly those campaigns are listed (0 when nobody
 * left), each with `rate` = distinct contacts who opted out or unsubscribed through the campaign's
 * links / sent. Without `sent`: the campaigns with the most such contacts, up to `limit`.
 */
export async function campaignStats(
	env: { DB: D1Database },
	filter: StatsFilter,
	options: { sent: Map<string, number> | null; limit: number },
	db: Database = database(env),
): Promise<CampaignStat[]> {
	const sent = options.sent;
	const only = sent
		? sql` AND l.campaign IN (SELECT value FROM json_each(${JSON.stringify([...sent.keys()])}))`
		: sql``;
	const results = await db.all<{ campaign: string; unsubscribes: number; contacts: number }>(
		sql`SELECT l.campaign AS campaign, count(*) AS unsubscribes, count(DISTINCT l.contact_id) AS contacts
			${optOutRows(filter)} AND l.campaign IS NOT NULL${only}
			GROUP BY l.campaign ORDER BY contacts DESC, unsubscribes DESC, campaign LIMIT ${sent ? MAX_SENT_CAMPAIGNS : options.limit}`,
	);
	if (!sent) return results.map((row) => ({ ...row, sent: null, rate: null }));
	const found = new Map(results.map((row) => [row.campaign, row]));
	return [...sent]
		.map(([campaign, count]) => {
			const row = found.get(campaign);
			const contacts = row?.contacts ?? 0;
			return {
				campaign,
				unsubscribes: row?.unsubscribes ?? 0,
				contacts,
				sent: count,
				rate: Math.round((contacts / count) * 1e6) / 1e6,
			};
		})
		.sort((a, b) => (b.rate ?? 0) - (a.rate ?? 0) || a.campaign.localeCompare(b.campaign));
}

export interface RecentEvent {
	id: number;
	occurredAt: string;
	event: string;
	channel: string | null;
	topic: string | null;
	source: string;
	reason: string | null;
	campaign: string | null;
	changed: boolean;
	/** null when the contact was erased. */
	businessUnit: string | null;
}

/** The query of recentEvents, exported for the query-plan check in the tests. */
export function recentEventsQuery(filter: StatsFilter, limit: number): SQL {
	const range = sql`l.occurred_at >= ${filter.from.toISOString()} AND l.occurred_at < ${filter.to.toISOString()}`;
	// With a business unit, CROSS JOIN keeps the ledger the outer loop: SQLite would otherwise start
	// from the unit's contacts and sort all their rows, where walking ledger_occurred_at backwards
	// stops after `limit` matches.
	const from =
		filter.businessUnit === null
			? sql`ledger l LEFT JOIN contacts c ON c.id = l.contact_id WHERE ${range}`
			: sql`ledger l CROSS JOIN contacts c ON c.id = l.contact_id WHERE ${range} AND c.business_unit = ${filter.businessUnit}`;
	return sql`SELECT l.id, l.occurred_at AS occurredAt, l.event, l.channel, l.topic, l.source, l.reason, l.campaign,
		  l.changed, c.business_unit AS businessUnit
		FROM ${from} ORDER BY l.occurred_at DESC, l.id DESC LIMIT ${limit}`;
}

/**
 * The newest ledger rows of every kind in the range (the dashboard's list). No IP, user agent,
 * feedback or address: an overview needs none, and a person's own record is the history endpoint.
 */
export async function recentEvents(
	env: { DB: D1Database },
	filter: StatsFilter,
	limit: number,
	db: Database = database(env),
): Promise<RecentEvent[]> {
	const rows = await db.all<Omit<RecentEvent, "changed"> & { changed: number }>(recentEventsQuery(filter, limit));
	return rows.map((row) => ({ ...row, changed: row.changed === 1 }));
}
