import { describe, expect, it } from "vitest";
import {
	base64UrlDecode,
	base64UrlEncode,
	CONFIRM_LINK_LIFETIME_SECONDS,
	type LinkClaims,
	LinkSigner,
	parseSigningKeys,
} from "../../src/links/token";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NOW = 1_795_000_000;
const encoder = new TextEncoder();

function randomSecret(): string {
	return base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)));
}

function key(kid: string) {
	return { kid, secret: randomSecret() };
}

function claims(fields: Partial<LinkClaims> = {}): LinkClaims {
	return { purpose: "manage", subject: { contactId: "c_123" }, issuedAt: NOW, ...fields };
}

/** The token with the character at `index` replaced by another base64url character (its value XOR `mask`). */
function changeChar(token: string, index: number, mask = 0b100000): string {
	const char = token[index] as string;
	const value = ALPHABET.indexOf(char);
	const replacement = value >= 0 ? (ALPHABET[value ^ mask] as string) : "A";
	return token.slice(0, index) + replacement + token.slice(index + 1);
}

function parts(token: string): [string, string, string] {
	const split = token.split(".");
	expect(split).toHaveLength(3);
	return split as [string, string, string];
}

/** Signs an arbitrary payload text with a known secret, as only the key holder could. */
async function signRaw(kid: string, secret: string, payloadText: string): Promise<string> {
	const cryptoKey = await crypto.subtle.importKey(
		"raw",
		encoder.encode(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const body = `${kid}.${payloadText}`;
	const signature = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(body)));
	return `${body}.${base64UrlEncode(signature)}`;
}

describe("LinkSigner round trips", () => {
	const subjects: LinkClaims["subject"][] = [
		{ contactId: "01JD5Z6Y8Q3W2E1R0T9Y8U7I6O" },
		{ externalId: "customer-4711" },
		{ email: "ann@example.de", businessUnit: "de" },
		{ phone: "+4917612345678", businessUnit: "at" },
	];

	for (const subject of subjects) {
		it(`keeps the subject ${Object.keys(subject).join("+")} with channel, topic and campaign`, async () => {
			const signer = await LinkSigner.create([key("k1")]);
			const original = claims({ subject, channel: "email", topic: "newsletter-kids", campaign: "nov-2026" });
			const result = await signer.verify(await signer.sign(original), NOW);
			expect(result).toEqual({ ok: true, claims: original });
		});

		it(`keeps the subject ${Object.keys(subject).join("+")} without scope`, async () => {
			const signer = await LinkSigner.create([key("k1")]);
			const original = claims({ subject });
			const result = await signer.verify(await signer.sign(original), NOW);
			expect(result).toEqual({ ok: true, claims: original });
			if (result.ok) expect(Object.keys(result.claims).sort()).toEqual(["issuedAt", "purpose", "subject"]);
		});
	}

	it("keeps a channel alone", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const original = claims({ channel: "sms" });
		expect(await signer.verify(await signer.sign(original), NOW)).toEqual({ ok: true, claims: original });
	});

	it("keeps non-ASCII text", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const original = claims({ subject: { externalId: "kündin-ß" }, campaign: "Sommer ✓ 2026" });
		expect(await signer.verify(await signer.sign(original), NOW)).toEqual({ ok: true, claims: original });
	});

	it.each(["manage", "confirm"] as const)("keeps the purpose %s", async (purpose) => {
		const signer = await LinkSigner.create([key("k1")]);
		const original = claims({ purpose, expiresAt: purpose === "confirm" ? NOW + 60 : undefined });
		const result = await signer.verify(await signer.sign(original), NOW);
		expect(result.ok && result.claims.purpose).toBe(purpose);
	});

	it("makes a compact token of three base64url parts with the signing kid first", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims());
		expect(token).toMatch(/^k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
	});
});

