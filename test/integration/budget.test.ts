/**
 * No request exceeds one invocation's budget: at most INVOCATION_BUDGET (1,000) D1 queries plus
 * Durable Object calls (test/budget.ts counts them on the real bindings). Each case sends one
 * request of the largest size the API takes through the worker's default export, with counted
 * bindings, and checks a sample of the answers too: a request that stays in budget by answering
 * wrongly proves nothing.
 *
 * Helpers first; add a case per request that fans out (queue batches, imports, …) below.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import worker from "../../src/index";
import { type Counts, countingEnv, INVOCATION_BUDGET } from "../budget";
import { ADMIN, api, BASE, json, postEvents, putTopic, unique, uniqueEmail, uniquePhone } from "../helpers";

const bindings = env as unknown as Bindings;

/** An API key with these scopes (optionally limited to business units), made through the API. */
async function makeKey(scopes: string[], businessUnits?: string[]): Promise<string> {
	const response = await api("POST", "/v1/api-keys", { body: { name: unique("budget"), scopes, businessUnits } });
	if (response.status !== 201) throw new Error(`api key: ${response.status} ${await response.text()}`);
	return (await json(response)).key;
}

/** A request as a client sends it: JSON body, `key` (default: the admin token). */
function request(method: string, path: string, options: { body?: unknown; key?: string } = {}): Request {
	const headers: Record<string, string> = { authorization: `Bearer ${options.key ?? ADMIN}` };
	if (options.body !== undefined) headers["content-type"] = "application/json";
	const body = options.body === undefined ? undefined : JSON.stringify(options.body);
	return new Request(`${BASE}${path}`, { method, headers, body });
}

/** One request through the worker's default export with counted bindings; waits for its waitUntil work. */
async function invoke(req: Request): Promise<{ response: Response; counts: Counts }> {
	const { env: counted, counts } = countingEnv(bindings);
	const ctx = createExecutionContext();
	const response = await worker.fetch(req, counted, ctx);
	await waitOnExecutionContext(ctx);
	return { response, counts };
}

