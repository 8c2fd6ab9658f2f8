import type { Context, MiddlewareHandler } from "hono";
import { digestMatches, hexEncode, secretsEqual, sha256, sha256Hex } from "../crypto";
import { findLiveKey } from "../db/api-keys";
import { getConfig } from "../env";
import { ApiError } from "./errors";
import { type Principal, SCOPES, type Scope } from "./principal";
import type { AppEnv } from "./router";

export { type Principal, SCOPES, type Scope } from "./principal";

// API keys are looked up by their SHA-256; the lookup is cached briefly per isolate so a consent
// check does not pay a D1 query for its key. A revocation reaches other isolates within this time.
const KEY_CACHE_MS = 10_000;
const keyCache = new Map<string, { principal: Principal | null; expires: number }>();

export { secretsEqual, sha256Hex };

export function forgetCachedKeys(): void {
	keyCache.clear();
}

async function principalFor(token: string, env: AppEnv["Bindings"]): Promise<Principal | null> {
	// One digest of the presented token: compared with the admin token's, and an API key's lookup key.
	const digest = await sha256(token);
	const adminToken = getConfig(env).adminToken;
	if (adminToken && (await digestMatches(digest, adminToken))) {
		return { keyId: "admin-token", scopes: new Set(SCOPES), businessUnits: null };
	}
	if (!token.startsWith("ce_")) return null;
	const hash = hexEncode(new Uint8Array(digest));
	const cached = keyCache.get(hash);
	if (cached && cached.expires > Date.now()) return cached.principal;
	const row = await findLiveKey(env, hash);
	const principal: Principal | null = row
		? { keyId: row.id, scopes: new Set(row.scopes as Scope[]), businessUnits: row.businessUnits }
		: null;
	if (keyCache.size > 1000) keyCache.clear();
	keyCache.set(hash, { principal, expires: Date.now() + KEY_CACHE_MS });
	return principal;
}

/** The header CrossEngage clients send their key in; the compatible routes take the key from it too. */
export const XNG_AUTH_HEADER = "X-XNG-AuthToken";

export interface KeySources {
	/** Also take the key from `X-XNG-AuthToken` when there is no `Authorization` header. */
	xngAuthToken?: boolean;
}

/**
 * The key a request presents: `Authorization: Bearer <key>`, or (where allowed) the bare key in
 * `X-XNG-AuthToken`. An `Authorization` header, when present, is the one that counts, so a
 * request never gets a second chance with another header.
 */
function presentedKey(c: Context<AppEnv>, sources: KeySources): string | null {
	const authorization = c.req.header("authorization");
	if (authorization !== undefined || !sources.xngAuthToken) {
		return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1] ?? null;
	}
	const token = c.req.header(XNG_AUTH_HEADER)?.trim();
	return token && !/\s/.test(token) ? token : null;
}

/**
 * Authenticates the key and requires `scope` (the `admin` scope holds every scope). The key comes
 * as a bearer token; `sources` may allow the CrossEngage header as well.
 */
export function requireScope(scope: Scope, sources: KeySources = {}): MiddlewareHandler<AppEnv> {
	const expected = sources.xngAuthToken
		? `A valid API key is required: Authorization: Bearer <key>, or ${XNG_AUTH_HEADER}: <key>.`
		: "A valid API key is required: Authorization: Bearer <key>.";
	return async (c, next) => {
		const token = presentedKey(c, sources);
		const principal = token ? await principalFor(token, c.env) : null;
		if (!principal) throw new ApiError(401, "UNAUTHORIZED", expected);
		if (!principal.scopes.has(scope) && !principal.scopes.has("admin")) {
			throw new ApiError(403, "FORBIDDEN", `This key lacks the "${scope}" scope.`);
		}
		c.set("principal", principal);
		await next();
	};
}

export function assertBusinessUnit(principal: Principal, businessUnit: string): void {
	if (principal.businessUnits && !principal.businessUnits.includes(businessUnit)) {
		throw new ApiError(403, "FORBIDDEN", `This key may not use business unit "${businessUnit}".`);
	}
}

export function assertAllBusinessUnits(principal: Principal): void {
	if (principal.businessUnits) {
		throw new ApiError(403, "FORBIDDEN", "This action spans every business unit; the key is limited to some.");
	}
}
