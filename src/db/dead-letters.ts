/**
 * Queue messages that failed every retry (or could never apply), kept for an operator to inspect,
 * replay or discard, with the business unit they are about.
 */
import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import { database } from "./client";
import { deadLetters } from "./schema";

export type DeadLetter = typeof deadLetters.$inferSelect;
export type NewDeadLetter = Pick<DeadLetter, "queue" | "body" | "attempts" | "businessUnit">;

/** Dead letters a key limited to `units` may manage: those about its units (none without a unit). */
const manageableBy = (units: readonly string[] | null): SQL | undefined =>
	units ? sql`${deadLetters.businessUnit} IN (SELECT value FROM json_each(${JSON.stringify(units)}))` : undefined;

export async function storeDeadLetters(env: { DB: D1Database }, letters: NewDeadLetter[]): Promise<void> {
	if (letters.length === 0) return;
	// Rows travel as one JSON parameter: D1 binds at most 100 parameters per statement.
	await database(env).run(sql`
		INSERT INTO dead_letters (queue, body, attempts, business_unit)
		SELECT r.value ->> 'queue', json(r.value -> 'body'), r.value ->> 'attempts', r.value ->> 'businessUnit'
		FROM json_each(${JSON.stringify(letters)}) r`);
}

export async function findDeadLetters(
	env: { DB: D1Database },
	page: { after: number; limit: number },
	manager: readonly string[] | null,
): Promise<DeadLetter[]> {
	return database(env)
		.select()
		.from(deadLetters)
		.where(and(gt(deadLetters.id, page.after), manageableBy(manager)))
		.orderBy(asc(deadLetters.id))
		.limit(page.limit);
}

/** Takes a dead letter out to replay it: whoever deletes it first replays it, once. */
export async function claimDeadLetter(
	env: { DB: D1Database },
	id: number,
	manager: readonly string[] | null,
): Promise<DeadLetter | null> {
	const [row] = await database(env)
		.delete(deadLetters)
		.where(and(eq(deadLetters.id, id), manageableBy(manager)))
		.returning();
	return row ?? null;
}

/** Puts a claimed dead letter back as it was (its replay could not be queued). */
export async function restoreDeadLetter(env: { DB: D1Database }, letter: DeadLetter): Promise<void> {
	await database(env).insert(deadLetters).values(letter);
}

/** Discards a dead letter; whether there was one the manager may manage. */
export async function discardDeadLetter(
	env: { DB: D1Database },
	id: number,
	manager: readonly string[] | null,
): Promise<boolean> {
	return (await claimDeadLetter(env, id, manager)) !== null;
}
