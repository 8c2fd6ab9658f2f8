import type { Bindings } from "../env";

/*
 * Opt-out statistics, read straight from the ledger. The API (src/api/stats.ts) and the
 * admin dashboard (src/admin) both use these functions, so both count the same thing:
 *
 * - Ledger rows with `changed = 1` (an event that changed nothing, e.g. a second one-click on the
 *   same link or a stale provider retry, is proof that it arrived, not a second opt-out) whose
 *   event is `Opt Out`, `Unsubscribe` or `Complaint` (a spam complaint opts the channel out, so it
 *   is an opt-out; it is told apart by its reason `complaint`). `Bounce`, `Block` and `Erase` are
 *   not: nobody asked to leave.
 * - By `occurred_at` (when the person acted, as the event said) in UTC; `from` inclusive, `to`
 *   exclusive. The counts read the index ledger_event_occurred_at (event, occurred_at), the
 *   list of recent events ledger_occurred_at; no new index is needed (see the query-plan test).
 * - A business-unit filter joins the contact: rows of erased contacts (their contact row is gone)
 *   then no longer count for any unit, while the unfiltered numbers keep them.
 */

export const INTERVALS = ["day", "week", "month"] as const;
export type Interval = (typeof INTERVALS)[number];

export const GROUP_BYS = ["channel", "topic", "source", "reason", "campaign"] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const OPT_OUT_EVENTS = ["Opt Out", "Unsubscribe", "Complaint"] as const;

/** A series longer than this is refused: too thin to chart, too big to answer from D1 in one go. */
export const MAX_BUCKETS = 1000;

/** The default range: the last 30 UTC days, today (up to now) included. */
export const DEFAULT_DAYS = 30;

const DAY_MS = 86_400_000;

export interface StatsRange {
	/** Inclusive. */
	from: Date;
	/** Exclusive. */
	to: Date;
}

export interface StatsFilter extends StatsRange {
	/** null: every business unit, erased contacts included. */
	businessUnit: string | null;
}

export interface SeriesPoint {
	bucket: string;
	key: string | null;
	count: number;
}

// ---------------------------------------------------------------------------------------------
// Time: parsing the range and naming buckets

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME =
	/^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/i;

/** A real calendar day: JavaScript's Date reads 2026-02-30 as March 2. */
function isCalendarDate(date: string): boolean {
	const time = new Date(`${date}T00:00:00.000Z`);
	return !Number.isNaN(time.getTime()) && time.toISOString().slice(0, 10) === date;
}

/**
 * A time of the query string: a date (`2026-11-01`, a UTC day) or a date-time with `Z` or an offset
 * (`2026-11-01T00:00:00+01:00`). A date-time without either is refused: its zone would be a guess.
 * `+` must be sent as `%2B`, but one decoded to a space (what a `+` in a query string means) is
 * taken back. `to` given as a date means the end of that day, so `from=2026-11-01&to=2026-11-30`
 * is the whole of November. Returns null when the text is not such a time.
 */
export function parseTime(text: string, end: "from" | "to"): Date | null {
	const value = text.trim().replace(/^(\S+T[\d:.]+) (\d{2}:?\d{2})$/, "$1+$2");
	if (DATE_ONLY.test(value)) {
		if (!isCalendarDate(value)) return null;
		const day = Date.parse(`${value}T00:00:00.000Z`);
		return new Date(end === "to" ? day + DAY_MS : day);
	}
	const match = DATE_TIME.exec(value);
	if (!match?.[1] || !isCalendarDate(match[1])) return null;
	// "+0100" as "+01:00", and "z" as "Z": the forms Date.parse is sure to read.
	const time = new Date(value.toUpperCase().replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
	return Number.isNaN(time.getTime()) ? null : time;
}

const startOfUtcDay = (time: number) => Math.floor(time / DAY_MS) * DAY_MS;

/**
 * Fills in a missing end: `to` defaults to now, `from` to the start of the UTC day 29 days before
 * the day of `to` (30 day buckets, the last one up to `to`). Null when `from` is not before `to`.
 */
export function resolveRange(from: Date | undefined, to: Date | undefined, now = new Date()): StatsRange | null {
	const end = to ?? now;
	const start = from ?? new Date(startOfUtcDay(end.getTime() - 1) - (DEFAULT_DAYS - 1) * DAY_MS);
	return start.getTime() < end.getTime() ? { from: start, to: end } : null;
}

export type RangeCheck =
	| { ok: true; range: StatsRange; buckets: string[] }
	| { ok: false; path: "from" | "interval"; message: string };

/** The range with its defaults, and its buckets: what both the API and the dashboard refuse. */
export function checkRange(
	from: Date | undefined,
	to: Date | undefined,
	interval: Interval,
	now = new Date(),
): RangeCheck {
	const range = resolveRange(from, to, now);
	if (!range) return { ok: false, path: "from", message: "from must be before to" };
	const buckets = bucketsOf(range, interval);
	if (!buckets) {
		return {
			ok: false,
			path: "interval",
			message: `more than ${MAX_BUCKETS} ${interval} buckets: choose a larger interval or a shorter range`,
		};
	}
	return { ok: true, range, buckets };
}

/** The bucket of a UTC instant: `2026-11-23` (day), the Monday of its ISO week (week), `2026-11` (month). */
export function bucketOf(time: Date, interval: Interval): string {
	const iso = time.toISOString();
	if (interval === "day") return iso.slice(0, 10);
	if (interval === "month") return iso.slice(0, 7);
	const day = startOfUtcDay(time.getTime());
	const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
	return new Date(day - sinceMonday * DAY_MS).toISOString().slice(0, 10);
}

/** The first instant of the bucket after the one that holds `time`. */
function nextBucket(time: Date, interval: Interval): Date {
	if (interval === "month") return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth() + 1, 1));
	const start = Date.parse(`${bucketOf(time, interval)}T00:00:00.000Z`);
	return new Date(start + (interval === "week" ? 7 : 1) * DAY_MS);
}

