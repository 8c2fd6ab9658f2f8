/**
 * Where suppressions are kept: an address only as its keyed hash (src/crypto.ts), with its
 * reasons and since when. The rules (which reasons deny what, what ends a suppression) are in
 * src/consent/suppression.ts.
 *
 * Every change leaves a ledger row under the pseudonymous subject `suppression:<hash>`: event
 * `Suppress` or `Unsuppress`, the source, and the reasons before and after.
 */
import { type SQL, sql } from "drizzle-orm";
import type { AddressKind, SuppressionReason } from "../consent/suppression";
import { keyedHash, keyedHashes, type PepperEnv } from "../crypto";
import { type Database, database, statement } from "./client";
import { suppressions } from "./schema";

/** The stored form of a normalized email or E.164 phone. */
export const suppressionHash = keyedHash;

/**
 * The keyed hashes a contact row keeps of its own addresses, so that consent checks reach the
 * address's suppression in SQL without hashing anything.
 */
export async function addressHashes(
	env: PepperEnv,
	addresses: { email: string | null; phone: string | null },
): Promise<{ emailHash: string | null; phoneHash: string | null }> {
	const [emailHash, phoneHash] = await Promise.all([
		addresses.email ? keyedHash(env, addresses.email) : null,
		addresses.phone ? keyedHash(env, addresses.phone) : null,
	]);
	return { emailHash, phoneHash };
}

/** The ledger subject of a suppression: pseudonymous, no contact id. */
export const suppressionSubject = (hash: string) => `suppression:${hash}`;

export interface Suppression {
	reasons: SuppressionReason[];
	since: string;
}

/**
 * Suppressions by hash: one statement, whatever their number. Read on the primary, or through `db`
 * (a session of `readDatabase`, for consent checks).
 */
export async function findSuppressionsByHash(
	env: { DB: D1Database },
	hashes: readonly string[],
	db: Database = database(env),
): Promise<Map<string, Suppression>> {
	if (hashes.length === 0) return new Map();
	const rows = await db
		.select({ hash: suppressions.hash, reasons: suppressions.reasons, since: suppressions.createdAt })
		.from(suppressions)
		.where(sql`${suppressions.hash} IN (SELECT value FROM json_each(${JSON.stringify([...new Set(hashes)])}))`);
	return new Map(rows.map((row) => [row.hash, { reasons: row.reasons as SuppressionReason[], since: row.since }]));
}

/** Which of these normalized addresses are suppressed, with their suppressions (`db`: as above). */
export async function findSuppressions(
	env: PepperEnv & { DB: D1Database },
	addresses: readonly string[],
	db?: Database,
): Promise<Map<string, Suppression>> {
	if (addresses.length === 0) return new Map();
	const unique = [...new Set(addresses)];
	const hashes = await keyedHashes(env, unique);
	const found = await findSuppressionsByHash(env, hashes, db);
	const byAddress = new Map<string, Suppression>();
	unique.forEach((address, index) => {
		const suppression = found.get(hashes[index] as string);
		if (suppression) byAddress.set(address, suppression);
	});
	return byAddress;
}

/** Which of these normalized addresses are suppressed. */
export async function findSuppressed(
	env: PepperEnv & { DB: D1Database },
	addresses: readonly string[],
): Promise<Set<string>> {
	return new Set((await findSuppressions(env, addresses)).keys());
}

export interface SuppressionEntry {
	hash: string;
	kind: AddressKind;
	reasons: SuppressionReason[];
}

export interface SuppressionChange {
	source: string;
	ip: string | null;
	userAgent: string | null;
	at: string;
}

// Reasons in their canonical order (SUPPRESSION_REASONS), for merging in SQL.
const REASON_ORDER = sql.raw("instr('opted_out complaint bounced blocked', value)");

/**
 * Statements that add (or extend the reasons of) suppressions and write their ledger rows; for a
 * caller's batch, so they land with whatever made them (an erasure).
 */
export function addSuppressionStatements(db: Database, entries: SuppressionEntry[], change: SuppressionChange) {
	const rows = JSON.stringify(entries.map((entry) => ({ ...entry, subject: suppressionSubject(entry.hash) })));
	return [
		// The ledger row first: it reads the reasons before the change.
		statement(
			db,
			sql`
			INSERT INTO ledger (contact_id, event, changes, changed, properties, source, reason, ip, user_agent,
			  occurred_at, received_at)
			SELECT r.value ->> 'subject', 'Suppress',
			  json_array(json_object('field', 'suppression.' || (r.value ->> 'kind'),
			    'from', (SELECT json(s.reasons) FROM suppressions s WHERE s.hash = r.value ->> 'hash'),
			    'to', json(r.value -> 'reasons'))),
			  1, '{}', ${change.source}, (r.value -> 'reasons') ->> 0, ${change.ip}, ${change.userAgent}, ${change.at},
			  ${change.at}
			FROM json_each(${rows}) r`,
		),
		statement(
			db,
			sql`
			INSERT INTO suppressions (hash, kind, reasons, created_at)
			SELECT r.value ->> 'hash', r.value ->> 'kind', json(r.value -> 'reasons'), ${change.at} FROM json_each(${rows}) r
			WHERE true
			ON CONFLICT (hash) DO UPDATE SET reasons = (
			  SELECT json_group_array(value) FROM (
			    SELECT value FROM (
			      SELECT value FROM json_each(suppressions.reasons) UNION SELECT value FROM json_each(excluded.reasons))
			    ORDER BY ${REASON_ORDER}))`,
		),
	] as const;
}

/**
 * Statements that end suppressions (when they exist) and write their ledger rows; in a caller's
 * batch, `when` makes them depend on what the batch wrote before them.
 */
export function removeSuppressionStatements(
	db: Database,
	hashes: string[],
	change: SuppressionChange,
	when: SQL = sql`true`,
) {
	const subjects = JSON.stringify(hashes.map((hash) => ({ hash, subject: suppressionSubject(hash) })));
	return [
		statement(
			db,
			sql`
			INSERT INTO ledger (contact_id, event, changes, changed, properties, source, ip, user_agent,
			  occurred_at, received_at)
			SELECT r.value ->> 'subject', 'Unsuppress',
			  json_array(json_object('field', 'suppression.' || s.kind, 'from', json(s.reasons), 'to', NULL)),
			  1, '{}', ${change.source}, ${change.ip}, ${change.userAgent}, ${change.at}, ${change.at}
			FROM json_each(${subjects}) r JOIN suppressions s ON s.hash = r.value ->> 'hash' WHERE ${when}`,
		),
		statement(
			db,
			sql`DELETE FROM suppressions WHERE hash IN (SELECT value ->> 'hash' FROM json_each(${subjects})) AND ${when}`,
		),
	] as const;
}

/** Adds (or extends) suppressions, with their ledger rows, in one batch. */
export async function addSuppressions(env: { DB: D1Database }, entries: SuppressionEntry[], change: SuppressionChange) {
	if (entries.length === 0) return;
	const db = database(env);
	await db.batch(addSuppressionStatements(db, entries, change));
}

/** Ends suppressions, with their ledger rows, in one batch; how many there were. */
export async function removeSuppressions(
	env: { DB: D1Database },
	hashes: string[],
	change: SuppressionChange,
): Promise<number> {
	const db = database(env);
	const [, removed] = await db.batch(removeSuppressionStatements(db, hashes, change));
	return removed.meta.changes;
}
