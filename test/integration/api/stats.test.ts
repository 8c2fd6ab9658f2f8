import { env } from "cloudflare:workers";
import type { SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { emptyConsentState } from "../../../src/consent/types";
import { optOutSeriesQuery, recentEventsQuery } from "../../../src/db/stats";
import { api, json, postEvents, unique } from "../../helpers";

// Tests share one database: every query here is narrowed to this file's own business units,
// campaigns or topics, so other tests' ledger rows never change the numbers.

async function contactIn(businessUnit: string): Promise<string> {
	const id = crypto.randomUUID();
	await env.DB.prepare("INSERT INTO contacts (id, business_unit, consent) VALUES (?, ?, ?)")
		.bind(id, businessUnit, JSON.stringify(emptyConsentState()))
		.run();
	return id;
}

interface Row {
	event?: string;
	at: string;
	channel?: string | null;
	topic?: string | null;
	source?: string;
	reason?: string | null;
	campaign?: string | null;
	changed?: boolean;
}

/** Ledger rows written directly, for exact occurred_at times (the API would take them too, but slower). */
async function ledger(contactId: string, rows: Row[]) {
	await env.DB.batch(
		rows.map((row) =>
			env.DB.prepare(
				`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, reason, campaign,
				   occurred_at, received_at)
				 VALUES (?, ?, ?, ?, '[]', ?, '{}', ?, ?, ?, ?, ?)`,
			).bind(
				contactId,
				row.event ?? "Opt Out",
				row.channel === undefined ? "email" : row.channel,
				row.topic ?? null,
				row.changed === false ? 0 : 1,
				row.source ?? "api",
				row.reason ?? null,
				row.campaign ?? null,
				new Date(row.at).toISOString(),
				new Date().toISOString(),
			),
		),
	);
}

async function stats(query: string, key?: string) {
	const response = await api("GET", `/v1/stats/opt-outs?${query}`, { key });
	return { status: response.status, body: await json(response) };
}

async function expectInvalid(query: string, path: string) {
	const response = await api("GET", `/v1/stats/opt-outs?${query}`);
	expect(response.status, query).toBe(400);
	expect(response.headers.get("content-type")).toBe("application/problem+json");
	const body = await json(response);
	expect(body).toMatchObject({ status: 400, code: "VALIDATION_FAILED" });
	expect(body.errors.map((error: { path: string }) => error.path)).toContain(path);
}

describe("GET /v1/stats/opt-outs", () => {
	it("puts a row at 23:59:59.999Z in its day and one at 00:00:00Z in the next", async () => {
		const unit = unique("st");
		const id = await contactIn(unit);
		await ledger(id, [
			{ at: "2026-11-09T23:59:59.999Z" },
			{ at: "2026-11-10T00:00:00.000Z", event: "Unsubscribe", topic: "kids" },
		]);
		const { status, body } = await stats(`from=2026-11-09&to=2026-11-10&businessUnit=${unit}`);
		expect(status).toBe(200);
		expect(body).toEqual({
			interval: "day",
			groupBy: null,
			businessUnit: unit,
			from: "2026-11-09T00:00:00.000Z",
			to: "2026-11-11T00:00:00.000Z",
			buckets: ["2026-11-09", "2026-11-10"],
			series: [
				{ bucket: "2026-11-09", key: null, count: 1 },
				{ bucket: "2026-11-10", key: null, count: 1 },
			],
		});
	});

	it("starts weeks on Monday (ISO) and names them by that Monday, across a year's end too", async () => {
		const unit = unique("st");
		const id = await contactIn(unit);
		await ledger(id, [
			{ at: "2026-11-23T00:00:00.000Z" }, // Monday
			{ at: "2026-11-29T23:59:59.999Z" }, // Sunday: still the week of the 23rd
			{ at: "2026-11-30T00:00:00.000Z" }, // Monday: a new week
			{ at: "2026-12-31T12:00:00.000Z" }, // Thursday
			{ at: "2027-01-03T23:59:59.999Z" }, // Sunday: in the week that began 2026-12-28
			{ at: "2027-01-04T00:00:00.000Z" }, // Monday
		]);
		const { body } = await stats(`from=2026-11-25&to=2027-01-04&interval=week&businessUnit=${unit}`);
		expect(body.buckets).toEqual([
			"2026-11-23",
			"2026-11-30",
			"2026-12-07",
			"2026-12-14",
			"2026-12-21",
			"2026-12-28",
			"2027-01-04",
		]);
		// From the 25th: the Monday row is outside the range, though its week is in the list.
		expect(body.series).toEqual([
			{ bucket: "2026-11-23", key: null, count: 1 },
			{ bucket: "2026-11-30", key: null, count: 1 },
			{ bucket: "2026-12-28", key: null, count: 2 },
			{ bucket: "2027-01-04", key: null, count: 1 },
		]);
	});

	it("splits months at midnight UTC of the first", async () => {
		const unit = unique("st");
		const id = await contactIn(unit);
		await ledger(id, [
			{ at: "2026-10-31T23:59:59.999Z" },
			{ at: "2026-11-30T23:59:59.999Z" },
			{ at: "2026-11-30T23:59:59.999Z", channel: "sms" },
			{ at: "2026-12-01T00:00:00.000Z" },
		]);
		const { body } = await stats(`from=2026-10-01&to=2026-12-31&interval=month&businessUnit=${unit}`);
		expect(body.buckets).toEqual(["2026-10", "2026-11", "2026-12"]);
		expect(body.series).toEqual([
			{ bucket: "2026-10", key: null, count: 1 },
			{ bucket: "2026-11", key: null, count: 2 },
			{ bucket: "2026-12", key: null, count: 1 },
		]);
	});

	it("buckets in UTC whatever offset from and to carry; from inclusive, to exclusive", async () => {
		const unit = unique("st");
		const id = await contactIn(unit);
		await ledger(id, [
			{ at: "2026-10-31T22:59:59.999Z" }, // before from (= 2026-10-31T23:00Z)
			{ at: "2026-10-31T23:00:00.000Z" }, // = from: counted, in the UTC day 2026-10-31
			{ at: "2026-11-01T12:00:00.000Z" },
			{ at: "2026-11-01T23:00:00.000Z" }, // = to: not counted
		]);
		const expected = {
			from: "2026-10-31T23:00:00.000Z",
			to: "2026-11-01T23:00:00.000Z",
			buckets: ["2026-10-31", "2026-11-01"],
			series: [
				{ bucket: "2026-10-31", key: null, count: 1 },
				{ bucket: "2026-11-01", key: null, count: 1 },
			],
		};
		const encoded = await stats(`from=2026-11-01T00:00:00%2B01:00&to=2026-11-02T00:00:00%2B01:00&businessUnit=${unit}`);
		expect(encoded.status).toBe(200);
		expect(encoded.body).toMatchObject(expected);
		// A "+" sent unencoded arrives as a space; it can only have meant the offset's sign.
		const plain = await stats(`from=2026-11-01T00:00:00+01:00&to=2026-11-01T23:00:00Z&businessUnit=${unit}`);
		expect(plain.body).toMatchObject(expected);
		// The same instants as -05:00 give the same buckets.
		const west = await stats(`from=2026-10-31T18:00-0500&to=2026-11-01T18:00:00.000-05:00&businessUnit=${unit}`);
		expect(west.body).toMatchObject(expected);
	});

	it("counts changed Opt Out, Unsubscribe and Complaint rows only", async () => {
		const unit = unique("st");
		const id = await contactIn(unit);
		const at = "2026-11-15T10:00:00.000Z";
		await ledger(id, [
			{ at, event: "Opt Out" },
			{ at, event: "Unsubscribe", topic: "kids" },
			{ at, event: "Complaint", reason: "complaint", source: "webhook:sendgrid" },
			{ at, event: "Opt Out", changed: false }, // a repeat that changed nothing
			{ at, event: "Bounce" },
			{ at, event: "Block", channel: null },
			{ at, event: "Opt In" },
			{ at, event: "Subscribe", topic: "kids" },
			{ at, event: "Erase", channel: null },
			{ at, event: "Purchase" },
		]);
		const { body } = await stats(`from=2026-11-15&to=2026-11-15&businessUnit=${unit}`);
		expect(body.series).toEqual([{ bucket: "2026-11-15", key: null, count: 3 }]);
	});

	it("groups by channel, topic, source, reason and campaign; a missing key is null and sorts first", async () => {
		const unit = unique("st");
		const id = await contactIn(unit);
		const day1 = "2026-11-16T08:00:00.000Z";
		const day2 = "2026-11-17T08:00:00.000Z";
		await ledger(id, [
			{ at: day1, channel: "email", source: "one_click", campaign: "nov" },
			{ at: day1, channel: "sms", source: "webhook:twilio", reason: "stop" },
			{ at: day1, channel: null, source: "unsubscribe_page", reason: "too_many", campaign: "nov" },
			{ at: day1, event: "Unsubscribe", channel: "email", topic: "kids", source: "preference_center", campaign: "dec" },
			{ at: day2, channel: "email", source: "one_click", reason: "too_many" },
			{ at: day2, event: "Unsubscribe", channel: "email", topic: "pets", source: "one_click" },
		]);
		const query = (groupBy: string) => stats(`from=2026-11-16&to=2026-11-17&businessUnit=${unit}&groupBy=${groupBy}`);
		expect((await query("channel")).body.series).toEqual([
			{ bucket: "2026-11-16", key: null, count: 1 },
			{ bucket: "2026-11-16", key: "email", count: 2 },
			{ bucket: "2026-11-16", key: "sms", count: 1 },
			{ bucket: "2026-11-17", key: "email", count: 2 },
		]);
		expect((await query("topic")).body.series).toEqual([
			{ bucket: "2026-11-16", key: null, count: 3 },
			{ bucket: "2026-11-16", key: "kids", count: 1 },
			{ bucket: "2026-11-17", key: null, count: 1 },
			{ bucket: "2026-11-17", key: "pets", count: 1 },
		]);
		expect((await query("source")).body.series).toEqual([
			{ bucket: "2026-11-16", key: "one_click", count: 1 },
			{ bucket: "2026-11-16", key: "preference_center", count: 1 },
			{ bucket: "2026-11-16", key: "unsubscribe_page", count: 1 },
			{ bucket: "2026-11-16", key: "webhook:twilio", count: 1 },
			{ bucket: "2026-11-17", key: "one_click", count: 2 },
		]);
		expect((await query("reason")).body.series).toEqual([
			{ bucket: "2026-11-16", key: null, count: 2 },
			{ bucket: "2026-11-16", key: "stop", count: 1 },
			{ bucket: "2026-11-16", key: "too_many", count: 1 },
			{ bucket: "2026-11-17", key: null, count: 1 },
			{ bucket: "2026-11-17", key: "too_many", count: 1 },
		]);
		const campaign = await query("campaign");
		expect(campaign.body.groupBy).toBe("campaign");
		expect(campaign.body.series).toEqual([
			{ bucket: "2026-11-16", key: null, count: 1 },
			{ bucket: "2026-11-16", key: "dec", count: 1 },
			{ bucket: "2026-11-16", key: "nov", count: 2 },
			{ bucket: "2026-11-17", key: null, count: 2 },
		]);
	});

	it("filters by the contact's business unit; rows of erased contacts count only without a filter", async () => {
		const [unitA, unitB] = [unique("st"), unique("st")];
		const campaign = unique("camp");
		const at = "2026-11-18T10:00:00.000Z";
		await ledger(await contactIn(unitA), [
			{ at, campaign },
			{ at, campaign, channel: "sms" },
		]);
		await ledger(await contactIn(unitB), [{ at, campaign }]);
		await ledger(crypto.randomUUID(), [{ at, campaign }]); // an erased contact: its row is gone
		const series = async (unit?: string) =>
			(
				await stats(`from=2026-11-18&to=2026-11-18&groupBy=campaign${unit ? `&businessUnit=${unit}` : ""}`)
			).body.series.filter((point: { key: string }) => point.key === campaign);
		expect(await series(unitA)).toEqual([{ bucket: "2026-11-18", key: campaign, count: 2 }]);
		expect(await series(unitB)).toEqual([{ bucket: "2026-11-18", key: campaign, count: 1 }]);
		expect(await series()).toEqual([{ bucket: "2026-11-18", key: campaign, count: 4 }]);
		// A business unit is matched as the API stores it: lower-cased.
		expect(await series(unitA.toUpperCase())).toEqual([{ bucket: "2026-11-18", key: campaign, count: 2 }]);
	});

	it("counts opt-outs made through the API over the last 30 days by default, repeats once", async () => {
		const unit = unique("st");
		const email = `${unique("u")}@example.de`;
		const optOut = { event: "Opt Out", channel: "sms" };
		expect((await postEvents({ email, businessUnit: unit }, [optOut])).status).toBe(200);
		expect((await postEvents({ email, businessUnit: unit }, [optOut])).status).toBe(200);
		const { body } = await stats(`businessUnit=${unit}&groupBy=channel`);
		const today = new Date().toISOString().slice(0, 10);
		expect(body.buckets).toHaveLength(30);
		expect(body.buckets.at(-1)).toBe(today);
		expect(body.from).toBe(`${body.buckets[0]}T00:00:00.000Z`);
		expect(body.series).toEqual([{ bucket: today, key: "sms", count: 1 }]);
	});

	it("reads the ledger through its time indexes, never a full scan", async () => {
		const plan = async (statement: SQL) => {
			const query = new SQLiteAsyncDialect().sqlToQuery(statement);
			const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
				.bind(...query.params)
				.all<{ detail: string }>();
			return results.map((row) => row.detail).join("\n");
		};
		const range = { from: new Date("2026-11-01"), to: new Date("2026-12-01") };
		for (const businessUnit of [null, "de"]) {
			const series = await plan(optOutSeriesQuery({ ...range, businessUnit }, "week", "channel"));
			expect(series).toContain("SEARCH l USING INDEX ledger_event_occurred_at");
			expect(series).not.toMatch(/SCAN l\b/);
			const recent = await plan(recentEventsQuery({ ...range, businessUnit }, 50));
			expect(recent.split("\n")[0]).toContain("SEARCH l USING INDEX ledger_occurred_at");
			expect(recent).not.toContain("TEMP B-TREE FOR ORDER BY");
		}
	});

	it("answers 401 without a key and 403 without reports:read or outside the key's business units", async () => {
		const unit = unique("st");
		const createKey = async (scopes: string[], businessUnits?: string[]) =>
			(await json(await api("POST", "/v1/api-keys", { body: { name: unique("key"), scopes, businessUnits } }))).key;
		const noScope = await createKey(["consent:read"]);
		const limited = await createKey(["reports:read"], [unit]);
		const everywhere = await createKey(["reports:read"]);

		const missing = await api("GET", "/v1/stats/opt-outs", { key: null });
		expect(missing.status).toBe(401);
		expect(missing.headers.get("content-type")).toBe("application/problem+json");
		expect((await stats("", "ce_not-a-key")).status).toBe(401);
		expect((await stats("", noScope)).body).toMatchObject({ status: 403, code: "FORBIDDEN" });
		expect((await stats("", limited)).body).toMatchObject({ status: 403, code: "FORBIDDEN" });
		expect((await stats(`businessUnit=${unique("other")}`, limited)).status).toBe(403);
		expect((await stats(`businessUnit=${unit}`, limited)).status).toBe(200);
		expect((await stats("", everywhere)).status).toBe(200);
		const campaigns = (query: string, key: string) => api("GET", `/v1/stats/campaigns?${query}`, { key });
		expect((await campaigns("", noScope)).status).toBe(403);
		expect((await campaigns("", limited)).status).toBe(403);
		expect((await campaigns(`businessUnit=${unit}`, limited)).status).toBe(200);
	});

	it("refuses bad parameters with 400 problem+json", async () => {
		await expectInvalid("interval=hour", "query.interval");
		await expectInvalid("groupBy=event", "query.groupBy");
		await expectInvalid("from=yesterday", "query.from");
		await expectInvalid("from=2026-11-01T00:00:00", "query.from"); // no zone: ambiguous
		await expectInvalid("to=2026-02-30", "query.to");
		await expectInvalid("to=2026-02-30T10:00:00Z", "query.to");
		await expectInvalid("to=2026-11-01T24:00:00Z", "query.to");
		await expectInvalid("from=2026-11-01T10:00:00%2B25:00", "query.from");
		await expectInvalid("businessUnit=%C3%A4", "query.businessUnit");
		await expectInvalid("limit=5", "query");
		await expectInvalid("from=2026-11-02&to=2026-11-01T12:00:00Z", "query.from");
		await expectInvalid("from=2026-11-02T00:00:00Z&to=2026-11-02T00:00:00Z", "query.from");
		await expectInvalid("from=2020-01-01&to=2026-01-01&interval=day", "query.interval");
		// The same range is fine by week.
		expect((await stats("from=2020-01-01&to=2026-01-01&interval=week&businessUnit=x")).status).toBe(200);
	});
});

describe("GET /v1/stats/campaigns", () => {
	async function campaigns(query: string) {
		const response = await api("GET", `/v1/stats/campaigns?${query}`);
		return { status: response.status, body: await json(response) };
	}

	it("lists unsubscribes per campaign, and the rate for the send counts given", async () => {
		const unit = unique("st");
		const [big, small, quiet] = [unique("big"), unique("small"), unique("quiet")];
		const colon = `${unique("x")}:spring`;
		const at = "2026-11-20T10:00:00.000Z";
		const [ann, ben, cid, dan] = await Promise.all([1, 2, 3, 4].map(() => contactIn(unit)));
		await ledger(ann as string, [
			{ at, event: "Unsubscribe", topic: "kids", campaign: big },
			{ at, event: "Opt Out", campaign: big }, // the same person again: 2 events, 1 contact
		]);
		await ledger(ben as string, [
			{ at, campaign: big },
			{ at, event: "Opt In", campaign: big }, // not an opt-out
			{ at, campaign: big, changed: false }, // changed nothing
		]);
		await ledger(cid as string, [
			{ at, campaign: big },
			{ at, campaign: small },
			{ at: "2026-11-01T00:00:00.000Z", campaign: small }, // before the range
		]);
		await ledger(dan as string, [{ at, campaign: colon }]);

		const listed = await campaigns(`from=2026-11-20&businessUnit=${unit}`);
		expect(listed.status).toBe(200);
		expect(listed.body.businessUnit).toBe(unit);
		expect(listed.body.from).toBe("2026-11-20T00:00:00.000Z");
		expect(listed.body.campaigns).toEqual([
			{ campaign: big, unsubscribes: 4, contacts: 3, sent: null, rate: null },
			...[
				{ campaign: colon, unsubscribes: 1, contacts: 1, sent: null, rate: null },
				{ campaign: small, unsubscribes: 1, contacts: 1, sent: null, rate: null },
			].sort((a, b) => (a.campaign < b.campaign ? -1 : 1)),
		]);
		expect((await campaigns(`from=2026-11-20&businessUnit=${unit}&limit=1`)).body.campaigns).toHaveLength(1);

		const rated = await campaigns(
			`from=2026-11-20&businessUnit=${unit}&sent=${big}:1000&sent=${small}:40&sent=${quiet}:10&sent=${encodeURIComponent(colon)}:3`,
		);
		expect(rated.body.campaigns).toEqual([
			{ campaign: colon, unsubscribes: 1, contacts: 1, sent: 3, rate: 0.333333 },
			{ campaign: small, unsubscribes: 1, contacts: 1, sent: 40, rate: 0.025 },
			{ campaign: big, unsubscribes: 4, contacts: 3, sent: 1000, rate: 0.003 },
			{ campaign: quiet, unsubscribes: 0, contacts: 0, sent: 10, rate: 0 },
		]);
		// One sent value alone (not an array) works the same.
		expect((await campaigns(`from=2026-11-20&businessUnit=${unit}&sent=${small}:40`)).body.campaigns).toEqual([
			{ campaign: small, unsubscribes: 1, contacts: 1, sent: 40, rate: 0.025 },
		]);
	});

	it("refuses bad send counts", async () => {
		for (const sent of ["nov", "nov:0", "nov:-1", "nov:abc", ":12", "nov:1.5"]) {
			const response = await campaigns(`sent=${encodeURIComponent(sent)}`);
			expect(response.status, sent).toBe(400);
			expect(response.body.code).toBe("VALIDATION_FAILED");
		}
		expect((await campaigns("sent=nov:1&sent=nov:2")).status).toBe(400);
		expect((await campaigns("from=2026-11-02&to=2026-11-01")).status).toBe(400);
		expect((await campaigns("limit=0")).status).toBe(400);
	});
});
