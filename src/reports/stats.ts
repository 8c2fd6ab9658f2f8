/*
 * Opt-out statistics, read straight from the ledger (the queries: src/db/stats.ts). The API (src/api/stats.ts) and the
 * admin dashboard (src/web/admin) both use these functions, so both count the same thing:
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
 *
 * Contacts by status (`/v1/stats/contacts`) count people, not events: the contacts that have a
 * status now (opted out, returned, a topic's effective status, …) whose status began in the range,
 * each once, in the bucket of the time it began; with a channel status and no channel, the earliest
 * begin in the range over the channels. The same filter as the contacts export, so a bucket's count
 * is the row count of the export of that bucket's range. Erased contacts have no status.
 */

export const INTERVALS = ["day", "week", "month"] as const;
export type Interval = (typeof INTERVALS)[number];

export const GROUP_BYS = ["channel", "topic", "source", "reason", "campaign"] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const OPT_OUT_EVENTS = ["Opt Out", "Unsubscribe", "Complaint"] as const;

/** At most this many campaigns with their send counts in one question. */
export const MAX_SENT_CAMPAIGNS = 100;

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
