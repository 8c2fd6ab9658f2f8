/**
 * The admin dashboard's session cookie: `v1.<exp>.<nonce>.<mac>`, where mac is HMAC-SHA-256 over
 * `v1.<exp>.<nonce>` with a key derived from ADMIN_TOKEN. The cookie never holds the token, a
 * stolen cookie stops working at `exp` (8 hours after login), and rotating ADMIN_TOKEN ends every
 * session at once. No server-side state: logging out deletes the cookie in the browser, which is
 * what a one-operator dashboard needs (there is no session list to revoke from).
 */

export const SESSION_COOKIE = "ce_admin_session";
export const SESSION_SECONDS = 8 * 60 * 60;

const encoder = new TextEncoder();
const PATTERN = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

function base64url(bytes: Uint8Array): string {
	let binary = "";
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
	const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
	return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

// Keys, not promises of keys, are cached: workerd warns when one request awaits another's promise.
const keys = new Map<string, CryptoKey>();

/**
 * A key of its own for sessions, derived from the token (HMAC with a fixed label), so that no
 * other use of ADMIN_TOKEN as a key can ever produce a valid session MAC.
 */
async function sessionKey(adminToken: string): Promise<CryptoKey> {
	const cached = keys.get(adminToken);
	if (cached) return cached;
	const tokenKey = await crypto.subtle.importKey(
		"raw",
		encoder.encode(adminToken),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const derived = await crypto.subtle.sign("HMAC", tokenKey, encoder.encode("consent-edge admin session key v1"));
	const key = await crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, [
		"sign",
		"verify",
	]);
	if (keys.size > 10) keys.clear();
	keys.set(adminToken, key);
	return key;
}

/** A new session value, valid for SESSION_SECONDS from `now` (ms). */
export async function createSession(adminToken: string, now = Date.now()): Promise<string> {
	const exp = Math.floor(now / 1000) + SESSION_SECONDS;
	const payload = `v1.${exp}.${base64url(crypto.getRandomValues(new Uint8Array(12)))}`;
	const mac = await crypto.subtle.sign("HMAC", await sessionKey(adminToken), encoder.encode(payload));
	return `${payload}.${base64url(new Uint8Array(mac))}`;
}

/** Whether the value is a session this token signed that has not expired (the MAC check is constant time). */
export async function verifySession(adminToken: string, value: string | undefined, now = Date.now()): Promise<boolean> {
	const match = value ? PATTERN.exec(value) : null;
	if (!match?.[3] || !value) return false;
	const exp = Number(match[1]);
	const nowSeconds = Math.floor(now / 1000);
	// A lifetime longer than any we issue would be a forgery or a clock far off: refused either way.
	if (exp <= nowSeconds || exp > nowSeconds + SESSION_SECONDS + 60) return false;
	const payload = value.slice(0, value.lastIndexOf("."));
	return crypto.subtle.verify("HMAC", await sessionKey(adminToken), fromBase64url(match[3]), encoder.encode(payload));
}