describe("LinkSigner tampering", () => {
	it("a changed kid that is not listed is unknown_key", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const [, payload, signature] = parts(await signer.sign(claims()));
		expect(await signer.verify(`k2.${payload}.${signature}`, NOW)).toEqual({ ok: false, reason: "unknown_key" });
	});

	it("a kid switched to another listed key is bad_signature", async () => {
		const signer = await LinkSigner.create([key("k1"), key("k2")]);
		const [, payload, signature] = parts(await signer.sign(claims()));
		expect(await signer.verify(`k2.${payload}.${signature}`, NOW)).toEqual({ ok: false, reason: "bad_signature" });
	});

	it("a kid that cannot be a kid is malformed", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const [, payload, signature] = parts(await signer.sign(claims()));
		expect(await signer.verify(`k!.${payload}.${signature}`, NOW)).toEqual({ ok: false, reason: "malformed" });
		expect(await signer.verify(`.${payload}.${signature}`, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("a single changed character anywhere in the payload is bad_signature", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims({ subject: { externalId: "u1" }, channel: "email", campaign: "c" }));
		const [kid, payload] = parts(token);
		for (let i = 0; i < payload.length; i++) {
			const tampered = changeChar(token, kid.length + 1 + i);
			expect(await signer.verify(tampered, NOW), `payload character ${i}`).toEqual({
				ok: false,
				reason: "bad_signature",
			});
		}
	});

	it("a single changed character anywhere in the signature is bad_signature", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims());
		const [kid, payload, signature] = parts(token);
		const start = kid.length + payload.length + 2;
		for (let i = 0; i < signature.length; i++) {
			expect(await signer.verify(changeChar(token, start + i), NOW), `signature character ${i}`).toEqual({
				ok: false,
				reason: "bad_signature",
			});
		}
	});

	it("a changed last signature character is rejected even when it only touches the unused low bits", async () => {
		// 32 bytes take 43 base64url characters; the last one carries 4 bits and 2 padding bits.
		// Another character that differs only in the padding bits is another token string.
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims());
		const tampered = changeChar(token, token.length - 1, 0b01);
		expect(tampered).not.toBe(token);
		expect((await signer.verify(tampered, NOW)).ok).toBe(false);
	});

	it("a signature of the wrong length is malformed", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims());
		expect(await signer.verify(token.slice(0, -2), NOW)).toEqual({ ok: false, reason: "malformed" });
		expect(await signer.verify(`${token}AAAA`, NOW)).toEqual({ ok: false, reason: "malformed" });
		expect(await signer.verify(`${token.slice(0, -43)}`, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("a signature with characters outside base64url is malformed", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims());
		expect(await signer.verify(`${token.slice(0, -1)}=`, NOW)).toEqual({ ok: false, reason: "malformed" });
		expect(await signer.verify(`${token.slice(0, -1)}+`, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("a token signed with another secret under the same kid is bad_signature", async () => {
		const mine = await LinkSigner.create([key("k1")]);
		const theirs = await LinkSigner.create([key("k1")]);
		expect(await mine.verify(await theirs.sign(claims()), NOW)).toEqual({ ok: false, reason: "bad_signature" });
	});

	it("checks the signature before the expiry", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims({ purpose: "confirm", expiresAt: NOW }));
		expect(await signer.verify(changeChar(token, 5), NOW + 10)).toEqual({ ok: false, reason: "bad_signature" });
	});
});

describe("LinkSigner key rotation", () => {
	it("verifies a token of the old key after a new key is put first", async () => {
		const oldKey = key("old");
		const newKey = key("new");
		const before = await LinkSigner.create([oldKey]);
		const token = await before.sign(claims({ topic: "kids" }));

		const after = await LinkSigner.create([newKey, oldKey]);
		expect(await after.verify(token, NOW)).toEqual({ ok: true, claims: claims({ topic: "kids" }) });
		const fresh = await after.sign(claims());
		expect(fresh.startsWith("new.")).toBe(true);
		expect(await after.verify(fresh, NOW)).toEqual({ ok: true, claims: claims() });
	});

	it("answers unknown_key for a key that is no longer listed", async () => {
		const oldKey = key("old");
		const token = await (await LinkSigner.create([oldKey])).sign(claims());
		const retired = await LinkSigner.create([key("new")]);
		expect(await retired.verify(token, NOW)).toEqual({ ok: false, reason: "unknown_key" });
	});

	it("fromJson signs with the first key of LINK_SIGNING_KEYS", async () => {
		const a = key("second");
		const b = key("first");
		const signer = await LinkSigner.fromJson(JSON.stringify({ [b.kid]: b.secret, [a.kid]: a.secret }));
		const token = await signer.sign(claims());
		expect(parts(token)[0]).toBe("first");
		const onlyFirst = await LinkSigner.create([b]);
		expect(await onlyFirst.verify(token, NOW)).toEqual({ ok: true, claims: claims() });
	});

	it("create refuses an empty key list", async () => {
		await expect(LinkSigner.create([])).rejects.toThrow(/at least one key/);
	});
});

