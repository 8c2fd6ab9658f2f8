/**
 * The worker's cryptography, in one place, on Web Crypto: encodings, HMACs, constant-time
 * comparisons, and the keyed hashes that stand in for addresses the service must not keep.
 */

const encoder = new TextEncoder();

export const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** Concatenates byte arrays (e.g. a timestamp prefix and the raw body). */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

/** Standard base64 (with or without padding) to bytes; null when it is not base64. */
export function base64Decode(text: string): Uint8Array | null {
	const clean = text.trim();
	if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return null;
	try {
		return Uint8Array.from(atob(clean), (c) => c.charCodeAt(0));
	} catch {
		return null;
	}
}

export function base64Encode(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary);
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export function hexEncode(bytes: Uint8Array): string {
	// String concatenation from a table: every keyed hash of an address goes through here.
	let hex = "";
	for (const byte of bytes) hex += HEX_PAIRS[byte];
	return hex;
}

/** HMAC of `message` with `secret` (UTF-8). */
export async function hmac(hash: "SHA-1" | "SHA-256", secret: string, message: Uint8Array): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash }, false, ["sign"]);
	return new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
}

/**
 * Constant-time comparison of a presented signature (any encoding, as text) with the expected one,
 * computed per request (so, unlike secretsEqual, nothing is cached). Hashing first makes the
 * lengths equal.
 */
export async function signaturesEqual(given: string, expected: string): Promise<boolean> {
	const [a, b] = await Promise.all([
		crypto.subtle.digest("SHA-256", utf8(given)),
		crypto.subtle.digest("SHA-256", utf8(expected)),
	]);
	return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * Checks `Authorization: Basic …` against `user:password` in constant time (Mailjet, Postmark:
 * providers without signatures, whose webhook URL carries the credentials).
 */
export async function basicAuthMatches(header: string | null, expected: string): Promise<boolean> {
	const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
	const decoded = match?.[1] ? base64Decode(match[1]) : null;
	const given = decoded ? new TextDecoder().decode(decoded) : "";
	// Compare even when the header is missing, so the time does not tell which part was wrong.
	const equal = await secretsEqual(given, expected);
	return equal && decoded !== null;
}

/** SHA-256 of a text (UTF-8). */
export function sha256(text: string): Promise<ArrayBuffer> {
	return crypto.subtle.digest("SHA-256", utf8(text));
}

export async function sha256Hex(text: string): Promise<string> {
	return hexEncode(new Uint8Array(await sha256(text)));
}

// Digests of expected secrets, made once per isolate: only the presented secret is hashed per request.
// The digests are kept, not their promises: workerd warns when one request awaits another's promise.
const expectedDigests = new Map<string, ArrayBuffer>();

/**
 * Whether a presented secret, given by its SHA-256 (`sha256`), equals `expected`, in constant time:
 * for callers that need the digest anyway (an API key is also looked up by it).
 */
export async function digestMatches(givenDigest: ArrayBuffer, expected: string): Promise<boolean> {
	let expectedDigest = expectedDigests.get(expected);
	if (!expectedDigest) {
		expectedDigest = await sha256(expected);
		expectedDigests.set(expected, expectedDigest);
	}
	return crypto.subtle.timingSafeEqual(givenDigest, expectedDigest);
}

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
	return digestMatches(await sha256(given), expected);
}

// ---------------------------------------------------------------------------------------------
// Keyed hashes (HMAC-SHA-256 with SUPPRESSION_PEPPER): nobody can list the addresses behind them,
// and the pepper is needed to test an address.

/** The part of the environment keyed hashes need. */
export interface PepperEnv {
	SUPPRESSION_PEPPER?: string;
}

// The imported key, made once per pepper and isolate: a batch check hashes thousands of addresses.
let cachedKey: { pepper: string; key: CryptoKey } | null = null;
// Hashes already made in this isolate, at most HASH_CACHE_SIZE (the oldest go first): senders check
// the same audience campaign after campaign, and a hash never changes for one pepper.
const HASH_CACHE_SIZE = 50_000;
const hashCache = new Map<string, string>();

async function pepperKey(env: PepperEnv): Promise<CryptoKey> {
	const pepper = env.SUPPRESSION_PEPPER?.trim();
	if (!pepper) throw new Error("SUPPRESSION_PEPPER is not set");
	if (cachedKey?.pepper !== pepper) {
		const key = await crypto.subtle.importKey("raw", utf8(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		cachedKey = { pepper, key };
		hashCache.clear();
	}
	return cachedKey.key;
}

async function hashWith(key: CryptoKey, text: string): Promise<string> {
	const cached = hashCache.get(text);
	if (cached !== undefined) return cached;
	const hash = hexEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(text))));
	if (hashCache.size >= HASH_CACHE_SIZE) hashCache.delete(hashCache.keys().next().value as string);
	hashCache.set(text, hash);
	return hash;
}

/** The keyed hash of a text when this isolate made it already (null otherwise): no work at all. */
export function cachedHash(env: PepperEnv, text: string): string | null {
	if (cachedKey === null || cachedKey.pepper !== env.SUPPRESSION_PEPPER?.trim()) return null;
	return hashCache.get(text) ?? null;
}

/** A keyed hash of a text that must not be stored as it is (an address, an id that embeds one). */
export async function keyedHash(env: PepperEnv, text: string): Promise<string> {
	return hashWith(await pepperKey(env), text);
}

/** Keyed hashes of texts; when this isolate made them all before, no work at all (no HMAC, no key). */
export async function keyedHashes(env: PepperEnv, texts: readonly string[]): Promise<string[]> {
	if (texts.length === 0) return [];
	const cached = texts.map((text) => cachedHash(env, text));
	if (!cached.includes(null)) return cached as string[];
	const key = await pepperKey(env);
	return Promise.all(texts.map((text) => hashWith(key, text)));
}
