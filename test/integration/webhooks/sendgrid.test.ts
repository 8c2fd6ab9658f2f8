import { beforeAll, describe, expect, it } from "vitest";
import { base64Encode, concatBytes, utf8 } from "../../../src/crypto";
import { WebhookBodyError } from "../../../src/webhooks/provider";
import { sendgrid } from "../../../src/webhooks/providers/sendgrid";
import { bindings, type EcdsaSigner, ecdsaSigner, NOW, rawToDer, testDeps, webhookRequest } from "./webhook-helpers";

const SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature";
const TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp";

let signer: EcdsaSigner;
beforeAll(async () => {
	signer = await ecdsaSigner();
});

const envWith = (key = signer.publicKeyBase64) => bindings({ SENDGRID_WEBHOOK_PUBLIC_KEY: key });

async function signedRequest(body: string, options: { timestamp?: string; by?: EcdsaSigner } = {}) {
	const timestamp = options.timestamp ?? String(NOW);
	const raw = await (options.by ?? signer).signRaw(concatBytes(utf8(timestamp), utf8(body)));
	return webhookRequest(body, {
		"content-type": "application/json",
		[SIGNATURE]: base64Encode(rawToDer(raw)),
		[TIMESTAMP]: timestamp,
	});
}

const withSignature = (body: string, signature: string) =>
	webhookRequest(body, { [SIGNATURE]: signature, [TIMESTAMP]: String(NOW) });

const verify = (request: ReturnType<typeof webhookRequest>, env = envWith(), now = NOW) =>
	sendgrid.verify(request, env, testDeps(now));

const parse = (body: unknown) =>
	sendgrid.parse(webhookRequest(typeof body === "string" ? body : JSON.stringify(body)), envWith());

const BASE = { email: "Ann@Example.org", timestamp: 1_794_999_000 };
const AT = new Date(1_794_999_000 * 1000).toISOString();

describe("sendgrid: configured", () => {
	it("is configured only with a non-empty public key", () => {
		expect(sendgrid.configured(envWith("MFkw"))).toBe(true);
		expect(sendgrid.configured(envWith(""))).toBe(false);
		expect(sendgrid.configured(envWith("   "))).toBe(false);
		expect(sendgrid.configured(bindings({ SENDGRID_WEBHOOK_PUBLIC_KEY: undefined }))).toBe(false);
	});
});

