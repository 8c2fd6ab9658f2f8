import type { MiddlewareHandler } from "hono";
import { getConfig } from "../env";
import { ApiError } from "./errors";
import type { AppEnv } from "./router";

export const SCOPES = [
	"consent:read",
	"contacts:read",
	"contacts:write",
	"events:write",
	"links:write",
	"reports:read",
	"admin",
] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
	/** "admin-token" for the deployment secret, else the API key's id. */
	keyId: string;
	scopes: ReadonlySet<Scope>;
	/** null: every business unit. */
	businessUnits: readonly string[] | null;
}

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
	return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// Digests of expected secrets, made once per isolate: only the presented secret is hashed per request.
// The digests are kept, not their promises: workerd warns when one request awaits another's promise.
const expectedDigests = new Map<string, ArrayBuffer>();

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export async function secretsEqual(given: string, expected: string): Promise<boolean> {
	let expectedDigest = expectedDigests.get(expected);
	if (!expectedDigest) {
		expectedDigest = await crypto.subtle.digest("SHA-256", encoder.encode(expected));
		expectedDigests.set(expected, expectedDigest);
	}
	const givenDigest = await crypto.subtle.digest("SHA-256", encoder.encode(given));
	return crypto.subtle.timingSafeEqual(givenDigest, expectedDigest);
}

// API keys are looked up by their SHA-256; the lookup is cached briefly per isolate so a consent
// check does not pay a D1 query for its key. A revocation reaches other isolates within this time.
const KEY_CACHE_MS = 10_000;
const keyCache = new Map<string, { principal: Principal | null; expires: number }>();

export function forgetCachedKeys(): void {
	keyCache.clear();
}

async function principalFor(token: string, env: AppEnv["Bindings"]): Promise<Principal | null> {
	const adminToken = getConfig(env).adminToken;
	if (adminToken && (await secretsEqual(token, adminToken))) {
		return { keyId: "admin-token", scopes: new Set(SCOPES), businessUnits: null };
	}
	if (!token.startsWith("ce_")) return null;
	const hash = await sha256Hex(token);
	const cached = keyCache.get(hash);
	if (cached && cached.expires > Date.now()) return cached.principal;
	const row = await env.DB.prepare(
		"SELECT id, scopes, business_units FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
	)
		.bind(hash)
		.first<{ id: string; scopes: string; business_units: string | null }>();
	const principal: Principal | null = row
		? {
				keyId: row.id,
				scopes: new Set(JSON.parse(row.scopes) as Scope[]),
				businessUnits: row.business_units ? (JSON.parse(row.business_units) as string[]) : null,
			}
		: null;
	if (keyCache.size > 1000) keyCache.clear();
	keyCache.set(hash, { principal, expires: Date.now() + KEY_CACHE_MS });
	return principal;
}

/** Authenticates the bearer key and requires `scope` (the `admin` scope holds every scope). */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const header = c.req.header("authorization") ?? "";
		const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
		const principal = match?.[1] ? await principalFor(match[1], c.env) : null;
		if (!principal)
			throw new ApiError(401, "UNAUTHORIZED", "A valid API key is required: Authorization: Bearer <key>.");
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
