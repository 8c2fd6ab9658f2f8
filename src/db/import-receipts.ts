/**
 * Import receipts (src/imports/receipts.ts says what they promise): per contact, the hash of the
 * last import line it was found settled against, and its version then.
 */
import { sql } from "drizzle-orm";
import { database, runValues, statement, valuesOf } from "./client";

/** A line to look for: its receipt hash, business unit and the identifiers it names. */
export interface ReceiptProbe {
	hash: string;
	businessUnit: string;
	externalId: string | null;
	email: string | null;
	phone: string | null;
}

export interface Receipt {
	contactId: string;
	hash: string;
	version: number;
}

/**
 * The positions of the probes whose contact is still the one their receipt was made for: same
 * hash, same version, in the line's unit, carrying every identifier the line names. One statement,
 * driven by the receipts' hash index; it answers positions only.
 */
export async function settledLines(env: { DB: D1Database }, probes: readonly ReceiptProbe[]): Promise<Set<number>> {
	if (probes.length === 0) return new Set();
	const values = JSON.stringify(probes.map((p) => [p.hash, p.businessUnit, p.externalId, p.email, p.phone]));
	const rows = await runValues(
		valuesOf<[number]>(
			database(env),
			// CROSS JOIN fixes the order: json_each drives index lookups (SQLite would otherwise scan).
			sql`SELECT r.key FROM json_each(${values}) r
				CROSS JOIN import_receipts ir ON ir.line_hash = r.value ->> 0
				CROSS JOIN contacts c ON c.id = ir.contact_id AND c.version = ir.version
				WHERE c.business_unit = r.value ->> 1
				  AND (r.value ->> 2 IS NULL OR c.external_id = r.value ->> 2)
				  AND (r.value ->> 3 IS NULL OR c.email = r.value ->> 3)
				  AND (r.value ->> 4 IS NULL OR c.phone = r.value ->> 4)`,
		),
	);
	return new Set(rows.map(([position]) => position));
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