describe("sendgrid: verify", () => {
	const body = JSON.stringify([{ ...BASE, event: "unsubscribe", sg_event_id: "ev-1" }]);

	it("accepts a batch signed with the configured key", async () => {
		expect(await verify(await signedRequest(body))).toEqual({ ok: true });
	});

	it("accepts a key pasted as a PEM block", async () => {
		const pem = `-----BEGIN PUBLIC KEY-----\n${signer.publicKeyBase64.replace(/(.{64})/g, "$1\n")}\n-----END PUBLIC KEY-----\n`;
		expect(await verify(await signedRequest(body), envWith(pem))).toEqual({ ok: true });
	});

	it("follows a key change (the cached key belongs to the old string)", async () => {
		const other = await ecdsaSigner();
		expect(await verify(await signedRequest(body))).toEqual({ ok: true });
		expect(await verify(await signedRequest(body, { by: other }), envWith(other.publicKeyBase64))).toEqual({
			ok: true,
		});
		expect((await verify(await signedRequest(body))).ok).toBe(true);
		expect((await verify(await signedRequest(body), envWith(other.publicKeyBase64))).ok).toBe(false);
	});

	it("refuses a signature by another key", async () => {
		const other = await ecdsaSigner();
		expect(await verify(await signedRequest(body, { by: other }))).toEqual({
			ok: false,
			reason: "signature does not match",
		});
	});

	it("refuses a tampered body and a swapped timestamp", async () => {
		const request = await signedRequest(body);
		const tampered = { ...request, body: utf8(body.replace("ev-1", "ev-2")) };
		expect((await verify(tampered)).ok).toBe(false);
		const headers = new Headers(request.headers);
		headers.set(TIMESTAMP, String(NOW - 1));
		expect((await verify({ ...request, headers })).ok).toBe(false);
	});

	it("refuses missing headers and a timestamp that is not unix seconds", async () => {
		const request = await signedRequest(body);
		for (const drop of [SIGNATURE, TIMESTAMP]) {
			const headers = new Headers(request.headers);
			headers.delete(drop);
			expect(await verify({ ...request, headers })).toEqual({
				ok: false,
				reason: "signature or timestamp header missing",
			});
		}
		for (const timestamp of ["1795000000.5", "-1795000000", "soon", "1e9"]) {
			const headers = new Headers(request.headers);
			headers.set(TIMESTAMP, timestamp);
			expect(await verify({ ...request, headers })).toEqual({ ok: false, reason: "timestamp is not unix seconds" });
		}
	});

	it("accepts timestamps up to 10 minutes old and 5 minutes ahead, and nothing beyond", async () => {
		const at = async (offset: number) =>
			(await verify(await signedRequest(body, { timestamp: String(NOW + offset) }))).ok;
		expect(await at(-600)).toBe(true);
		expect(await at(300)).toBe(true);
		expect(await verify(await signedRequest(body, { timestamp: String(NOW - 601) }))).toEqual({
			ok: false,
			reason: "timestamp too old",
		});
		expect(await verify(await signedRequest(body, { timestamp: String(NOW + 301) }))).toEqual({
			ok: false,
			reason: "timestamp in the future",
		});
	});

	it("refuses without a usable key", async () => {
		const request = await signedRequest(body);
		for (const key of ["", "not base64!", "AAAA", base64Encode(utf8("not a key at all"))]) {
			expect(await verify(request, envWith(key))).toEqual({
				ok: false,
				reason: "SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 P-256 SPKI key",
			});
		}
	});

	it("refuses malformed signatures without throwing", async () => {
		// A valid signature short of the 72-byte maximum, so one byte more still fits the size limit.
		let good: Uint8Array = new Uint8Array(72);
		while (good.length === 72) good = rawToDer(await signer.signRaw(concatBytes(utf8(String(NOW)), utf8(body))));
		expect(await verify(withSignature(body, base64Encode(good)))).toEqual({ ok: true });
		const variants: Uint8Array[] = [
			new Uint8Array(0),
			good.subarray(0, good.length - 1), // truncated
			concatBytes(good, Uint8Array.of(0)), // trailing byte
			Uint8Array.from([0x31, ...good.subarray(1)]), // SET instead of SEQUENCE
			Uint8Array.from([0x30, (good[1] as number) + 1, ...good.subarray(2)]), // sequence length too long
			Uint8Array.from([0x30, 0x81, ...good.subarray(1)]), // long-form length
			Uint8Array.from([0x30, 6, 0x02, 1, 1, 0x03, 1, 1]), // s is not an INTEGER
			Uint8Array.from([0x30, 6, 0x02, 0, 0x02, 2, 1, 1]), // empty INTEGER
			Uint8Array.from([0x30, 6, 0x02, 1, 0x80, 0x02, 1, 1]), // negative r
			Uint8Array.from([0x30, 38, 0x02, 34, 1, ...new Array(33).fill(7), 0x02, 0]), // r longer than 33 bytes
			Uint8Array.from([0x30, 38, 0x02, 33, 1, ...new Array(32).fill(7), 0x02, 1, 1]), // 33 bytes without leading zero
			good.subarray(2), // no SEQUENCE
			Uint8Array.from([0x30, (good[1] as number) + 1, ...good.subarray(2), 0]), // a byte after s inside the SEQUENCE
			new Uint8Array(64), // raw-sized zeros
			crypto.getRandomValues(new Uint8Array(70)),
		];
		for (const der of variants) {
			const result = await verify(withSignature(body, base64Encode(der)));
			expect(result.ok, `DER ${Array.from(der).join(",")}`).toBe(false);
		}
		for (const text of ["", "!!!", "not base64", `${base64Encode(good)}%`]) {
			expect((await verify(withSignature(body, text))).ok).toBe(false);
		}
		// A raw r||s signature is not DER either.
		const raw = await signer.signRaw(concatBytes(utf8(String(NOW)), utf8(body)));
		expect((await verify(withSignature(body, base64Encode(raw)))).ok).toBe(false);
	});

	describe("DER integers of every length", () => {
		// ECDSA is randomized: sign the same message until each shape of r and s turns up.
		async function findSignature(accept: (raw: Uint8Array) => boolean): Promise<Uint8Array> {
			const message = concatBytes(utf8(String(NOW)), utf8(body));
			for (let attempt = 0; attempt < 20_000; attempt++) {
				const raw = await signer.signRaw(message);
				if (accept(raw)) return raw;
			}
			throw new Error("no signature of that shape turned up");
		}

		const cases: Array<[string, (raw: Uint8Array) => boolean, (der: Uint8Array) => void]> = [
			[
				"r with its high bit set (33-byte INTEGER with a leading zero)",
				(raw) => (raw[0] as number) >= 0x80,
				(der) => expect([der[3], der[4]]).toEqual([33, 0]),
			],
			[
				"s with its high bit set (33-byte INTEGER with a leading zero)",
				(raw) => (raw[0] as number) < 0x80 && (raw[0] as number) > 0 && (raw[32] as number) >= 0x80,
				(der) => expect([der[3], der[4 + 32], der[4 + 32 + 1], der[4 + 32 + 2]]).toEqual([32, 0x02, 33, 0]),
			],
			[
				"both with their high bit set (the longest DER, 72 bytes)",
				(raw) => (raw[0] as number) >= 0x80 && (raw[32] as number) >= 0x80,
				(der) => expect(der.length).toBe(72),
			],
			[
				"a short r (leading zero byte dropped)",
				(raw) => raw[0] === 0 && (raw[1] as number) > 0 && (raw[1] as number) < 0x80,
				(der) => expect(der[3]).toBe(31),
			],
			[
				"a short s (leading zero byte dropped)",
				(raw) =>
					raw[32] === 0 &&
					(raw[33] as number) > 0 &&
					(raw[33] as number) < 0x80 &&
					(raw[0] as number) > 0 &&
					(raw[0] as number) < 0x80,
				(der) => expect(der[4 + 32 + 1]).toBe(31),
			],
		];

		for (const [name, accept, shape] of cases) {
			it(`accepts ${name}`, async () => {
				const der = rawToDer(await findSignature(accept));
				shape(der);
				expect(await verify(withSignature(body, base64Encode(der)))).toEqual({ ok: true });
			});
		}
	});
});

