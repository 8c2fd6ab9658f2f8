/**
 * The admin dashboard's session: a Hono signed cookie (hono/cookie's setSignedCookie and
 * getSignedCookie, HMAC-SHA-256) whose value is `v2.<exp>.<nonce>`, signed with a key derived from
 * ADMIN_TOKEN. The cookie never holds the token; `exp` (8 hours after login) is inside the signed
 * value and checked here, so a stolen cookie stops working then whatever the browser keeps; and
 * rotating ADMIN_TOKEN ends every session at once. No server-side state: logging out deletes the
 * cookie in the browser, which is what a one-operator dashboard needs (there is no session list to
 * revoke from).
 */
import type { Context } from "hono";
import { deleteCookie, generateSignedCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import type { CookieOptions } from "hono/utils/cookie";

export const SESSION_COOKIE = "ce_admin_session";
export const SESSION_SECONDS = 8 * 60 * 60;

const COOKIE_OPTIONS = { httpOnly: true, secure: true, sameSite: "Strict", path: "/admin" } satisfies CookieOptions;
/** The signed value: version, expiry (Unix seconds), 12 random bytes in base64url. */
const VALUE = /^v2\.(\d{1,12})\.[A-Za-z0-9_-]{16}$/;

const encoder = new TextEncoder();

// Derived keys, not promises of them, are cached: workerd warns when one request awaits another's promise.
const secrets = new Map<string, ArrayBuffer>();

/**
 * A key of its own for sessions, derived from the token (HMAC with a fixed label), so that no
 * other use of ADMIN_TOKEN as a key can ever produce a valid session signature.
 */
async function sessionSecret(adminToken: string): Promise<ArrayBuffer> {
	const cached = secrets.get(adminToken);
	if (cached) return cached;
	const tokenKey = await crypto.subtle.importKey(
		"raw",
		encoder.encode(adminToken),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const secret = await crypto.subtle.sign("HMAC", tokenKey, encoder.encode("consent-edge admin session key v1"));
	if (secrets.size > 10) secrets.clear();
	secrets.set(adminToken, secret);
	return secret;
}

function sessionValue(now: number): string {
	const exp = Math.floor(now / 1000) + SESSION_SECONDS;
	const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(12))))
		.replace(/\+/g, "-")
		.replace(/\//g, "_");
	return `v2.${exp}.${nonce}`;
}

/** Signs in: sets a session cookie valid for SESSION_SECONDS from `now` (ms). */
export async function setSession(c: Context, adminToken: string, now = Date.now()): Promise<void> {
	await setSignedCookie(c, SESSION_COOKIE, sessionValue(now), await sessionSecret(adminToken), {
		...COOKIE_OPTIONS,
		maxAge: SESSION_SECONDS,
	});
}

/**
 * Whether the request carries a session this token signed that has not expired (hono checks the
 * signature with crypto.subtle.verify: constant time).
 */
export async function hasSession(c: Context, adminToken: string, now = Date.now()): Promise<boolean> {
	const value = await getSignedCookie(c, await sessionSecret(adminToken), SESSION_COOKIE);
	const match = typeof value === "string" ? VALUE.exec(value) : null;
	if (!match) return false;
	const exp = Number(match[1]);
	const nowSeconds = Math.floor(now / 1000);
	// A lifetime longer than any we issue would be a forgery or a clock far off: refused either way.
	return exp > nowSeconds && exp <= nowSeconds + SESSION_SECONDS + 60;
}

/** Signs out: deletes the cookie in the browser. */
export function clearSession(c: Context): void {
	deleteCookie(c, SESSION_COOKIE, COOKIE_OPTIONS);
}

/** The cookie value (as sent, URL-encoded) of a session made at `now`: for tests of old or foreign sessions. */
export async function sessionCookieValue(adminToken: string, now = Date.now()): Promise<string> {
	const header = await generateSignedCookie(SESSION_COOKIE, sessionValue(now), await sessionSecret(adminToken));
	return header.slice(SESSION_COOKIE.length + 1).split(";")[0] as string;
}
