/**
 * Import receipts (src/imports/receipts.ts says what they promise): per contact, the hash of the
 * last import line it was found settled against, and its version then.
 */
import { sql } from "drizzle-orm";
import { database, runValues, statement, valuesOf } from "./client";

export interface Receipt {
	contactId: string;
	hash: number;
	version: number;
}

/**
 * Of these receipt hashes of lines in `businessUnit`, the positions whose contact is still the one
 * the receipt was kept for: at the same version, in that unit. One statement, driven by the
 * receipts' hash index; it answers positions only. (That the contact carries the line's
 * identifiers is a condition of keeping the receipt: `receiptOfUnchanged` in src/imports/importer.ts,
 * and a new contact has exactly its line's.)
 */
export async function settledLines(
	env: { DB: D1Database },
	businessUnit: string,
	hashes: readonly number[],
): Promise<number[]> {
	if (hashes.length === 0) return [];
	// One row with every position as a JSON array: a row per line would cost more to hand over.
	const [row] = await runValues(
		valuesOf<[string]>(
			database(env),
			// CROSS JOIN fixes the order: json_each drives index lookups (SQLite would otherwise scan).
			sql`SELECT json_group_array(r.key) FROM json_each(${JSON.stringify(hashes)}) r
				CROSS JOIN import_receipts ir ON ir.line_hash = r.value
				CROSS JOIN contacts c ON c.id = ir.contact_id AND c.version = ir.version
				WHERE c.business_unit = ${businessUnit}`,
		),
	);
	return row ? (JSON.parse(row[0]) as number[]) : [];
}

/**
 * Keeps these receipts, each in place of its contact's earlier one: one statement. A receipt whose
 * contact is not (or no longer) at its version is not kept.
 */
export async function keepReceipts(env: { DB: D1Database }, receipts: readonly Receipt[]): Promise<void> {
	if (receipts.length === 0) return;
	await receiptsStatement(env, receipts);
}

/** The statement of `keepReceipts`, for a caller's batch. */
export function receiptsStatement(env: { DB: D1Database }, receipts: readonly Receipt[]) {
	const values = JSON.stringify(receipts.map((r) => [r.contactId, r.hash, r.version]));
	return statement(
		database(env),
		sql`INSERT INTO import_receipts (contact_id, line_hash, version)
			SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2 FROM json_each(${values}) r
			WHERE EXISTS (SELECT 1 FROM contacts c WHERE c.id = r.value ->> 0 AND c.version = r.value ->> 2)
			ON CONFLICT (contact_id) DO UPDATE SET line_hash = excluded.line_hash, version = excluded.version`,
	);
}
