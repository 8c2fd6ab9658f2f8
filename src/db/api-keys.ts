/** API keys: stored as the SHA-256 of the key, with scopes and business units. */
import { and, desc, eq, isNull, type SQL, sql } from "drizzle-orm";
import { database } from "./client";
import { apiKeys } from "./schema";

/** A key as listed (never the key itself, nor its hash). */
export const keyColumns = {
	id: apiKeys.id,
	name: apiKeys.name,
	scopes: apiKeys.scopes,
	businessUnits: apiKeys.businessUnits,
	createdAt: apiKeys.createdAt,
	revokedAt: apiKeys.revokedAt,
};

export type ApiKey = { [K in keyof typeof keyColumns]: (typeof apiKeys.$inferSelect)[K] };

/**
 * Keys a key limited to `units` may manage: only keys limited to some of those units (the scope
 * rule: keys without limits, and keys reaching other units, need an unlimited key).
 */
function manageableBy(units: readonly string[] | null): SQL | undefined {
	if (!units) return undefined;
	return sql`${apiKeys.businessUnits} IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM json_each(${apiKeys.businessUnits}) u WHERE u.value NOT IN (SELECT value FROM json_each(${JSON.stringify(units)})))`;
}

export async function insertApiKey(
	env: { DB: D1Database },
	key: { name: string; keyHash: string; scopes: string[]; businessUnits: string[] | null },
): Promise<ApiKey> {
	const [row] = await database(env)
		.insert(apiKeys)
		.values({ id: crypto.randomUUID(), ...key })
		.returning(keyColumns);
	if (!row) throw new Error("api key was not written");
	return row;
}

export async function listApiKeys(env: { DB: D1Database }, manager: readonly string[] | null): Promise<ApiKey[]> {
	return database(env).select(keyColumns).from(apiKeys).where(manageableBy(manager)).orderBy(desc(apiKeys.createdAt));
}

/** Revokes a key the manager may manage; whether there was one (not revoked yet). */
export async function revokeApiKey(
	env: { DB: D1Database },
	id: string,
	manager: readonly string[] | null,
): Promise<boolean> {
	const revoked = await database(env)
		.update(apiKeys)
		.set({ revokedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` })
		.where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt), manageableBy(manager)))
		.returning({ id: apiKeys.id });
	return revoked.length > 0;
}

/** The live key with this hash. */
export async function findLiveKey(
	env: { DB: D1Database },
	keyHash: string,
): Promise<{ id: string; scopes: string[]; businessUnits: string[] | null } | null> {
	const [row] = await database(env)
		.select({ id: apiKeys.id, scopes: apiKeys.scopes, businessUnits: apiKeys.businessUnits })
		.from(apiKeys)
		.where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
	return row ?? null;
}
