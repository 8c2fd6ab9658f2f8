import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64Encode, hmac, utf8 } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import { type VerifyDeps, WebhookBodyError, type WebhookRequest } from "../../../src/webhooks/provider";
import { mandrill } from "../../../src/webhooks/providers/mandrill";

const KEY = "mandrill-webhook-key-0123456789";
const CONFIGURED_URL = "https://consent.example.test/webhooks/mandrill?source=mandrill";
const REQUEST_URL = "https://consent.example.test/webhooks/mandrill";
const bindings = (overrides: Partial<Record<"MANDRILL_WEBHOOK_KEY" | "MANDRILL_WEBHOOK_URL", string | undefined>>) =>
	({ ...env, MANDRILL_WEBHOOK_KEY: KEY, MANDRILL_WEBHOOK_URL: CONFIGURED_URL, ...overrides }) as Bindings;
const ENV = bindings({});

const deps: VerifyDeps = {
	fetchCertificate: () => Promise.reject(new Error("not used by Mandrill")),
	confirmSubscription: () => Promise.reject(new Error("not used by Mandrill")),
	now: () => 1_795_000_000,
	rememberToken: async () => true,
};

const FORM = "application/x-www-form-urlencoded";

/** Mandrill's scheme, written out: base64 HMAC-SHA1 over url + each field sorted by name, name+value. */
async function signature(fields: Array<[string, string]>, url = CONFIGURED_URL, key = KEY): Promise<string> {
	const sorted = [...fields].sort(([a], [b]) => (a < b ? -1 : 1));
	const text = sorted.reduce((all, [name, value]) => all + name + value, url);
	return base64Encode(await hmac("SHA-1", key, utf8(text)));
}

function request(body: string | Uint8Array, headers: Record<string, string> = {}): WebhookRequest {
	return {
		url: REQUEST_URL,
		method: "POST",
		headers: new Headers({ "content-type": FORM, ...headers }),
		body: typeof body === "string" ? utf8(body) : body,
	};
}

async function signedRequest(
	fields: Array<[string, string]>,
	options: { url?: string; key?: string; headers?: Record<string, string> } = {},
): Promise<WebhookRequest> {
	const sig = await signature(fields, options.url, options.key);
	return request(new URLSearchParams(fields).toString(), { "x-mandrill-signature": sig, ...options.headers });
}

const batchRequest = (events: unknown[], options?: Parameters<typeof signedRequest>[1]) =>
	signedRequest([["mandrill_events", JSON.stringify(events)]], options);

const refused = (reason: string) => ({ ok: false, reason });

const TS = 1_794_990_000;
const AT = new Date(TS * 1000).toISOString();
const MESSAGE_ID = "2f1c0a9b8e7d6c5b4a39281706f5e4d3";

const messageEvent = (event: string, msg: Record<string, unknown> = {}, fields: Record<string, unknown> = {}) => ({
	event,
	_id: MESSAGE_ID,
	ts: TS,
	msg: {
		_id: MESSAGE_ID,
		ts: TS - 60,
		email: "Kim@Example.org",
		sender: "news@shop.example",
		state: "sent",
		metadata: { businessUnit: "de", campaign: "autumn" },
		...msg,
	},
	...fields,
});

const syncEvent = (type: string, action: string, reject: Record<string, unknown>) => ({
	type,
	action,
	ts: TS,
	reject: {
		email: "Kim@Example.org",
		created_at: "2026-11-20 10:00:00",
		last_event_at: "2026-11-20 10:00:00",
		expires_at: null,
		expired: false,
		subaccount: null,
		sender: null,
		...reject,
	},
});

const parseBatch = async (events: unknown[]) => mandrill.parse(await batchRequest(events), ENV);