describe("sendgrid: parse", () => {
	it("maps every consent-relevant event type", () => {
		const result = parse([
			{ ...BASE, event: "unsubscribe", sg_event_id: "u1", businessUnit: "de", campaign: "spring" },
			{ ...BASE, event: "group_unsubscribe", sg_event_id: "g1", asm_group_id: 42 },
			{ ...BASE, event: "group_resubscribe", sg_event_id: "g2", asm_group_id: 42 },
			{ ...BASE, event: "spamreport", sg_event_id: "s1" },
			{
				...BASE,
				event: "bounce",
				type: "bounce",
				sg_event_id: "b1",
				bounce_classification: "Invalid Address",
				reason: "550 5.1.1 user unknown",
				status: "5.1.1",
			},
		]);
		const common = { channel: "email", recipient: "Ann@Example.org", occurredAt: AT };
		expect(result).toEqual({
			ignored: 0,
			problems: [],
			events: [
				{
					...common,
					id: "u1",
					action: { kind: "unsubscribe", list: null },
					businessUnit: "de",
					campaign: "spring",
					properties: { event: "unsubscribe" },
				},
				{
					...common,
					id: "g1",
					action: { kind: "unsubscribe", list: "42" },
					businessUnit: null,
					campaign: null,
					properties: { event: "group_unsubscribe" },
				},
				{
					...common,
					id: "g2",
					action: { kind: "resubscribe", list: "42" },
					businessUnit: null,
					campaign: null,
					properties: { event: "group_resubscribe" },
				},
				{
					...common,
					id: "s1",
					action: { kind: "complaint" },
					businessUnit: null,
					campaign: null,
					properties: { event: "spamreport" },
				},
				{
					...common,
					id: "b1",
					action: { kind: "hard_bounce" },
					businessUnit: null,
					campaign: null,
					properties: {
						event: "bounce",
						bounceType: "bounce",
						classification: "Invalid Address",
						reason: "550 5.1.1 user unknown",
					},
				},
			],
		});
	});

	it("ignores delivery and engagement events, blocks and drops", () => {
		const ignored = [
			{ event: "processed" },
			{ event: "delivered" },
			{ event: "deferred" },
			{ event: "open" },
			{ event: "click" },
			{ event: "account_status_change" },
			{ event: "bounce", type: "blocked" },
			{ event: "dropped", reason: "Bounced Address" },
			{ event: "dropped", reason: "Unsubscribed Address" },
			{ event: "dropped", reason: "Spam Reporting Address" },
			{ event: "something_new" },
		].map((fields, index) => ({ ...BASE, sg_event_id: `i${index}`, ...fields }));
		expect(parse(ignored)).toEqual({ events: [], ignored: ignored.length, problems: [] });
	});

	it("keeps the good events of a batch and reports the bad ones", () => {
		const result = parse([
			{ ...BASE, event: "unsubscribe", sg_event_id: "ok-1" },
			{ event: "unsubscribe", sg_event_id: "no-email", timestamp: 1 },
			{ ...BASE, event: "spamreport" },
			"not an event",
			{ ...BASE, event: "group_unsubscribe", sg_event_id: "no-group" },
			{ ...BASE, sg_event_id: "no-name" },
			{ ...BASE, event: "unsubscribe", email: 42, sg_event_id: "number-email" },
			{ ...BASE, event: "open", sg_event_id: "ignored" },
			{ ...BASE, event: "spamreport", sg_event_id: "ok-2" },
		]);
		expect(result.events.map((event) => event.id)).toEqual(["ok-1", "ok-2"]);
		expect(result.ignored).toBe(1);
		expect(result.problems).toEqual([
			{ index: 1, error: "unsubscribe without email" },
			{ index: 2, error: "spamreport without sg_event_id" },
			{ index: 3, error: "event is not an object" },
			{ index: 4, error: "group_unsubscribe without asm_group_id" },
			{ index: 5, error: "event has no event name" },
			{ index: 6, error: "unsubscribe without email" },
		]);
	});

	it("takes custom args only as strings and timestamps only as unix seconds", () => {
		const [event] = parse([
			{
				event: "unsubscribe",
				email: "a@example.org",
				sg_event_id: "x",
				businessUnit: 7,
				campaign: ["c"],
				timestamp: "yesterday",
			},
		]).events;
		expect(event).toMatchObject({ businessUnit: null, campaign: null, occurredAt: null });
	});

	it("accepts an empty batch", () => {
		expect(parse([])).toEqual({ events: [], ignored: 0, problems: [] });
	});

	it("rejects bodies that are not a JSON array", () => {
		for (const body of ["", "  ", "not json", "{", '{"event":"unsubscribe"}', '"text"', "42", "null"]) {
			expect(() => parse(body), body).toThrow(WebhookBodyError);
		}
		const invalidUtf8 = webhookRequest(Uint8Array.of(0x5b, 0xff, 0x5d));
		expect(() => sendgrid.parse(invalidUtf8, envWith())).toThrow(WebhookBodyError);
	});
});
