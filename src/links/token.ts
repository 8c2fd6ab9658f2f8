/**
 * Signed link tokens: `<kid>.<payload>.<signature>`, all base64url, where the signature is
 * HMAC-SHA-256 over `<kid>.<payload>` with the key named by kid. The first key of
 * LINK_SIGNING_KEYS signs, every listed key verifies, so keys rotate without breaking old links.
 *
 * The wire format (claims types, payload JSON, base64url, key parsing) is the offline signer's:
 * packages/links/src/token.ts, the one source both signers use, so the tokens senders make with
 * @consent-edge/links are this signer's byte for byte. Here: signing and verifying with Web Crypto.
 */
import {
	base64UrlDecode,
	base64UrlEncode,
	claimsFromPayload,
	KID_PATTERN,
	type LinkClaims,
	parseSigningKeys,
	payloadJson,
} from "../../packages/links/src/token";

export {
	base64UrlDecode,
	base64UrlEncode,
	KID_PATTERN,
	type LinkClaims,
	type LinkPurpose,
	type LinkSubject,
	parseSigningKeys,
	payloadJson,
} from "../../packages/links/src/token";

export type VerifyFailure = "malformed" | "unknown_key" | "bad_signature" | "expired";
export type VerifyResult = { ok: true; claims: LinkClaims } | { ok: false; reason: VerifyFailure };

export const CONFIRM_LINK_LIFETIME_SECONDS = 7 * 24 * 60 * 60;

const encoder = new TextEncoder();

export class LinkSigner {
	private constructor(
		private readonly signingKid: string,
		private readonly keys: Map<string, CryptoKey>,
	) {}

	static async create(keys: Array<{ kid: string; secret: string }>): Promise<LinkSigner> {
		const imported = new Map<string, CryptoKey>();
		for (const { kid, secret } of keys) {
			imported.set(
				kid,
				await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
					"sign",
					"verify",
				]),
			);
		}
		const first = keys[0];
		if (!first) throw new Error("LinkSigner needs at least one key");
		return new LinkSigner(first.kid, imported);
	}

	static async fromJson(json: string | undefined): Promise<LinkSigner> {
		return LinkSigner.create(parseSigningKeys(json));
	}

	async sign(claims: LinkClaims): Promise<string> {
		const body = `${this.signingKid}.${base64UrlEncode(encoder.encode(payloadJson(claims)))}`;
		const key = this.keys.get(this.signingKid) as CryptoKey;
		const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
		return `${body}.${base64UrlEncode(signature)}`;
	}

	/** `now` in unix seconds. The signature is checked before the payload is even decoded. */
	async verify(token: string, now: number = Math.floor(Date.now() / 1000)): Promise<VerifyResult> {
		const parts = token.split(".");
		if (parts.length !== 3 || token.length > 2048) return { ok: false, reason: "malformed" };
		const [kid, payloadText, signatureText] = parts as [string, string, string];
		const key = this.keys.get(kid);
		if (!key) return { ok: false, reason: KID_PATTERN.test(kid) ? "unknown_key" : "malformed" };
		const signature = base64UrlDecode(signatureText);
		// The last of 43 characters has 2 unused bits that atob ignores: only the canonical spelling counts.
		if (signature?.length !== 32 || base64UrlEncode(signature) !== signatureText)
			return { ok: false, reason: "malformed" };
		// crypto.subtle.verify compares in constant time.
		const valid = await crypto.subtle.verify("HMAC", key, signature, encoder.encode(`${kid}.${payloadText}`));
		if (!valid) return { ok: false, reason: "bad_signature" };
		const claims = claimsFromPayload(payloadText);
		if (!claims) return { ok: false, reason: "malformed" };
		if (claims.expiresAt !== undefined && claims.expiresAt <= now) return { ok: false, reason: "expired" };
		return { ok: true, claims };
	}
}
