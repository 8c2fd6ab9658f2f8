/** Mailgun webhook tokens seen recently, so a replayed signed request is refused. */
import { and, eq, lt } from "drizzle-orm";
import { database } from "./client";
import { webhookTokens } from "./schema";

/** Records a token until `expiresAt` (forgetting expired ones); false when it was seen before. */
export async function rememberToken(
	env: { DB: D1Database },
	token: { provider: string; token: string; expiresAt: string },
	now: string,
): Promise<boolean> {
	const db = database(env);
	const [, inserted] = await db.batch([
		db.delete(webhookTokens).where(lt(webhookTokens.expiresAt, now)),
		db.insert(webhookTokens).values(token).onConflictDoNothing().returning({ token: webhookTokens.token }),
	]);
	return inserted.length === 1;
}

/** Forgets a token again (its request was not queued, so the provider's retry must pass). */
export async function forgetToken(env: { DB: D1Database }, provider: string, token: string): Promise<void> {
	await database(env)
		.delete(webhookTokens)
		.where(and(eq(webhookTokens.provider, provider), eq(webhookTokens.token, token)));
}