describe("mandrill: configured", () => {
	it("is configured with a webhook key, with or without MANDRILL_WEBHOOK_URL", () => {
		expect(mandrill.configured(ENV)).toBe(true);
		expect(mandrill.configured(bindings({ MANDRILL_WEBHOOK_URL: "" }))).toBe(true);
		expect(mandrill.configured(bindings({ MANDRILL_WEBHOOK_KEY: "" }))).toBe(false);
		expect(mandrill.configured(bindings({ MANDRILL_WEBHOOK_KEY: "  " }))).toBe(false);
		expect(mandrill.configured(bindings({ MANDRILL_WEBHOOK_KEY: undefined }))).toBe(false);
	});
});

describe("mandrill: verify", () => {
	const events = [messageEvent("unsub")];

	it("accepts a batch signed over MANDRILL_WEBHOOK_URL", async () => {
		expect(await mandrill.verify(await batchRequest(events), ENV, deps)).toEqual({ ok: true });
	});

	it("signs the URL as configured, not as requested, when MANDRILL_WEBHOOK_URL is set", async () => {
		const overRequestUrl = await batchRequest(events, { url: REQUEST_URL });
		expect(await mandrill.verify(overRequestUrl, ENV, deps)).toEqual(refused("signature does not match"));
		const trailingSlash = await batchRequest(events, { url: `${CONFIGURED_URL}/` });
		expect(await mandrill.verify(trailingSlash, ENV, deps)).toEqual(refused("signature does not match"));
	});

	it("falls back to the request URL when MANDRILL_WEBHOOK_URL is unset", async () => {
		const unset = bindings({ MANDRILL_WEBHOOK_URL: "" });
		expect(await mandrill.verify(await batchRequest(events, { url: REQUEST_URL }), unset, deps)).toEqual({ ok: true });
		expect(await mandrill.verify(await batchRequest(events), unset, deps)).toEqual(refused("signature does not match"));
	});

	it("signs every field, sorted by name", async () => {
		const fields: Array<[string, string]> = [
			["mandrill_events", JSON.stringify(events)],
			["a_field", "first"],
			["z_field", "last"],
		];
		expect(await mandrill.verify(await signedRequest(fields), ENV, deps)).toEqual({ ok: true });
		// The signature over the mandrill_events field alone does not cover the others.
		const partial = request(new URLSearchParams(fields).toString(), {
			"x-mandrill-signature": await signature([fields[0] as [string, string]]),
		});
		expect(await mandrill.verify(partial, ENV, deps)).toEqual(refused("signature does not match"));
	});

	it("refuses another key, a tampered body and a missing signature", async () => {
		expect(await mandrill.verify(await batchRequest(events, { key: "other-key" }), ENV, deps)).toEqual(
			refused("signature does not match"),
		);
		const signed = await batchRequest(events);
		const tampered = { ...signed, body: utf8(new URLSearchParams({ mandrill_events: JSON.stringify([]) }).toString()) };
		expect(await mandrill.verify(tampered, ENV, deps)).toEqual(refused("signature does not match"));
		const unsigned = request(new TextDecoder().decode(signed.body));
		expect(await mandrill.verify(unsigned, ENV, deps)).toEqual(refused("no X-Mandrill-Signature header"));
		const latin1 = { ...signed, body: Uint8Array.of(0x6d, 0x3d, 0xe9) };
		expect(await mandrill.verify(latin1, ENV, deps)).toEqual(refused("body is not UTF-8"));
		expect(await mandrill.verify(signed, bindings({ MANDRILL_WEBHOOK_KEY: "" }), deps)).toEqual(
			refused("MANDRILL_WEBHOOK_KEY is not set"),
		);
	});

	it("accepts Mandrill's URL test (an empty batch signed with the key 'test-webhook') and nothing more with that key", async () => {
		const test = await batchRequest([], { key: "test-webhook" });
		expect(await mandrill.verify(test, ENV, deps)).toEqual({ ok: true });
		expect(mandrill.parse(test, ENV)).toEqual({ events: [], ignored: 0, problems: [] });
		const withEvents = await batchRequest(events, { key: "test-webhook" });
		expect(await mandrill.verify(withEvents, ENV, deps)).toEqual(refused("signature does not match"));
		const extraField = await signedRequest(
			[
				["mandrill_events", "[]"],
				["extra", "x"],
			],
			{ key: "test-webhook" },
		);
		expect(await mandrill.verify(extraField, ENV, deps)).toEqual(refused("signature does not match"));
	});

	it("accepts a signed POST without mandrill_events, which parses as an empty batch", async () => {
		const empty = await signedRequest([]);
		expect(await mandrill.verify(empty, ENV, deps)).toEqual({ ok: true });
		expect(mandrill.parse(empty, ENV)).toEqual({ events: [], ignored: 0, problems: [] });
		const unsigned = request("");
		expect(await mandrill.verify(unsigned, ENV, deps)).toEqual(refused("no X-Mandrill-Signature header"));
	});
});

