/** Bare addresses blocked in every business unit, before or regardless of any contact. */
import { eq } from "drizzle-orm";
import { database } from "./client";
import { blocklist } from "./schema";

export type BlockedAddress = typeof blocklist.$inferSelect;

/** Blocks an address; the entry, and whether it is new. */
export async function blockAddress(
	env: { DB: D1Database },
	address: { kind: "email" | "phone"; value: string },
): Promise<{ entry: BlockedAddress; created: boolean }> {
	const db = database(env);
	const [inserted, [entry]] = await db.batch([
		db.insert(blocklist).values({ address: address.value, kind: address.kind }).onConflictDoNothing().returning(),
		db.select().from(blocklist).where(eq(blocklist.address, address.value)),
	]);
	if (!entry) throw new Error("blocklist insert left no row");
	return { entry, created: inserted.length > 0 };
}

export async function findBlockedAddress(env: { DB: D1Database }, address: string): Promise<BlockedAddress | null> {
	const [entry] = await database(env).select().from(blocklist).where(eq(blocklist.address, address));
	return entry ?? null;
}

/** Unblocks an address; whether it was blocked. */
export async function unblockAddress(env: { DB: D1Database }, address: string): Promise<boolean> {
	const deleted = await database(env)
		.delete(blocklist)
		.where(eq(blocklist.address, address))
		.returning({ address: blocklist.address });
	return deleted.length > 0;
}
