/** The consent ledger: append-only, written by the contact's actor; read here by contact. */
import { and, asc, eq, gt } from "drizzle-orm";
import { database } from "./client";
import { ledger } from "./schema";

export type LedgerRow = typeof ledger.$inferSelect;

/** A contact's ledger, oldest first, keyset-paginated by ledger id (the GDPR access export). */
export async function loadHistory(
	env: { DB: D1Database },
	contactId: string,
	cursor: string | undefined,
	limit: number,
): Promise<{ events: LedgerRow[]; nextCursor: string | null }> {
	const rows = await database(env)
		.select()
		.from(ledger)
		.where(and(eq(ledger.contactId, contactId), gt(ledger.id, Number(cursor ?? 0))))
		.orderBy(asc(ledger.id))
		.limit(limit + 1);
	const events = rows.slice(0, limit);
	return { events, nextCursor: rows.length > limit ? String(events[events.length - 1]?.id) : null };
}
