/**
 * @consent-edge/links (packages/links, built by vitest.node.config.ts) against the service: its
 * tokens must be the worker's byte for byte and verify in the worker's LinkSigner, and what it
 * shares with the worker (normalization, the wire format, the channels) must be the worker's own.
 * The package's own tests (the build, the packed package, links, headers, invalid input) are in
 * packages/links/test; this config runs both.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type * as Package from "../../packages/links/src/index";
import * as packageLinks from "../../packages/links/src/links";
import * as packageNormalize from "../../packages/links/src/normalize";
import * as packageToken from "../../packages/links/src/token";
import { SCOPES, CASES as SHARED_CASES } from "../../packages/links/test/cases";
import * as serviceNormalize from "../../src/consent/normalize";
import { CHANNELS as SERVICE_CHANNELS, type Channel as ServiceChannel } from "../../src/consent/types";
import * as serviceLinks from "../../src/links/links";
import * as serviceToken from "../../src/links/token";
import { type LinkClaims, LinkSigner } from "../../src/links/token";
import { tokenCandidates } from "../../src/mail/find-token";

// Types from the source, code from the build: what senders import.
const here = (import.meta as unknown as { url: string }).url;
const built = (await import(new URL("../../packages/links/dist/index.js", here).href)) as typeof Package;
const { createLinkSigner } = built;

const KEYS = JSON.stringify({ k2: "the-new-signing-secret-0123456789", k1: "the-old-signing-secret-0123456789" });
const BASE = "https://consent.example.com";
const NOW = 1_795_000_000;

const worker = (json = KEYS) => LinkSigner.fromJson(json);
const tokenOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

async function verified(url: string, json = KEYS): Promise<LinkClaims> {
	const result = await (await worker(json)).verify(tokenOf(url));
	if (!result.ok) throw new Error(`${url} does not verify: ${result.reason}`);
	return result.claims;
}

const signer = await createLinkSigner({ keys: KEYS, baseUrl: BASE });

/** The package's own cases, and an IDN address the worker folds as the package does. */
const CASES: typeof SHARED_CASES = [
	...SHARED_CASES,
	[
		{ email: "ＡＮＮ@bücher.de", businessUnit: "de" },
		{ email: "ann@xn--bcher-kva.de", businessUnit: "de" },
	],
];

describe("one source for the worker and the package", () => {
	it("the package lists the service's channels", () => {
		expectTypeOf<Package.Channel>().toEqualTypeOf<ServiceChannel>();
		expectTypeOf<packageToken.Channel>().toEqualTypeOf<ServiceChannel>();
		expect([...packageToken.CHANNELS]).toEqual([...SERVICE_CHANNELS]);
	});

	it("the worker's phone numbers (libphonenumber-js, national formats too) are E.164 as the package writes them", () => {
		for (const phone of ["+49 176 12345678", "+43 664 1234567", "+1 (415) 555-2671", "0049 30 12345678"]) {
			const service = serviceNormalize.normalizePhone(phone);
			expect(service, phone).not.toBeNull();
			expect(packageNormalize.normalizePhone(phone), phone).toBe(service);
		}
		expect(serviceNormalize.normalizePhone("030 12345678", "DE")).toBe("+493012345678");
	});

	it("the worker's normalization, wire format and link building are the package's very functions", () => {
		const shared: Array<[name: string, service: unknown, fromPackage: unknown]> = [
			["normalizeEmail", serviceNormalize.normalizeEmail, packageNormalize.normalizeEmail],
			["normalizeBusinessUnit", serviceNormalize.normalizeBusinessUnit, packageNormalize.normalizeBusinessUnit],
			["DEFAULT_BUSINESS_UNIT", serviceNormalize.DEFAULT_BUSINESS_UNIT, packageNormalize.DEFAULT_BUSINESS_UNIT],
			["BUSINESS_UNIT_PATTERN", serviceNormalize.BUSINESS_UNIT_PATTERN, packageNormalize.BUSINESS_UNIT_PATTERN],
			["payloadJson", serviceToken.payloadJson, packageToken.payloadJson],
			["parseSigningKeys", serviceToken.parseSigningKeys, packageToken.parseSigningKeys],
			["base64UrlEncode", serviceToken.base64UrlEncode, packageToken.base64UrlEncode],
			["base64UrlDecode", serviceToken.base64UrlDecode, packageToken.base64UrlDecode],
		];
		for (const [name, service, fromPackage] of shared) expect(service, name).toBe(fromPackage);
		// src/links/links.ts defines nothing: all of it is the package's.
		expect(Object.keys(serviceLinks).sort()).toEqual(Object.keys(packageLinks).sort());
		for (const [name, value] of Object.entries(packageLinks)) {
			expect((serviceLinks as Record<string, unknown>)[name], name).toBe(value);
		}
	});
});