describe("LinkSigner expiry", () => {
	const expiresAt = NOW + CONFIRM_LINK_LIFETIME_SECONDS;

	it("the confirm lifetime is 7 days", () => {
		expect(CONFIRM_LINK_LIFETIME_SECONDS).toBe(604_800);
	});

	it("is fine before expiresAt", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const original = claims({ purpose: "confirm", expiresAt });
		const token = await signer.sign(original);
		expect(await signer.verify(token, NOW)).toEqual({ ok: true, claims: original });
		expect(await signer.verify(token, expiresAt - 1)).toEqual({ ok: true, claims: original });
	});

	it("is expired at expiresAt", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims({ purpose: "confirm", expiresAt }));
		expect(await signer.verify(token, expiresAt)).toEqual({ ok: false, reason: "expired" });
	});

	it("is expired after expiresAt", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims({ purpose: "confirm", expiresAt }));
		expect(await signer.verify(token, expiresAt + 1)).toEqual({ ok: false, reason: "expired" });
		expect(await signer.verify(token, expiresAt + 365 * 86_400)).toEqual({ ok: false, reason: "expired" });
	});

	it("a manage token without expiry never expires", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const original = claims({ purpose: "manage", channel: "email" });
		const token = await signer.sign(original);
		expect(await signer.verify(token, NOW + 100 * 365 * 86_400)).toEqual({ ok: true, claims: original });
	});

	it("verify defaults to the current time", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const now = Math.floor(Date.now() / 1000);
		const past = await signer.sign(claims({ purpose: "confirm", issuedAt: now - 100, expiresAt: now - 10 }));
		const future = await signer.sign(claims({ purpose: "confirm", issuedAt: now, expiresAt: now + 3600 }));
		expect(await signer.verify(past)).toEqual({ ok: false, reason: "expired" });
		expect((await signer.verify(future)).ok).toBe(true);
	});
});

