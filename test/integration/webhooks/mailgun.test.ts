import { describe, expect, it } from "vitest";
import { hexEncode, hmac, utf8 } from "../../../src/crypto";
import { WebhookBodyError } from "../../../src/webhooks/provider";
import { mailgun } from "../../../src/webhooks/providers/mailgun";
import { bindings, NOW, testDeps, webhookRequest } from "./webhook-helpers";

const KEY = "key-test-mailgun-signing-0123456789";
const env = bindings({ MAILGUN_WEBHOOK_SIGNING_KEY: KEY });
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "content-type": "application/json" };

async function signature(timestamp: string, token = crypto.randomUUID().replaceAll("-", ""), key = KEY) {
	return { timestamp, token, signature: hexEncode(await hmac("SHA-256", key, utf8(timestamp + token))) };
}

async function jsonRequest(eventData: unknown, options: { timestamp?: string; token?: string; key?: string } = {}) {
	const signed = await signature(options.timestamp ?? String(NOW), options.token, options.key);
	return webhookRequest(JSON.stringify({ signature: signed, "event-data": eventData }), JSON_TYPE);
}

async function formRequest(fields: Record<string, string>, timestamp = String(NOW)) {
	const signed = await signature(timestamp);
	return webhookRequest(new URLSearchParams({ ...fields, ...signed }).toString(), FORM);
}

const parse = (request: ReturnType<typeof webhookRequest>) => mailgun.parse(request, env);
const parseJson = (body: string) => parse(webhookRequest(body, JSON_TYPE));

const TIMESTAMP = 1_794_999_000.123456;
const AT = new Date(1_794_999_000_123).toISOString();
const data = (fields: Record<string, unknown>) => ({
	id: "evt-1",
	timestamp: TIMESTAMP,
	recipient: "Bob@Example.org",
	...fields,
});

describe("mailgun: configured", () => {
	it("is configured only with a non-empty signing key", () => {
		expect(mailgun.configured(env)).toBe(true);
		expect(mailgun.configured(bindings({ MAILGUN_WEBHOOK_SIGNING_KEY: "" }))).toBe(false);
		expect(mailgun.configured(bindings({ MAILGUN_WEBHOOK_SIGNING_KEY: undefined }))).toBe(false);
	});
});

