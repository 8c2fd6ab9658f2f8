/**
 * The wire format of signed link tokens: `<kid>.<payload>.<signature>`, all base64url, where the
 * signature is HMAC-SHA-256 over `<kid>.<payload>` with the key named by kid. The first key of
 * LINK_SIGNING_KEYS signs, every listed key verifies, so keys rotate without breaking old links.
 *
 * One source for both signers: the service's LinkSigner (src/links/token.ts, Web Crypto) and the
 * offline signer (index.ts, node:crypto) write the payload with payloadJson, so their tokens are
 * the same bytes. Only TextEncoder, TextDecoder, btoa and atob: runs in workerd and in Node.
 */

/** The service's channels (src/consent/types.ts CHANNELS; the tests check that both agree). */
export const CHANNELS = ["email", "sms", "whatsapp", "push"] as const;
export type Channel = (typeof CHANNELS)[number];

export type LinkSubject =
	| { contactId: string }
	| { externalId: string }
	| { email: string; businessUnit: string }
	| { phone: string; businessUnit: string };

export type LinkPurpose = "manage" | "confirm";

export interface LinkClaims {
	/** manage: unsubscribe and preference links (never expire); confirm: double opt-in links. */
	purpose: LinkPurpose;
	subject: LinkSubject;
	channel?: Channel;
	topic?: string;
	campaign?: string;
	/** Unix seconds. */
	issuedAt: number;
	/** Unix seconds; confirmation links only. */
	expiresAt?: number;
}

/** Key ids: they travel in every token. */
export const KID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const MIN_SECRET_LENGTH = 16;

/** Compact wire form of the claims: short keys keep links short. */
interface Payload {
	p: "m" | "c";
	s: [kind: "i" | "x", value: string] | [kind: "e" | "p", value: string, businessUnit: string];
	c?: string;
	t?: string;
	m?: string;
	iat: number;
	exp?: number;
}

// Pure: the offline signer never decodes, and its bundle drops this.
const decoder = /* @__PURE__ */ new TextDecoder();

export function base64UrlEncode(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function base64UrlDecode(text: string): Uint8Array | null {
	if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
	const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
	return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * Parses LINK_SIGNING_KEYS (`{"kid": "secret", ...}`, first key signs). Key ids must not look like
 * integers: JavaScript orders integer-like object keys first, which would silently change the signer.
 */
export function parseSigningKeys(json: string | undefined): Array<{ kid: string; secret: string }> {
	if (!json) throw new Error("LINK_SIGNING_KEYS is not set");
	let parsed: unknown;
	try {
		parsed = JSON.parse(json);
	} catch {
		throw new Error("LINK_SIGNING_KEYS is not valid JSON");
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
		throw new Error('LINK_SIGNING_KEYS must be a JSON object {"kid": "secret", ...}');
	}
	const keys = Object.entries(parsed).map(([kid, secret]) => {
		if (!KID_PATTERN.test(kid)) throw new Error(`LINK_SIGNING_KEYS: key id "${kid}" must match ${KID_PATTERN}`);
		if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH) {
			throw new Error(`LINK_SIGNING_KEYS: the secret of "${kid}" must be a string of ${MIN_SECRET_LENGTH}+ characters`);
		}
		return { kid, secret };
	});
	if (keys.length === 0) throw new Error("LINK_SIGNING_KEYS holds no key");
	return keys;
}

// Printable ASCII without `"` and `\`: JSON writes such a string as it is, between quotes.
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const quote = (text: string): string => (PLAIN_JSON_STRING.test(text) ? `"${text}"` : JSON.stringify(text));

/**
 * The token payload as JSON (the Payload shape, keys in this order), written out rather than built
 * as an object for JSON.stringify: senders sign a million links offline with this (index.ts), and
 * it is a third of what a link costs besides the HMAC.
 */
export function payloadJson(claims: LinkClaims): string {
	const { subject } = claims;
	const s =
		"contactId" in subject
			? `"i",${quote(subject.contactId)}`
			: "externalId" in subject
				? `"x",${quote(subject.externalId)}`
				: "email" in subject
					? `"e",${quote(subject.email)},${quote(subject.businessUnit)}`
					: `"p",${quote(subject.phone)},${quote(subject.businessUnit)}`;
	let json = `{"p":"${claims.purpose === "confirm" ? "c" : "m"}","s":[${s}],"iat":${claims.issuedAt}`;
	if (claims.channel) json += `,"c":${quote(claims.channel)}`;
	if (claims.topic) json += `,"t":${quote(claims.topic)}`;
	if (claims.campaign) json += `,"m":${quote(claims.campaign)}`;
	if (claims.expiresAt !== undefined) json += `,"exp":${claims.expiresAt}`;
	return `${json}}`;
}

/**
 * The claims of a token's payload segment (base64url JSON); null when it is not one. Decodes only:
 * check the signature first (the service's LinkSigner.verify does).
 */
export function claimsFromPayload(text: string): LinkClaims | null {
	const bytes = base64UrlDecode(text);
	if (!bytes) return null;
	let payload: Payload;
	try {
		payload = JSON.parse(decoder.decode(bytes));
	} catch {
		return null;
	}
	if (typeof payload !== "object" || payload === null || !Array.isArray(payload.s)) return null;
	if (payload.p !== "m" && payload.p !== "c") return null;
	if (!Number.isInteger(payload.iat)) return null;
	const [kind, value, businessUnit] = payload.s;
	if (typeof value !== "string") return null;
	let subject: LinkSubject;
	if (kind === "i") subject = { contactId: value };
	else if (kind === "x") subject = { externalId: value };
	else if ((kind === "e" || kind === "p") && typeof businessUnit === "string") {
		subject = kind === "e" ? { email: value, businessUnit } : { phone: value, businessUnit };
	} else return null;
	const claims: LinkClaims = { purpose: payload.p === "c" ? "confirm" : "manage", subject, issuedAt: payload.iat };
	if (typeof payload.c === "string") claims.channel = payload.c as Channel;
	if (typeof payload.t === "string") claims.topic = payload.t;
	if (typeof payload.m === "string") claims.campaign = payload.m;
	if (Number.isInteger(payload.exp)) claims.expiresAt = payload.exp;
	return claims;
}