/**
 * Every bucket the range touches, oldest first (the first and last may be partial); null when
 * there would be more than MAX_BUCKETS.
 */
export function bucketsOf(range: StatsRange, interval: Interval): string[] | null {
	const buckets: string[] = [];
	for (let time = range.from; time < range.to; time = nextBucket(time, interval)) {
		if (buckets.length === MAX_BUCKETS) return null;
		buckets.push(bucketOf(time, interval));
	}
	return buckets;
}

// ---------------------------------------------------------------------------------------------
// Queries

/** The same bucketing in SQL. Weeks: back 6 days, then forward to a Monday, is the Monday on or before. */
const BUCKET_SQL: Record<Interval, string> = {
	day: "substr(l.occurred_at, 1, 10)",
	week: "date(substr(l.occurred_at, 1, 10), '-6 days', 'weekday 1')",
	month: "substr(l.occurred_at, 1, 7)",
};

/** Columns by name from a fixed list: nothing from the request is ever put into SQL text. */
const KEY_SQL: Record<GroupBy, string> = {
	channel: "l.channel",
	topic: "l.topic",
	source: "l.source",
	reason: "l.reason",
	campaign: "l.campaign",
};

const EVENTS_SQL = OPT_OUT_EVENTS.map((event) => `'${event}'`).join(", ");

/**
 * FROM and WHERE of every opt-out count, with its parameters ?1 (from), ?2 (to) and, with a
 * business unit, ?3. Stored times are `toISOString()` text, so text comparison is time order.
 */
function optOutRows(filter: StatsFilter): { sql: string; params: string[] } {
	const params = [filter.from.toISOString(), filter.to.toISOString()];
	let sql = `FROM ledger l`;
	if (filter.businessUnit !== null) {
		sql += " JOIN contacts c ON c.id = l.contact_id";
		params.push(filter.businessUnit);
	}
	sql += ` WHERE l.event IN (${EVENTS_SQL}) AND l.occurred_at >= ?1 AND l.occurred_at < ?2 AND l.changed = 1`;
	if (filter.businessUnit !== null) sql += " AND c.business_unit = ?3";
	return { sql, params };
}

/** The SQL of optOutSeries, exported for the query-plan check in the tests. */
export function optOutSeriesQuery(filter: StatsFilter, interval: Interval, groupBy: GroupBy | null) {
	const rows = optOutRows(filter);
	const key = groupBy ? KEY_SQL[groupBy] : "NULL";
	return {
		// NULL keys sort first (SQLite), so the order is stable: bucket, then key.
		sql: `SELECT ${BUCKET_SQL[interval]} AS bucket, ${key} AS key, count(*) AS count ${rows.sql}
			GROUP BY 1, 2 ORDER BY 1, 2`,
		params: rows.params,
	};
}

/** Opt-outs per bucket and key; buckets and keys without any are left out. groupBy null: totals (key null). */
export async function optOutSeries(
	env: Bindings,
	filter: StatsFilter,
	interval: Interval,
	groupBy: GroupBy | null,
): Promise<SeriesPoint[]> {
	const query = optOutSeriesQuery(filter, interval, groupBy);
	const { results } = await env.DB.prepare(query.sql)
		.bind(...query.params)
		.all<SeriesPoint>();
	return results.map((row) => ({ bucket: row.bucket, key: row.key, count: row.count }));
}