describe("LinkSigner malformed tokens", () => {
	it.each(["", "abc", "k1.abc", "k1.a.b.c", "...", "k1..", "k1.abc.def.ghi"])("%j is malformed", async (token) => {
		const signer = await LinkSigner.create([key("k1")]);
		expect(await signer.verify(token, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("a valid token with a fourth part is malformed", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims());
		expect(await signer.verify(`${token}.x`, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("an overlong but validly signed token is malformed", async () => {
		const signer = await LinkSigner.create([key("k1")]);
		const token = await signer.sign(claims({ campaign: "x".repeat(2000) }));
		expect(token.length).toBeGreaterThan(2048);
		expect(await signer.verify(token, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("a signed payload that is not base64url is malformed", async () => {
		const k = key("k1");
		const signer = await LinkSigner.create([k]);
		expect(await signer.verify(await signRaw("k1", k.secret, "not*base64"), NOW)).toEqual({
			ok: false,
			reason: "malformed",
		});
		expect(await signer.verify(await signRaw("k1", k.secret, "abcde"), NOW)).toEqual({
			ok: false,
			reason: "malformed",
		});
	});

	it.each([
		["not JSON", "{nope"],
		["JSON null", "null"],
		["an array", "[1,2]"],
		["no subject", '{"p":"m","iat":1}'],
		["an unknown purpose", '{"p":"x","s":["i","c1"],"iat":1}'],
		["an unknown subject kind", '{"p":"m","s":["z","c1"],"iat":1}'],
		["an email subject without business unit", '{"p":"m","s":["e","a@b.de"],"iat":1}'],
		["a non-string subject value", '{"p":"m","s":["i",42],"iat":1}'],
		["no issue time", '{"p":"m","s":["i","c1"]}'],
		["a fractional issue time", '{"p":"m","s":["i","c1"],"iat":1.5}'],
	])("a signed payload with %s is malformed", async (_, json) => {
		const k = key("k1");
		const signer = await LinkSigner.create([k]);
		const token = await signRaw("k1", k.secret, base64UrlEncode(encoder.encode(json)));
		expect(await signer.verify(token, NOW)).toEqual({ ok: false, reason: "malformed" });
	});

	it("a signed minimal payload from another signer implementation verifies", async () => {
		const k = key("k1");
		const signer = await LinkSigner.create([k]);
		const json = '{"p":"c","s":["p","+4917612345678","de"],"c":"sms","iat":100,"exp":200}';
		const token = await signRaw("k1", k.secret, base64UrlEncode(encoder.encode(json)));
		expect(await signer.verify(token, 150)).toEqual({
			ok: true,
			claims: {
				purpose: "confirm",
				subject: { phone: "+4917612345678", businessUnit: "de" },
				channel: "sms",
				issuedAt: 100,
				expiresAt: 200,
			},
		});
	});
});

describe("parseSigningKeys", () => {
	const secret = "0123456789abcdef";

	it("keeps the keys in order, the first one signing", () => {
		expect(parseSigningKeys(JSON.stringify({ new: `${secret}new`, old: `${secret}old` }))).toEqual([
			{ kid: "new", secret: `${secret}new` },
			{ kid: "old", secret: `${secret}old` },
		]);
	});

	it("accepts kids with digits, dashes and underscores after a letter", () => {
		expect(parseSigningKeys(JSON.stringify({ "key-2026_01": secret }))).toEqual([{ kid: "key-2026_01", secret }]);
	});

	it.each([undefined, ""])("rejects a missing value (%j)", (json) => {
		expect(() => parseSigningKeys(json)).toThrow("LINK_SIGNING_KEYS is not set");
	});

	it.each(["{", "kid=secret", "{'k1': 'x'}"])("rejects non-JSON %j", (json) => {
		expect(() => parseSigningKeys(json)).toThrow("LINK_SIGNING_KEYS is not valid JSON");
	});

	it.each(["[]", `["${secret}"]`, "null", '"secret"', "42"])("rejects the non-object %j", (json) => {
		expect(() => parseSigningKeys(json)).toThrow("must be a JSON object");
	});

	it("rejects an empty object", () => {
		expect(() => parseSigningKeys("{}")).toThrow("LINK_SIGNING_KEYS holds no key");
	});

	it.each(["1", "2026", "0"])("rejects the integer-like kid %j", (kid) => {
		expect(() => parseSigningKeys(JSON.stringify({ [kid]: secret }))).toThrow(`key id "${kid}"`);
	});

	it("rejects an integer-like kid listed after a good one", () => {
		expect(() => parseSigningKeys(JSON.stringify({ k1: secret, "7": secret }))).toThrow('key id "7"');
	});

	it.each(["1abc", "-k", "k.1", "k 1", "a".repeat(33)])("rejects the kid %j", (kid) => {
		expect(() => parseSigningKeys(JSON.stringify({ [kid]: secret }))).toThrow(`key id "${kid}"`);
	});

	it("accepts a 32-character kid", () => {
		expect(parseSigningKeys(JSON.stringify({ ["k".repeat(32)]: secret }))).toHaveLength(1);
	});

	it("accepts a 16-character secret and rejects 15", () => {
		expect(parseSigningKeys(JSON.stringify({ k1: secret }))).toEqual([{ kid: "k1", secret }]);
		expect(() => parseSigningKeys(JSON.stringify({ k1: secret.slice(1) }))).toThrow('the secret of "k1"');
	});

	it.each([
		["a number", 1234567890123456],
		["null", null],
		["an object", { s: "0123456789abcdef" }],
	])("rejects %s as secret", (_, value) => {
		expect(() => parseSigningKeys(JSON.stringify({ k1: value }))).toThrow('the secret of "k1"');
	});
});

describe("base64url", () => {
	it("encodes without padding and with the URL-safe alphabet", () => {
		expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
		expect(base64UrlEncode(new Uint8Array([0x66]))).toBe("Zg");
		expect(base64UrlEncode(new Uint8Array([]))).toBe("");
	});

	it("round-trips every byte value", () => {
		const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
		for (let length = 0; length <= 5; length++) {
			const slice = bytes.slice(0, 251 + length);
			expect(base64UrlDecode(base64UrlEncode(slice))).toEqual(slice);
		}
	});

	it("decodes unpadded text", () => {
		expect(base64UrlDecode("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
		expect(base64UrlDecode("Zg")).toEqual(new Uint8Array([0x66]));
	});

	it.each(["Zg==", "+/8", "ab/c", "a b", "a", "abcde", "Zg!"])("rejects %j", (text) => {
		expect(base64UrlDecode(text)).toBeNull();
	});
});