describe("mailgun: verify", () => {
	const event = data({ event: "complained" });

	it("accepts a signed JSON webhook and remembers its token for the whole acceptance window", async () => {
		const deps = testDeps();
		const request = await jsonRequest(event, { token: "token-accepted" });
		expect(await mailgun.verify(request, env, deps)).toEqual({ ok: true });
		expect(deps.remembered).toEqual([{ token: "token-accepted", ttl: 1200 }]);
	});

	it("accepts a signed legacy form webhook", async () => {
		const request = await formRequest({ event: "complained", recipient: "bob@example.org" });
		expect(await mailgun.verify(request, env, testDeps())).toEqual({ ok: true });
	});

	it("accepts an upper-case hex signature", async () => {
		const signed = await signature(String(NOW));
		const body = JSON.stringify({
			signature: { ...signed, signature: signed.signature.toUpperCase() },
			"event-data": event,
		});
		expect(await mailgun.verify(webhookRequest(body, JSON_TYPE), env, testDeps())).toEqual({ ok: true });
	});

	it("refuses a replayed token", async () => {
		const deps = testDeps();
		const request = await jsonRequest(event);
		expect(await mailgun.verify(request, env, deps)).toEqual({ ok: true });
		expect(await mailgun.verify(request, env, deps)).toEqual({ ok: false, reason: "token replayed" });
	});

	it("refuses a wrong signature and does not remember its token", async () => {
		const deps = testDeps();
		const forged = await jsonRequest(event, { key: "some-other-key", token: "token-forged" });
		expect(await mailgun.verify(forged, env, deps)).toEqual({ ok: false, reason: "signature does not match" });
		expect(deps.remembered).toEqual([]);
	});

	it("refuses a signature over other signed fields", async () => {
		const signed = await signature(String(NOW));
		const otherToken = { ...signed, token: `${signed.token}x` };
		const otherTime = { ...signed, timestamp: String(NOW - 1) };
		for (const fields of [otherToken, otherTime]) {
			const body = JSON.stringify({ signature: fields, "event-data": event });
			expect((await mailgun.verify(webhookRequest(body, JSON_TYPE), env, testDeps())).ok).toBe(false);
		}
	});

	it("refuses stale and future timestamps beyond 10 minutes", async () => {
		const at = async (offset: number) =>
			mailgun.verify(await jsonRequest(event, { timestamp: String(NOW + offset) }), env, testDeps());
		expect(await at(-600)).toEqual({ ok: true });
		expect(await at(600)).toEqual({ ok: true });
		expect(await at(-601)).toEqual({ ok: false, reason: "timestamp is stale" });
		expect(await at(601)).toEqual({ ok: false, reason: "timestamp is stale" });
	});

	it("refuses bodies without signature fields, without throwing", async () => {
		const signed = await signature(String(NOW));
		const bodies: Array<[string, Record<string, string>]> = [
			["", JSON_TYPE],
			["not json", JSON_TYPE],
			["[]", JSON_TYPE],
			[JSON.stringify({ "event-data": event }), JSON_TYPE],
			[JSON.stringify({ signature: { ...signed, token: undefined }, "event-data": event }), JSON_TYPE],
			[JSON.stringify({ signature: { ...signed, signature: 42 }, "event-data": event }), JSON_TYPE],
			[JSON.stringify({ signature: { ...signed, timestamp: "soon" }, "event-data": event }), JSON_TYPE],
			[JSON.stringify({ signature: signed, "event-data": event }), FORM],
			[new URLSearchParams({ event: "complained" }).toString(), FORM],
		];
		for (const [body, headers] of bodies) {
			const result = await mailgun.verify(webhookRequest(body, headers), env, testDeps());
			expect(result.ok, body).toBe(false);
		}
		const invalidUtf8 = webhookRequest(Uint8Array.of(0x7b, 0xff, 0x7d), JSON_TYPE);
		expect((await mailgun.verify(invalidUtf8, env, testDeps())).ok).toBe(false);
	});

	it("refuses a tampered signed form field", async () => {
		const request = await formRequest({ event: "complained", recipient: "bob@example.org" });
		const form = new URLSearchParams(new TextDecoder().decode(request.body));
		form.set("token", `${form.get("token")}0`);
		expect((await mailgun.verify({ ...request, body: utf8(form.toString()) }, env, testDeps())).ok).toBe(false);
	});

	it("refuses when no key is configured", async () => {
		const request = await jsonRequest(event);
		const result = await mailgun.verify(request, bindings({ MAILGUN_WEBHOOK_SIGNING_KEY: "" }), testDeps());
		expect(result.ok).toBe(false);
	});
});

