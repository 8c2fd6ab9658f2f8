/**
 * Where suppressions are kept: an address only as HMAC-SHA-256(pepper, normalized
 * address), so nobody can list who left, and the pepper is needed to test an address. The rules
 * (which reasons deny what, what ends a suppression) are in src/consent/suppression.ts.
 *
 * Every change leaves a ledger row under the pseudonymous subject `suppression:<hash>`: event
 * `Suppress` or `Unsuppress`, the source, and the reasons before and after.
 */
import type { AddressKind, SuppressionReason } from "../consent/suppression";
import type { Bindings } from "../env";
import { hexEncode, utf8 } from "../webhooks/crypto";

// The imported key, made once per pepper and isolate: a batch check hashes thousands of addresses.
let cachedKey: { pepper: string; key: CryptoKey } | null = null;
// Hashes already made in this isolate, at most HASH_CACHE_SIZE (the oldest go first): senders check
// the same audience campaign after campaign, and a hash never changes for one pepper.
const HASH_CACHE_SIZE = 50_000;
const hashCache = new Map<string, string>();

async function pepperKey(env: Bindings): Promise<CryptoKey> {
	const pepper = env.SUPPRESSION_PEPPER?.trim();
	if (!pepper) throw new Error("SUPPRESSION_PEPPER is not set");
	if (cachedKey?.pepper !== pepper) {
		const key = await crypto.subtle.importKey("raw", utf8(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		cachedKey = { pepper, key };
		hashCache.clear();
	}
	return cachedKey.key;
}

async function hashWith(key: CryptoKey, text: string): Promise<string> {
	const cached = hashCache.get(text);
	if (cached !== undefined) return cached;
	const hash = hexEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(text))));
	if (hashCache.size >= HASH_CACHE_SIZE) hashCache.delete(hashCache.keys().next().value as string);
	hashCache.set(text, hash);
	return hash;
}

/** The keyed hash of a text when this isolate made it already (null otherwise): no work at all. */
export function cachedHash(env: Bindings, text: string): string | null {
	if (cachedKey === null || cachedKey.pepper !== env.SUPPRESSION_PEPPER?.trim()) return null;
	return hashCache.get(text) ?? null;
}

/** A keyed hash of a text that must not be stored as it is (an address, an id that embeds one). */
export async function keyedHash(env: Bindings, text: string): Promise<string> {
	return hashWith(await pepperKey(env), text);
}

/** The stored form of a normalized email or E.164 phone. */
export const suppressionHash = keyedHash;

export async function keyedHashes(env: Bindings, texts: readonly string[]): Promise<string[]> {
	if (texts.length === 0) return [];
	const key = await pepperKey(env);
	return Promise.all(texts.map((text) => hashWith(key, text)));
}

/**
 * The keyed hashes a contact row keeps of its own addresses, so that consent checks reach the
 * address's suppression in SQL without hashing anything.
 */
export async function addressHashes(
	env: Bindings,
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

/** Suppressions by hash: one statement, whatever their number. */
export async function findSuppressionsByHash(
	env: Bindings,
	hashes: readonly string[],
): Promise<Map<string, Suppression>> {
	if (hashes.length === 0) return new Map();
	const { results } = await env.DB.prepare(
		"SELECT hash, reasons, created_at FROM suppressions WHERE hash IN (SELECT value FROM json_each(?))",
	)
		.bind(JSON.stringify([...new Set(hashes)]))
		.all<{ hash: string; reasons: string; created_at: string }>();
	return new Map(results.map((row) => [row.hash, { reasons: JSON.parse(row.reasons), since: row.created_at }]));
}

/** Which of these normalized addresses are suppressed, with their suppressions. */
export async function findSuppressions(env: Bindings, addresses: readonly string[]): Promise<Map<string, Suppression>> {
	const unique = [...new Set(addresses)];
	const hashes = await keyedHashes(env, unique);
	const found = await findSuppressionsByHash(env, hashes);
	const byAddress = new Map<string, Suppression>();
	unique.forEach((address, index) => {
		const suppression = found.get(hashes[index] as string);
		if (suppression) byAddress.set(address, suppression);
	});
	return byAddress;
}

/** Which of these normalized addresses are suppressed. */
export async function findSuppressed(env: Bindings, addresses: readonly string[]): Promise<Set<string>> {
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
const REASON_ORDER = "instr('opted_out complaint bounced blocked', value)";

/**
 * Statements that add (or extend the reasons of) suppressions and write their ledger rows; for a
 * caller's D1 batch, so they land with whatever made them (an erasure).
 */
export function addSuppressionStatements(db: D1Database, entries: SuppressionEntry[], change: SuppressionChange) {
	const rows = JSON.stringify(entries.map((entry) => ({ ...entry, subject: suppressionSubject(entry.hash) })));
	return [
		// The ledger row first: it reads the reasons before the change.
		db
			.prepare(
				`INSERT INTO ledger (contact_id, event, changes, changed, properties, source, reason, ip, user_agent,
				   occurred_at, received_at)
				 SELECT r.value ->> 'subject', 'Suppress',
				   json_array(json_object('field', 'suppression.' || (r.value ->> 'kind'),
				     'from', (SELECT json(s.reasons) FROM suppressions s WHERE s.hash = r.value ->> 'hash'),
				     'to', json(r.value -> 'reasons'))),
				   1, '{}', ?2, (r.value -> 'reasons') ->> 0, ?3, ?4, ?5, ?5
				 FROM json_each(?1) r`,
			)
			.bind(rows, change.source, change.ip, change.userAgent, change.at),
		db
			.prepare(
				`INSERT INTO suppressions (hash, kind, reasons, created_at)
				 SELECT r.value ->> 'hash', r.value ->> 'kind', json(r.value -> 'reasons'), ?2 FROM json_each(?1) r WHERE true
				 ON CONFLICT (hash) DO UPDATE SET reasons = (
				   SELECT json_group_array(value) FROM (
				     SELECT value FROM (
				       SELECT value FROM json_each(suppressions.reasons) UNION SELECT value FROM json_each(excluded.reasons))
				     ORDER BY ${REASON_ORDER}))`,
			)
			.bind(rows, change.at),
	];
}

/** Statements that end suppressions (when they exist) and write their ledger rows. */
export function removeSuppressionStatements(db: D1Database, hashes: string[], change: SuppressionChange) {
	const subjects = JSON.stringify(hashes.map((hash) => ({ hash, subject: suppressionSubject(hash) })));
	return [
		db
			.prepare(
				`INSERT INTO ledger (contact_id, event, changes, changed, properties, source, ip, user_agent,
				   occurred_at, received_at)
				 SELECT r.value ->> 'subject', 'Unsuppress',
				   json_array(json_object('field', 'suppression.' || s.kind, 'from', json(s.reasons), 'to', NULL)),
				   1, '{}', ?2, ?3, ?4, ?5, ?5
				 FROM json_each(?1) r JOIN suppressions s ON s.hash = r.value ->> 'hash'`,
			)
			.bind(subjects, change.source, change.ip, change.userAgent, change.at),
		db.prepare("DELETE FROM suppressions WHERE hash IN (SELECT value ->> 'hash' FROM json_each(?))").bind(subjects),
	];
}