describe("mandrill: parse", () => {
	const expected = (kind: Record<string, unknown>, event: string, properties: Record<string, unknown> = {}) => ({
		id: `${MESSAGE_ID}:${event}`,
		channel: "email",
		recipient: "Kim@Example.org",
		action: kind,
		occurredAt: AT,
		businessUnit: "de",
		campaign: "autumn",
		properties: { event, ...properties },
	});

	it("maps hard_bounce, spam and unsub message events of a batch", async () => {
		const result = await parseBatch([
			messageEvent("hard_bounce", { state: "bounced", bounce_description: "bad_mailbox", diag: "smtp;550" }),
			messageEvent("spam"),
			messageEvent("unsub"),
		]);
		expect(result).toEqual({
			events: [
				expected({ kind: "hard_bounce" }, "hard_bounce", { bounceDescription: "bad_mailbox" }),
				expected({ kind: "complaint" }, "spam"),
				expected({ kind: "unsubscribe", list: null }, "unsub"),
			],
			ignored: 0,
			problems: [],
		});
	});

	it("ignores events that say nothing about consent", async () => {
		const result = await parseBatch(
			["send", "deferral", "soft_bounce", "open", "click", "reject", "inbound", "whatever"].map((event) =>
				messageEvent(event),
			),
		);
		expect(result).toEqual({ events: [], ignored: 8, problems: [] });
	});

	it("ignores the sample events of Mandrill's 'Send Test' button", async () => {
		const sample = messageEvent(
			"hard_bounce",
			{ _id: "exampleaaaaaaaaaaaaaaaaaaaaaaaaa1", email: "example.webhook@mandrillapp.com" },
			{ _id: "exampleaaaaaaaaaaaaaaaaaaaaaaaaa1" },
		);
		expect(await parseBatch([sample])).toEqual({ events: [], ignored: 1, problems: [] });
	});

	it("takes metadata as strings and numbers, and tolerates its absence", async () => {
		const numeric = messageEvent("spam", { metadata: { businessUnit: 7, campaign: "" } });
		const none = messageEvent("spam", { metadata: undefined }, { ts: "not a number" });
		const [first, second] = (await parseBatch([numeric, none])).events;
		expect(first).toMatchObject({ businessUnit: "7", campaign: null });
		expect(second).toMatchObject({ businessUnit: null, campaign: null, occurredAt: null });
	});

	it("reports a bad event at its index and keeps the good ones", async () => {
		const result = await parseBatch([
			messageEvent("spam"),
			"not an event",
			messageEvent("unsub", { email: "" }),
			{ ts: TS },
			messageEvent("hard_bounce", {}, { _id: undefined, msg: { email: "x@example.org" } }),
			messageEvent("unsub", {}, { msg: null }),
			syncEvent("blacklist", "add", { reason: "unsub", email: undefined }),
			messageEvent("unsub"),
		]);
		expect(result.events.map((event) => event.properties.event)).toEqual(["spam", "unsub"]);
		expect(result.problems).toEqual([
			{ index: 1, error: "event is not an object" },
			{ index: 2, error: "unsub without msg.email" },
			{ index: 3, error: "event has neither event nor type" },
			{ index: 4, error: "hard_bounce without _id" },
			{ index: 5, error: "unsub without msg" },
			{ index: 6, error: "blacklist add without reject.email" },
		]);
		expect(result.ignored).toBe(0);
	});

	describe("sync events", () => {
		const sync = (action: string, properties: Record<string, unknown>) => ({
			channel: "email",
			recipient: "Kim@Example.org",
			occurredAt: AT,
			businessUnit: null,
			campaign: null,
			id: `sync:blacklist:${action}:Kim@Example.org:${TS}`,
			properties: { event: "blacklist", action, ...properties },
		});

		it("maps denylist additions by reason", async () => {
			const result = await parseBatch([
				syncEvent("blacklist", "add", { reason: "unsub" }),
				syncEvent("blacklist", "add", { reason: "spam", subaccount: "shop-de" }),
				syncEvent("blacklist", "change", { reason: "hard-bounce", detail: "550 mailbox does not exist" }),
			]);
			expect(result).toEqual({
				events: [
					{ ...sync("add", { reason: "unsub" }), action: { kind: "unsubscribe", list: null } },
					{ ...sync("add", { reason: "spam", subaccount: "shop-de" }), action: { kind: "complaint" } },
					{ ...sync("change", { reason: "hard-bounce" }), action: { kind: "hard_bounce" } },
				],
				ignored: 0,
				problems: [],
			});
		});

		it("reads a denylist removal of an unsubscribe as a resubscribe, unless it expired", async () => {
			const result = await parseBatch([
				syncEvent("blacklist", "remove", { reason: "unsub" }),
				syncEvent("denylist", "remove", { reason: "unsub", expired: true }),
			]);
			expect(result).toEqual({
				events: [{ ...sync("remove", { reason: "unsub" }), action: { kind: "resubscribe", list: null } }],
				ignored: 1,
				problems: [],
			});
		});

		it("ignores soft bounces, manual entries, other removals and allowlist changes", async () => {
			const result = await parseBatch([
				syncEvent("blacklist", "add", { reason: "soft-bounce" }),
				syncEvent("blacklist", "add", { reason: "custom", detail: "added by support" }),
				syncEvent("blacklist", "remove", { reason: "hard-bounce" }),
				syncEvent("blacklist", "remove", { reason: "spam" }),
				syncEvent("blacklist", "rename", { reason: "unsub" }),
				syncEvent("whitelist", "add", { detail: "internal" }),
				syncEvent("whitelist", "remove", {}),
			]);
			expect(result).toEqual({ events: [], ignored: 7, problems: [] });
		});

		it("builds the same id on a redelivery and different ids for different changes", async () => {
			const add = syncEvent("blacklist", "add", { reason: "unsub" });
			const first = await parseBatch([add, syncEvent("blacklist", "remove", { reason: "unsub" })]);
			const again = await parseBatch([add]);
			expect(again.events[0]?.id).toBe(first.events[0]?.id);
			expect(first.events[1]?.id).not.toBe(first.events[0]?.id);
		});
	});

	it("throws WebhookBodyError for bodies that are not a Mandrill batch", async () => {
		const signedField = async (value: string) => mandrill.parse(await signedRequest([["mandrill_events", value]]), ENV);
		await expect(signedField("not json")).rejects.toThrow(WebhookBodyError);
		await expect(signedField('{"event":"spam"}')).rejects.toThrow(WebhookBodyError);
		const json = request(JSON.stringify([messageEvent("spam")]), { "content-type": "application/json" });
		expect(() => mandrill.parse(json, ENV)).toThrow(WebhookBodyError);
		expect(() => mandrill.parse(request(Uint8Array.of(0x6d, 0x3d, 0xe9)), ENV)).toThrow(WebhookBodyError);
	});
});