describe("tokens", () => {
	it("verify in the worker and carry the normalized recipient and scope", async () => {
		for (const [recipient, subject] of CASES) {
			for (const scope of SCOPES) {
				const made = signer.forRecipient(recipient, { ...scope, issuedAt: NOW });
				const expected: LinkClaims = { purpose: "manage", subject, issuedAt: NOW, ...scope };
				expect(await verified(made.unsubscribeUrl)).toEqual(expected);
				expect(tokenOf(made.preferencesUrl)).toBe(tokenOf(made.unsubscribeUrl));
			}
		}
	});

	it("are byte for byte the worker's own", async () => {
		const service = await worker();
		for (const [recipient, subject] of CASES) {
			for (const scope of SCOPES) {
				const claims: LinkClaims = { purpose: "manage", subject, issuedAt: NOW, ...scope };
				expect(signer.token(recipient, { ...scope, issuedAt: NOW }), JSON.stringify(claims)).toBe(
					await service.sign(claims),
				);
			}
		}
	});

	it("are stamped now unless issuedAt says otherwise, and never expire in the worker", async () => {
		const before = Math.floor(Date.now() / 1000);
		const claims = await verified(signer.forRecipient({ email: "ann@example.de" }).unsubscribeUrl);
		expect(claims.issuedAt).toBeGreaterThanOrEqual(before);
		expect(claims.issuedAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
		expect(claims.expiresAt).toBeUndefined();
		const far = await (await worker()).verify(tokenOf(signer.forRecipient({ externalId: "u1" }).unsubscribeUrl), 4e9);
		expect(far.ok).toBe(true);
	});
});

describe("key rotation", () => {
	it("signs with the first key; the worker verifies old links while it lists the old key", async () => {
		const oldOnly = JSON.stringify({ k1: "the-old-signing-secret-0123456789" });
		const before = await createLinkSigner({ keys: oldOnly, baseUrl: BASE });
		const after = await createLinkSigner({ keys: KEYS, baseUrl: BASE });
		const oldLink = before.forRecipient({ email: "ann@example.de" }).unsubscribeUrl;
		const newLink = after.forRecipient({ email: "ann@example.de" }).unsubscribeUrl;
		// The worker with both keys verifies both; with the old key retired, old links stop working.
		await verified(oldLink, KEYS);
		await verified(newLink, KEYS);
		const retired = await worker(JSON.stringify({ k2: "the-new-signing-secret-0123456789" }));
		expect(await retired.verify(tokenOf(oldLink))).toEqual({ ok: false, reason: "unknown_key" });
		expect((await retired.verify(tokenOf(newLink))).ok).toBe(true);
	});

	it("refuses exactly the keys the worker refuses", async () => {
		for (const keys of ["", "not json", "[]", "{}", '{"1": "integer-like-key-id-0123456789"}', '{"k1": "short"}']) {
			const workerError = await worker(keys).then(
				() => null,
				(error: Error) => error.message,
			);
			expect(workerError, keys).not.toBeNull();
			await expect(createLinkSigner({ keys, baseUrl: BASE }), keys).rejects.toThrow(workerError as string);
		}
	});
});

describe("the mailto URI", () => {
	const MAILTOS = ["unsubscribe@example.com", "mailto:list@example.com?Subject=Remove%20me&body=x"];

	it("is the worker's own: the same header as POST /v1/links makes for the same token", async () => {
		const service = await worker();
		for (const mailto of MAILTOS) {
			const links = await createLinkSigner({ keys: KEYS, baseUrl: BASE, mailto });
			// What src/api/links.ts does with LIST_UNSUBSCRIBE_MAILTO.
			const build = serviceLinks.linkBuilder(BASE, serviceLinks.normalizeMailto(mailto));
			for (const [recipient, subject] of CASES) {
				for (const scope of SCOPES) {
					const claims: LinkClaims = { purpose: "manage", subject, issuedAt: NOW, ...scope };
					expect(links.forRecipient(recipient, { ...scope, issuedAt: NOW }), mailto).toEqual(
						build(await service.sign(claims)),
					);
				}
			}
		}
	});

	it("carries a token in its subject that the worker's mail handler finds and verifies", async () => {
		const links = await createLinkSigner({ keys: KEYS, baseUrl: BASE, mailto: MAILTOS[1] });
		for (const [recipient, subject] of CASES) {
			const made = links.forRecipient(recipient, { topic: "newsletter-kids", issuedAt: NOW });
			const mailto = /<(mailto:[^>]+)>$/.exec(made.headers["List-Unsubscribe"])?.[1] as string;
			// A mail client opens the URI: the subject is the decoded value of the subject field (RFC 6068 §2).
			const field = new URL(mailto).search
				.slice(1)
				.split("&")
				.find((pair) => pair.startsWith("Subject="));
			const mailSubject = decodeURIComponent((field as string).slice("Subject=".length));
			expect(mailSubject).toBe(`Remove me ${tokenOf(made.unsubscribeUrl)}`);
			expect(tokenCandidates(mailSubject, 4)).toEqual([tokenOf(made.unsubscribeUrl)]);
			expect(await verified(made.unsubscribeUrl)).toEqual({
				purpose: "manage",
				subject,
				topic: "newsletter-kids",
				issuedAt: NOW,
			});
		}
	});
});