describe("mailgun: parse", () => {
	it("maps a permanent failure to a hard bounce", async () => {
		const request = await jsonRequest(
			data({
				event: "failed",
				severity: "permanent",
				reason: "bounce",
				"delivery-status": { code: 550, message: "5.1.1 no such user" },
				"user-variables": { businessUnit: "at", campaign: "welcome", other: "x" },
			}),
		);
		expect(parse(request)).toEqual({
			ignored: 0,
			problems: [],
			events: [
				{
					id: "evt-1",
					channel: "email",
					recipient: "Bob@Example.org",
					action: { kind: "hard_bounce" },
					occurredAt: AT,
					businessUnit: "at",
					campaign: "welcome",
					properties: { event: "failed", severity: "permanent", reason: "bounce" },
				},
			],
		});
	});

	it("maps complaints and unsubscribes, with the mailing list when there is one", async () => {
		const base = { channel: "email", recipient: "Bob@Example.org", occurredAt: AT, businessUnit: null, campaign: null };
		expect(parse(await jsonRequest(data({ event: "complained" }))).events).toEqual([
			{ ...base, id: "evt-1", action: { kind: "complaint" }, properties: { event: "complained" } },
		]);
		expect(parse(await jsonRequest(data({ event: "unsubscribed" }))).events).toEqual([
			{ ...base, id: "evt-1", action: { kind: "unsubscribe", list: null }, properties: { event: "unsubscribed" } },
		]);
		const fromList = data({
			event: "unsubscribed",
			"mailing-list": { address: "news@lists.example.org", "list-id": "x" },
		});
		expect(parse(await jsonRequest(fromList)).events).toEqual([
			{
				...base,
				id: "evt-1",
				action: { kind: "unsubscribe", list: "news@lists.example.org" },
				properties: { event: "unsubscribed" },
			},
		]);
	});

	it("ignores temporary failures, suppressed sends, exhausted retries and other events", async () => {
		const ignored = [
			{ event: "failed", severity: "temporary", reason: "generic" },
			{ event: "failed", severity: "permanent", reason: "suppress-bounce" },
			{ event: "failed", severity: "permanent", reason: "suppress-unsubscribe" },
			{ event: "failed", severity: "permanent", reason: "suppress-complaint" },
			{ event: "failed", severity: "permanent", reason: "old" },
			{ event: "failed" },
			{ event: "delivered" },
			{ event: "opened" },
			{ event: "clicked" },
			{ event: "accepted" },
			{ event: "stored" },
		];
		for (const fields of ignored) {
			expect(parse(await jsonRequest(data(fields))), JSON.stringify(fields)).toEqual({
				events: [],
				ignored: 1,
				problems: [],
			});
		}
	});

	it("reports an event it cannot use as a problem", async () => {
		const cases: Array<[Record<string, unknown>, string]> = [
			[{ event: "complained", recipient: undefined }, "complained without recipient"],
			[{ event: "complained", recipient: "" }, "complained without recipient"],
			[{ event: "unsubscribed", id: undefined }, "unsubscribed without id"],
			[{ event: "unsubscribed", id: 7 }, "unsubscribed without id"],
			[{ event: undefined }, "event-data has no event name"],
		];
		for (const [fields, error] of cases) {
			expect(parse(await jsonRequest(data(fields)))).toEqual({
				events: [],
				ignored: 0,
				problems: [{ index: 0, error }],
			});
		}
	});

	it("takes user variables and timestamps only in their documented types", async () => {
		const [event] = parse(
			await jsonRequest(
				data({ event: "complained", timestamp: "later", "user-variables": { businessUnit: 3, campaign: null } }),
			),
		).events;
		expect(event).toMatchObject({ businessUnit: null, campaign: null, occurredAt: null });
	});

	it("reads the legacy form-encoded shape", async () => {
		const request = await formRequest({
			event: "unsubscribed",
			recipient: "bob@example.org",
			"Message-Id": "<20240101.1@mg.example.org>",
			"mailing-list": "news@lists.example.org",
			businessUnit: "ch",
			campaign: "autumn",
		});
		expect(await mailgun.verify(request, env, testDeps())).toEqual({ ok: true });
		expect(parse(request)).toEqual({
			ignored: 0,
			problems: [],
			events: [
				{
					id: "legacy:unsubscribed:<20240101.1@mg.example.org>:bob@example.org",
					channel: "email",
					recipient: "bob@example.org",
					action: { kind: "unsubscribe", list: "news@lists.example.org" },
					occurredAt: new Date(NOW * 1000).toISOString(),
					businessUnit: "ch",
					campaign: "autumn",
					properties: { event: "unsubscribed" },
				},
			],
		});
	});

	it("maps legacy bounces and complaints and ignores legacy drops", async () => {
		const bounced = parse(
			await formRequest({ event: "bounced", recipient: "bob@example.org", "Message-Id": "<m1>", code: "550" }),
		);
		expect(bounced.events).toEqual([
			{
				id: "legacy:bounced:<m1>:bob@example.org",
				channel: "email",
				recipient: "bob@example.org",
				action: { kind: "hard_bounce" },
				occurredAt: new Date(NOW * 1000).toISOString(),
				businessUnit: null,
				campaign: null,
				properties: { event: "bounced", code: "550" },
			},
		]);
		// Without a message id the id falls back to the signed timestamp and token.
		const complained = parse(await formRequest({ event: "complained", recipient: "bob@example.org" }));
		expect(complained.events[0]?.action).toEqual({ kind: "complaint" });
		expect(complained.events[0]?.id).toMatch(new RegExp(`^legacy:complained:bob@example.org:${NOW}:[0-9a-f]{32}$`));
		for (const event of ["dropped", "delivered", "opened", "clicked"]) {
			expect(parse(await formRequest({ event, recipient: "bob@example.org" }))).toEqual({
				events: [],
				ignored: 1,
				problems: [],
			});
		}
		expect(parse(await formRequest({ event: "complained" })).problems).toEqual([
			{ index: 0, error: "complained without recipient" },
		]);
	});

	it("rejects unusable bodies of either content type", () => {
		for (const body of [
			"",
			" \n",
			"not json",
			"[1,2]",
			'"x"',
			"null",
			"{}",
			'{"event-data": []}',
			'{"signature": {}}',
		]) {
			expect(() => parseJson(body), body).toThrow(WebhookBodyError);
		}
		for (const body of ["", "recipient=bob%40example.org", "just text"]) {
			expect(() => parse(webhookRequest(body, FORM)), body).toThrow(WebhookBodyError);
		}
		expect(() => parse(webhookRequest(Uint8Array.of(0x7b, 0xff, 0x7d), JSON_TYPE))).toThrow(WebhookBodyError);
	});
});