async function ok(response: Response | Promise<Response>, what: string): Promise<Response> {
	const answer = await response;
	if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${await answer.text()}`);
	return answer;
}

describe("consent checks and links at their largest", () => {
	const businessUnit = unique("bgt");
	const topic = unique("bgt");
	// One contact (or address) per answer the decision can give, reached by every kind of recipient.
	const seeded = {
		subscribed: uniqueEmail(),
		optedOut: uniqueEmail(),
		blocked: uniqueEmail(),
		bounced: uniqueEmail(),
		unsubscribed: uniqueEmail(),
		userOptedOut: unique("bgt-user"),
		userPlain: unique("bgt-user"),
		phoneOfSuppressed: uniquePhone(),
		suppressedEmailOfPhone: uniqueEmail(),
		erasedOptedOut: uniqueEmail(),
		bareBlocked: uniqueEmail(),
		operatorSuppressed: uniqueEmail(),
	};

	beforeAll(async () => {
		await putTopic(topic, { channel: "email" });
		const events = (email: string, list: Array<Record<string, unknown>>) =>
			ok(postEvents({ email, businessUnit }, list), `events for ${email}`);
		await events(seeded.subscribed, [{ event: "Subscribe", topic }]);
		await events(seeded.optedOut, [{ event: "Opt Out", channel: "email" }]);
		await events(seeded.blocked, [{ event: "Block" }]);
		await events(seeded.bounced, [{ event: "Bounce", channel: "email", properties: { type: "hard" } }]);
		await events(seeded.unsubscribed, [
			{ event: "Subscribe", topic },
			{ event: "Unsubscribe", topic },
		]);
		await ok(api("PUT", `/v1/users/${seeded.userOptedOut}`, { body: { email: uniqueEmail(), businessUnit } }), "user");
		await ok(postEvents({ id: seeded.userOptedOut, businessUnit }, [{ event: "Opt Out", channel: "email" }]), "user");
		await ok(api("PUT", `/v1/users/${seeded.userPlain}`, { body: { email: uniqueEmail(), businessUnit } }), "user");
		// A lead named by its phone, whose email (the address an email reaches) is suppressed.
		await ok(
			api("PUT", "/v1/leads", {
				body: { email: seeded.suppressedEmailOfPhone, phone: seeded.phoneOfSuppressed, businessUnit },
			}),
			"lead",
		);
		await ok(
			api("POST", "/v1/suppressions", {
				body: { addresses: [seeded.suppressedEmailOfPhone, seeded.operatorSuppressed], reason: "opted_out" },
			}),
			"suppressions",
		);
		// Opted out, then erased: only the keyed hash of the address is left, and it stays suppressed.
		await events(seeded.erasedOptedOut, [{ event: "Opt Out", channel: "email" }]);
		const erased = `/v1/leads?email=${encodeURIComponent(seeded.erasedOptedOut)}&businessUnit=${businessUnit}`;
		await ok(api("DELETE", erased), "erasure");
		await ok(api("PUT", `/v1/blocklist/${encodeURIComponent(seeded.bareBlocked)}`), "blocklist");
	});

	it("checks 10,000 recipients of every kind within the budget: a few statements, none per recipient", async () => {
		const expected: Array<[Record<string, string>, string]> = [
			[{ email: seeded.subscribed }, "ok"],
			[{ email: seeded.optedOut }, "opted_out"],
			[{ email: seeded.blocked }, "blocked"],
			[{ email: seeded.bounced }, "bounced"],
			[{ email: seeded.unsubscribed }, "unsubscribed"],
			[{ externalId: seeded.userOptedOut }, "opted_out"],
			[{ externalId: seeded.userPlain }, "ok"],
			[{ externalId: unique("bgt-nobody") }, "ok"],
			[{ phone: seeded.phoneOfSuppressed }, "suppressed"],
			[{ phone: uniquePhone() }, "ok"],
			[{ email: seeded.erasedOptedOut }, "suppressed"],
			[{ email: seeded.bareBlocked }, "blocked"],
			[{ email: seeded.operatorSuppressed }, "suppressed"],
		];
		// Unknown addresses around them, the seeded ones spread over the batch.
		const recipients: Array<Record<string, string>> = Array.from({ length: 10_000 }, () => ({ email: uniqueEmail() }));
		const positions = expected.map((_, index) => index * 769 + 5);
		expected.forEach(([recipient], index) => {
			recipients[positions[index] as number] = recipient;
		});
		const key = await makeKey(["consent:read"]);

		const { response, counts } = await invoke(
			request("POST", "/v1/consent/check", {
				key,
				body: { channel: "email", topic, kind: "marketing", businessUnit, recipients },
			}),
		);
		expect(response.status).toBe(200);
		const { results, allowedCount } = await json(response);
		expect(results).toHaveLength(10_000);
		expected.forEach(([recipient, reason], index) => {
			expect(results[positions[index] as number].reason, JSON.stringify(recipient)).toBe(reason);
		});
		expect(results[0]).toEqual({ allowed: true, reason: "ok" });
		expect(allowedCount).toBe(10_000 - expected.filter(([, reason]) => reason !== "ok").length);

		expect(counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
		// The key, then the topic and one statement per kind of recipient in one batch, then the
		// suppressions of the unknown addresses: nothing per recipient.
		expect(counts.durableObjectCalls).toBe(0);
		expect(counts.d1RoundTrips).toBeLessThanOrEqual(3);
		expect(counts.d1).toBeLessThanOrEqual(6);
	});

	it("checks the same 10,000 again with the unknown addresses' suppressions read alongside, answering what is true now", async () => {
		const laterSuppressed = uniqueEmail();
		const laterOptedOut = uniqueEmail();
		const recipients = Array.from({ length: 10_000 }, () => ({ email: uniqueEmail() }));
		recipients[17] = { email: laterSuppressed };
		recipients[4242] = { email: laterOptedOut };
		recipients[9000] = { email: seeded.operatorSuppressed };
		const check = () =>
			invoke(
				request("POST", "/v1/consent/check", {
					body: { channel: "email", kind: "marketing", businessUnit, recipients },
				}),
			);

		const first = await check();
		const before = (await json(first.response)).results;
		expect([before[17].reason, before[4242].reason, before[9000].reason]).toEqual(["ok", "ok", "suppressed"]);
		// The rows, then the suppressions of the addresses without a contact.
		expect(first.counts.d1RoundTrips).toBeLessThanOrEqual(3);

		// Meanwhile one address is suppressed and another gets a contact that opts out.
		await ok(
			api("POST", "/v1/suppressions", { body: { addresses: [laterSuppressed], reason: "complaint" } }),
			"suppress",
		);
		await ok(postEvents({ email: laterOptedOut, businessUnit }, [{ event: "Opt Out", channel: "email" }]), "opt out");

		const second = await check();
		const after = (await json(second.response)).results;
		expect([after[17].reason, after[4242].reason, after[9000].reason]).toEqual([
			"suppressed",
			"opted_out",
			"suppressed",
		]);
		expect(after.filter((result: { reason: string }) => result.reason !== "ok")).toHaveLength(3);
		// Both at once this time: nothing waits for the rows.
		expect(second.counts.d1).toBe(2);
		expect(second.counts.d1RoundTrips).toBe(2);
	});

	it("makes 10,000 links within the budget", async () => {
		const recipients = Array.from(
			{ length: 10_000 },
			(_, index): Record<string, string> =>
				index % 1000 === 0
					? { externalId: index % 2000 === 0 ? seeded.userOptedOut : seeded.userPlain }
					: { email: uniqueEmail() },
		);
		// A key limited to the unit: every externalId is placed with one lookup.
		const key = await makeKey(["links:write"], [businessUnit]);
		const { response, counts } = await invoke(
			request("POST", "/v1/links/batch", {
				key,
				body: { channel: "email", topic, campaign: "budget", businessUnit, recipients },
			}),
		);
		expect(response.status).toBe(200);
		const { links } = await json(response);
		expect(links).toHaveLength(10_000);
		for (const link of [links[0], links[1], links[9_999]]) {
			expect(link.unsubscribeUrl).toMatch(new RegExp(`^${BASE}/u/`));
			expect(link.preferencesUrl).toMatch(new RegExp(`^${BASE}/p/`));
			expect(link.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
		}
		expect(counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
		expect(counts.durableObjectCalls).toBe(0);
	});

	it("checks one known contact with exactly one D1 query (one round trip with a topic)", async () => {
		const path = (recipient: string, extra = "") =>
			`/v1/consent?${recipient}&businessUnit=${businessUnit}&channel=email${extra}`;
		const single = await invoke(request("GET", path(`email=${encodeURIComponent(seeded.optedOut)}`)));
		expect(single.response.status).toBe(200);
		expect(await json(single.response)).toMatchObject({ allowed: false, reason: "opted_out" });
		expect([single.counts.d1, single.counts.d1RoundTrips, single.counts.durableObjectCalls]).toEqual([1, 1, 0]);

		// An address without a contact: its suppression in the same statement.
		const erased = await invoke(request("GET", path(`email=${encodeURIComponent(seeded.erasedOptedOut)}`)));
		expect(await json(erased.response)).toMatchObject({ reason: "suppressed", contactId: null });
		expect(erased.counts.d1).toBe(1);

		// With a topic: the topic's row travels in the same batch.
		const withTopic = await invoke(
			request("GET", path(`email=${encodeURIComponent(seeded.unsubscribed)}`, `&topic=${topic}`)),
		);
		expect(await json(withTopic.response)).toMatchObject({ reason: "unsubscribed" });
		expect([withTopic.counts.d1, withTopic.counts.d1RoundTrips]).toEqual([2, 1]);

		// A user by externalId with a topic: its own unit comes from the same statement.
		const user = await invoke(
			request("GET", `/v1/consent?externalId=${seeded.userOptedOut}&businessUnit=default&channel=email&topic=${topic}`),
		);
		expect(await json(user.response)).toMatchObject({ reason: "opted_out" });
		expect(user.counts.d1RoundTrips).toBe(1);
	});
});
