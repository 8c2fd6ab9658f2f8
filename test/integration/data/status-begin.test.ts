/**
 * Exports and statistics by when a status began: the opt-outs of a month stay in that month's
 * export whatever is edited later, a repeated opt-out does not move them, late events are put in
 * time order, and people who opted out and came back are found (`returned`, `lastOptedOutAt`).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, csvRowsOf, eventually, json, postEvents, putTopic, unique, uniqueEmail } from "../../helpers";

const at = (day: string) => `${day}T10:00:00.000Z`;

describe("exports and statistics by the time a status began", () => {
	const businessUnit = unique("since");
	const topic = unique("news");
	/** Users by what happened to them; each a user (PUT /v1/users) so their traits can be edited. */
	const who = {
		march: unique("march"),
		marchLate: unique("late"),
		april: unique("april"),
		back: unique("back"),
		backEmailOnly: unique("global"),
		never: unique("never"),
		subscribedJan: unique("sub"),
		topicThenChannel: unique("topic-first"),
		channelThenTopic: unique("channel-first"),
		blocked: unique("blocked"),
		bounced: unique("bounced"),
	};
	const emailOf = new Map<string, string>();

	const events = (id: string, list: Array<Record<string, unknown>>) => postEvents({ id }, list);
	const upsert = async (id: string, traits: Record<string, unknown> = {}) => {
		const response = await api("PUT", `/v1/users/${id}`, {
			body: { email: emailOf.get(id), businessUnit, traits },
		});
		expect(response.status, await response.clone().text()).toBeLessThan(300);
	};
	const exported = async (query: string) =>
		(await csvRowsOf(await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}&${query}`)))
			.map((row) => row.externalId)
			.sort();
	const ids = (...names: Array<keyof typeof who>) => names.map((name) => who[name]).sort();

	beforeAll(async () => {
		await putTopic(topic, { businessUnit });
		for (const id of Object.values(who)) {
			emailOf.set(id, uniqueEmail());
			await upsert(id);
		}
		const ok = async (response: Promise<Response>) => {
			const answer = await response;
			expect(answer.status, await answer.clone().text()).toBe(200);
		};
		// Opted out in March, edited since, and told again in May: still March.
		await ok(events(who.march, [{ event: "Opt Out", channel: "email", timestamp: at("2026-03-10") }]));
		await upsert(who.march, { tier: "gold" });
		await ok(events(who.march, [{ event: "Opt Out", channel: "email", timestamp: at("2026-05-05") }]));
		// A May opt-out first, then the March one it came after arrives late: March.
		await ok(events(who.marchLate, [{ event: "Opt Out", channel: "email", timestamp: at("2026-05-01") }]));
		await ok(events(who.marchLate, [{ event: "Opt Out", channel: "email", timestamp: at("2026-03-20") }]));
		await ok(events(who.april, [{ event: "Opt Out", channel: "email", timestamp: at("2026-04-12") }]));
		// Opted out in March, back in April (the Opt In arrives first), then edited.
		await ok(events(who.back, [{ event: "Opt In", channel: "email", timestamp: at("2026-04-20") }]));
		await ok(events(who.back, [{ event: "Opt Out", channel: "email", timestamp: at("2026-03-15") }]));
		await upsert(who.back, { tier: "silver" });
		// Opted out of everything in February, back on email only in April.
		await ok(
			events(who.backEmailOnly, [
				{ event: "Opt Out", timestamp: at("2026-02-02") },
				{ event: "Opt In", channel: "email", timestamp: at("2026-04-02") },
			]),
		);
		// Opted in, never out.
		await ok(events(who.never, [{ event: "Opt In", channel: "email", timestamp: at("2026-01-03") }]));
		// Subscribed in January; the repeat in February does not move it.
		await ok(
			events(who.subscribedJan, [
				{ event: "Subscribe", topic, timestamp: at("2026-01-05") },
				{ event: "Subscribe", topic, timestamp: at("2026-02-05") },
			]),
		);
		// Unsubscribed from the topic in February, then opted out of email in March: unsubscribed since February.
		await ok(
			events(who.topicThenChannel, [
				{ event: "Subscribe", topic, timestamp: at("2026-01-06") },
				{ event: "Unsubscribe", topic, timestamp: at("2026-02-06") },
				{ event: "Opt Out", channel: "email", timestamp: at("2026-03-06") },
			]),
		);
		// Subscribed in January, opted out of email in March: unsubscribed in effect since March.
		await ok(
			events(who.channelThenTopic, [
				{ event: "Subscribe", topic, timestamp: at("2026-01-07") },
				{ event: "Opt Out", channel: "email", timestamp: at("2026-03-07") },
			]),
		);
		await ok(events(who.blocked, [{ event: "Block", timestamp: at("2026-02-03") }]));
		await ok(events(who.blocked, [{ event: "Block", timestamp: at("2026-02-20") }]));
		await ok(
			events(who.bounced, [
				{ event: "Bounce", channel: "email", properties: { type: "hard" }, timestamp: at("2026-02-10") },
			]),
		);
	});

	it("exports the opt-outs of a month by when they began, also after the contact was edited or told again", async () => {
		const march = ids("march", "marchLate", "topicThenChannel", "channelThenTopic");
		expect(await exported("status=opted_out&channel=email&from=2026-03-01&to=2026-04-01")).toEqual(march);
		expect(await exported("status=opted_out&from=2026-03-01&to=2026-04-01")).toEqual(march);
		expect(await exported("status=opted_out&channel=email&from=2026-04-01&to=2026-05-01")).toEqual(ids("april"));
		// May's repeat moved nothing: no opt-out began in May.
		expect(await exported("status=opted_out&from=2026-05-01&to=2026-06-01")).toEqual([]);
		// Without a channel: any channel whose opt-out began in the range (the global opt-out's sms, whatsapp, push).
		expect(await exported("status=opted_out&from=2026-02-01&to=2026-03-01")).toEqual(ids("backEmailOnly"));
		expect(await exported("status=opted_out&channel=email&from=2026-02-01&to=2026-03-01")).toEqual([]);
		// Without a status, from and to are the contact's last change, which is now for all of them.
		expect(await exported("from=2026-03-01&to=2026-04-01")).toEqual([]);
		expect(await exported("from=2026-06-01")).toHaveLength(Object.keys(who).length);
	});

	it("finds the people who opted out before and are opted in now (returned), by when they came back", async () => {
		expect(await exported("status=returned")).toEqual(ids("back", "backEmailOnly"));
		expect(await exported("status=returned&channel=email")).toEqual(ids("back", "backEmailOnly"));
		expect(await exported("status=returned&channel=sms")).toEqual([]);
		expect(await exported("status=returned&channel=email&from=2026-04-10&to=2026-05-01")).toEqual(ids("back"));
		expect(await exported("status=returned&from=2026-04-01&to=2026-04-10")).toEqual(ids("backEmailOnly"));
		expect(await exported("status=returned&from=2026-05-01")).toEqual([]);
		// Still opted out of sms.
		expect(await exported("status=opted_out&channel=sms")).toEqual(ids("backEmailOnly"));
	});

	it("writes lastOptedOutAt: of the channel asked for, else the latest over the channels; kept after a return", async () => {
		const rows = await csvRowsOf(await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}`));
		const header = Object.keys(rows[0] ?? {});
		expect(header.indexOf("lastOptedOutAt")).toBe(header.indexOf("bounced:push") + 1);
		const column = new Map(rows.map((row) => [row.externalId, row.lastOptedOutAt]));
		expect(column.get(who.march)).toBe(at("2026-03-10"));
		expect(column.get(who.marchLate)).toBe(at("2026-03-20"));
		expect(column.get(who.back)).toBe(at("2026-03-15"));
		expect(column.get(who.backEmailOnly)).toBe(at("2026-02-02"));
		expect(column.get(who.never)).toBe("");
		expect(column.get(who.blocked)).toBe("");
		const sms = await csvRowsOf(
			await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}&status=opted_out&channel=sms`),
		);
		expect(sms.map((row) => [row.externalId, row.lastOptedOutAt])).toEqual([[who.backEmailOnly, at("2026-02-02")]]);
	});

	it("filters topic statuses, blocks and bounces by when they began in effect", async () => {
		expect(await exported(`status=subscribed&topic=${topic}&from=2026-01-01&to=2026-02-01`)).toEqual(
			ids("subscribedJan"),
		);
		expect(await exported(`status=subscribed&topic=${topic}&from=2026-02-01`)).toEqual([]);
		// Unsubscribed in effect: the earlier of the topic's own unsubscribe and the channel's opt-out.
		expect(await exported(`status=unsubscribed&topic=${topic}&from=2026-02-01&to=2026-03-01`)).toEqual(
			ids("topicThenChannel"),
		);
		expect(await exported(`status=unsubscribed&topic=${topic}&from=2026-03-01&to=2026-04-01`)).toEqual(
			ids("channelThenTopic"),
		);
		expect(await exported("status=blocked&from=2026-02-01&to=2026-02-10")).toEqual(ids("blocked"));
		expect(await exported("status=blocked&from=2026-02-10")).toEqual([]);
		expect(await exported("status=bounced&channel=email&from=2026-02-10&to=2026-02-11")).toEqual(ids("bounced"));
		expect(await exported("status=bounced&from=2026-02-11")).toEqual([]);
	});

	it("shows lastOptedOutAt, returnedAt and each topic's statusSince in the contact", async () => {
		const march = await json(await api("GET", `/v1/users/${who.march}`));
		expect(march.consent.channels.email).toMatchObject({
			optedOut: true,
			optedOutAt: at("2026-05-05"),
			lastOptedOutAt: at("2026-03-10"),
			returnedAt: null,
		});
		const back = await json(await api("GET", `/v1/users/${who.back}`));
		expect(back.consent.channels.email).toMatchObject({
			optedOut: false,
			lastOptedOutAt: at("2026-03-15"),
			returnedAt: at("2026-04-20"),
		});
		const never = await json(await api("GET", `/v1/users/${who.never}`));
		expect(never.consent.channels.email).toMatchObject({ lastOptedOutAt: null, returnedAt: null });
		const subscribed = await json(await api("GET", `/v1/users/${who.subscribedJan}`));
		expect(subscribed.consent.topics[topic]).toMatchObject({
			status: "subscribed",
			changedAt: at("2026-02-05"),
			statusSince: at("2026-01-05"),
		});
		const effective = await json(await api("GET", `/v1/users/${who.topicThenChannel}`));
		expect(effective.consent.topics[topic]).toMatchObject({ status: "unsubscribed", statusSince: at("2026-02-06") });
	});

	it("takes the same filters in export jobs", async () => {
		const query = `businessUnit=${businessUnit}&status=returned&channel=email&from=2026-04-10&to=2026-05-01`;
		const sync = await api("GET", `/v1/exports/contacts.csv?${query}`);
		const expected = await sync.text();
		const started = await api("POST", `/v1/exports/contacts?${query}`);
		expect(started.status, await started.clone().text()).toBe(202);
		const { id } = await json(started);
		const job = await eventually(
			async () => {
				const body = await json(await api("GET", `/v1/exports/${id}`));
				return body.status === "done" || body.status === "failed" ? body : null;
			},
			"the export job",
			60_000,
		);
		expect(job).toMatchObject({ status: "done", processed: 1, total: 1 });
		const file = await api("GET", `/v1/exports/${id}/download`);
		expect(await file.text()).toBe(expected);
		expect(expected).toContain(who.back);
	});

	it("counts contacts by status in buckets of when it began (GET /v1/stats/contacts)", async () => {
		const stats = async (query: string, interval = "month") => {
			const response = await api(
				"GET",
				`/v1/stats/contacts?businessUnit=${businessUnit}&interval=${interval}&from=2026-01-01&to=2026-06-30&${query}`,
			);
			expect(response.status, await response.clone().text()).toBe(200);
			return json(response);
		};
		const optedOut = await stats("status=opted_out&channel=email");
		expect(optedOut).toMatchObject({
			status: "opted_out",
			channel: "email",
			topic: null,
			interval: "month",
			businessUnit,
			buckets: ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"],
			series: [
				{ bucket: "2026-03", count: 4 },
				{ bucket: "2026-04", count: 1 },
			],
			total: 5,
		});
		// The same contacts as the export of that range.
		expect(await exported("status=opted_out&channel=email&from=2026-03-01&to=2026-04-01")).toHaveLength(4);
		const returned = await stats("status=returned");
		expect(returned.series).toEqual([{ bucket: "2026-04", count: 2 }]);
		expect(returned.total).toBe(2);
		// Without a channel each contact counts once, at its earliest begin in the range.
		expect((await stats("status=opted_out")).series).toEqual([
			{ bucket: "2026-02", count: 1 },
			{ bucket: "2026-03", count: 4 },
			{ bucket: "2026-04", count: 1 },
		]);
		expect((await stats(`status=unsubscribed&topic=${topic}`)).series).toEqual([
			{ bucket: "2026-02", count: 1 },
			{ bucket: "2026-03", count: 1 },
		]);
		expect((await stats("status=blocked", "day")).series).toEqual([{ bucket: "2026-02-03", count: 1 }]);

		for (const bad of [
			"status=subscribed",
			"status=opted_out&topic=x",
			`status=subscribed&topic=${topic}&channel=email`,
			"",
		]) {
			const response = await api("GET", `/v1/stats/contacts?businessUnit=${businessUnit}&${bad}`);
			expect(response.status, bad).toBe(400);
		}
	});
});

describe("status filters, checked", () => {
	it("counts contacts only of a limited key's own business units", async () => {
		const mine = unique("mine");
		const created = await api("POST", "/v1/api-keys", {
			body: { name: unique("key"), scopes: ["reports:read"], businessUnits: [mine] },
		});
		const { key } = await json(created);
		const status = async (query: string) =>
			(await api("GET", `/v1/stats/contacts?status=returned${query}`, { key })).status;
		expect(await status(`&businessUnit=${mine}`)).toBe(200);
		expect(await status(`&businessUnit=${unique("other")}`)).toBe(403);
		expect(await status("")).toBe(403);
	});

	it("refuses a channel without a channel status, and a topic status without its topic", async () => {
		for (const query of [
			"channel=email",
			"status=subscribed&channel=email",
			"status=returned&topic=x",
			"status=pending",
		]) {
			const response = await api("GET", `/v1/exports/contacts.csv?${query}`);
			expect(response.status, query).toBe(400);
		}
		expect((await api("GET", "/v1/exports/contacts.csv?status=returned&channel=push&from=2099-01-01")).status).toBe(
			200,
		);
	});
});