/** Opt-outs in the whole range per key, the most first (the dashboard's breakdowns). */
export async function optOutTotals(
	env: Bindings,
	filter: StatsFilter,
	groupBy: GroupBy,
): Promise<Array<{ key: string | null; count: number }>> {
	const rows = optOutRows(filter);
	const { results } = await env.DB.prepare(
		`SELECT ${KEY_SQL[groupBy]} AS key, count(*) AS count ${rows.sql} GROUP BY 1 ORDER BY 2 DESC, 1`,
	)
		.bind(...rows.params)
		.all<{ key: string | null; count: number }>();
	return results;
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

export const MAX_SENT_CAMPAIGNS = 100;

/**
 * Unsubscribes per campaign id (the id a link carried). consent-edge does not send and
 * cannot know how many messages a campaign went to, so the rate is only given for campaigns whose
 * send count the caller passes in `sent`: then exactly those campaigns are listed (0 when nobody
 * left), each with `rate` = distinct contacts who opted out or unsubscribed through the campaign's
 * links / sent. Without `sent`: the campaigns with the most such contacts, up to `limit`.
 */
export async function campaignStats(
	env: Bindings,
	filter: StatsFilter,
	options: { sent: Map<string, number> | null; limit: number },
): Promise<CampaignStat[]> {
	const rows = optOutRows(filter);
	const sent = options.sent;
	const params: Array<string | number> = [...rows.params];
	let only = "";
	if (sent) {
		params.push(JSON.stringify([...sent.keys()]));
		only = ` AND l.campaign IN (SELECT value FROM json_each(?${params.length}))`;
	}
	params.push(sent ? MAX_SENT_CAMPAIGNS : options.limit);
	const { results } = await env.DB.prepare(
		`SELECT l.campaign AS campaign, count(*) AS unsubscribes, count(DISTINCT l.contact_id) AS contacts
		 ${rows.sql} AND l.campaign IS NOT NULL${only}
		 GROUP BY l.campaign ORDER BY contacts DESC, unsubscribes DESC, campaign LIMIT ?${params.length}`,
	)
		.bind(...params)
		.all<{ campaign: string; unsubscribes: number; contacts: number }>();
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

/** The SQL of recentEvents, exported for the query-plan check in the tests. */
export function recentEventsQuery(filter: StatsFilter, limit: number) {
	const params: Array<string | number> = [filter.from.toISOString(), filter.to.toISOString(), limit];
	// With a business unit, CROSS JOIN keeps the ledger the outer loop: SQLite would otherwise start
	// from the unit's contacts and sort all their rows, where walking ledger_occurred_at backwards
	// stops after `limit` matches.
	let from = "ledger l LEFT JOIN contacts c ON c.id = l.contact_id";
	let where = "l.occurred_at >= ?1 AND l.occurred_at < ?2";
	if (filter.businessUnit !== null) {
		from = "ledger l CROSS JOIN contacts c ON c.id = l.contact_id";
		where += " AND c.business_unit = ?4";
		params.push(filter.businessUnit);
	}
	return {
		sql: `SELECT l.id, l.occurred_at, l.event, l.channel, l.topic, l.source, l.reason, l.campaign, l.changed,
		   c.business_unit
		 FROM ${from} WHERE ${where} ORDER BY l.occurred_at DESC, l.id DESC LIMIT ?3`,
		params,
	};
}

/**
 * The newest ledger rows of every kind in the range (the dashboard's list). No IP, user agent,
 * feedback or address: an overview needs none, and a person's own record is the history endpoint.
 */
export async function recentEvents(env: Bindings, filter: StatsFilter, limit: number): Promise<RecentEvent[]> {
	const { sql, params } = recentEventsQuery(filter, limit);
	const { results } = await env.DB.prepare(sql)
		.bind(...params)
		.all<{
			id: number;
			occurred_at: string;
			event: string;
			channel: string | null;
			topic: string | null;
			source: string;
			reason: string | null;
			campaign: string | null;
			changed: number;
			business_unit: string | null;
		}>();
	return results.map((row) => ({
		id: row.id,
		occurredAt: row.occurred_at,
		event: row.event,
		channel: row.channel,
		topic: row.topic,
		source: row.source,
		reason: row.reason,
		campaign: row.campaign,
		changed: row.changed === 1,
		businessUnit: row.business_unit,
	}));
}
