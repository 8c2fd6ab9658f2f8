/** Small Web Crypto helpers the provider verifiers share. */
import { secretsEqual } from "../http/auth";

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

export function hexEncode(bytes: Uint8Array): string {
	return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
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
