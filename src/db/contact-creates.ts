/**
 * Contacts created with their consent already applied, many at a time (the importer's new
 * contacts): the rows, their ledger rows, idempotency keys and import receipts in one D1 batch.
 *
 * This writes around the contacts' actors, which is safe only because every contact here is new:
 * its id is a fresh random UUID no one else knows until the batch commits, so no actor exists for
 * it and no other write can name it. A contact whose externalId or address someone else took
 * meanwhile is not inserted (ON CONFLICT DO NOTHING), and its ledger rows and keys are not written
 * either (they are guarded by the row's existence); the caller applies it through the actor path.
 * Actors created later read the row (version 0) like any other.
 */
import { sql } from "drizzle-orm";
import type { LedgerRow } from "../consent/apply";
import type { ConsentState } from "../consent/types";
import type { Bindings } from "../env";
import { database, rowsOf, statement } from "./client";
import { insertLedgerRows } from "./contact-writes";
import { receiptsStatement } from "./import-receipts";
import { addressHashes } from "./suppressions";

export interface NewContact {
	/** A fresh random UUID. */
	id: string;
	externalId: string | null;
	email: string | null;
	phone: string | null;
	businessUnit: string;
	state: ConsentState;
	rows: LedgerRow[];
	/** The hash of the import line it is made from, when that line is settled on it (src/imports/receipts.ts). */
	receipt?: number | null;
}

export interface ChunkRecord {
	jobId: string;
	firstLine: number;
	/** What the chunk did (JSON), kept so that a retried job step reports the same. */
	report: unknown;
}

/**
 * Creates the contacts in one batch (one transaction). Answers the ids created and the ledger ids
 * of each, in order; the others were taken meanwhile. `chunk` is recorded in the same batch.
 */
export async function createContactsWithEvents(
	env: Bindings,
	created: readonly NewContact[],
	at: string,
	chunk: ChunkRecord | null,
): Promise<Map<string, number[]>> {
	const db = database(env);
	const contactRows = await Promise.all(
		created.map(async (contact) => {
			const hashes = await addressHashes(env, contact);
			return {
				id: contact.id,
				externalId: contact.externalId,
				email: contact.email,
				emailHash: hashes.emailHash,
				phone: contact.phone,
				phoneHash: hashes.phoneHash,
				businessUnit: contact.businessUnit,
				consent: JSON.stringify(contact.state),
			};
		}),
	);
	const ledgerRows = created.flatMap((contact) => contact.rows.map((row) => ({ ...row, contactId: contact.id })));
	const receipts = created.flatMap((contact) =>
		contact.receipt ? [{ contactId: contact.id, hash: contact.receipt, version: 0 }] : [],
	);
	const contactsJson = JSON.stringify(contactRows);
	const rowsJson = JSON.stringify(ledgerRows);
	// The contact was inserted by this batch: its id is new, so its row exists only if the insert did it.
	const inserted = sql`EXISTS (SELECT 1 FROM contacts WHERE id = r.value ->> 'contactId')`;
	const statements = [
		// `WHERE true`: without it SQLite would read ON CONFLICT as part of the SELECT's join.
		statement(
			db,
			sql`
			INSERT INTO contacts (id, external_id, email, email_hash, phone, phone_hash, business_unit, consent, created_at, updated_at)
			SELECT c.value ->> 'id', c.value ->> 'externalId', c.value ->> 'email', c.value ->> 'emailHash',
			  c.value ->> 'phone', c.value ->> 'phoneHash', c.value ->> 'businessUnit', c.value ->> 'consent', ${at}, ${at}
			FROM json_each(${contactsJson}) c WHERE true
			ON CONFLICT DO NOTHING`,
		),
		insertLedgerRows(db, rowsJson, inserted),
		statement(
			db,
			sql`
			INSERT INTO idempotency_keys (contact_id, key, created_at)
			SELECT r.value ->> 'contactId', r.value ->> 'idempotencyKey', ${at} FROM json_each(${rowsJson}) r
			WHERE r.value ->> 'idempotencyKey' IS NOT NULL AND ${inserted}
			ON CONFLICT DO NOTHING`,
		),
		rowsOf<{ id: string }>(
			db,
			sql`SELECT c.id FROM json_each(${JSON.stringify(created.map((contact) => contact.id))}) j JOIN contacts c ON c.id = j.value`,
		),
		// Version 0: the row as inserted here.
		...(receipts.length > 0 ? [receiptsStatement(env, receipts)] : []),
		...(chunk ? [chunkStatement(env, chunk)] : []),
	] as const;
	const [, ledgerIds, , present] = (await db.batch(statements as unknown as Parameters<typeof db.batch>[0])) as [
		unknown,
		Array<{ id: number; contact_id: string }>,
		unknown,
		Array<{ id: string }>,
	];
	const result = new Map<string, number[]>(present.map((row) => [row.id, []]));
	for (const row of [...ledgerIds].sort((a, b) => a.id - b.id)) result.get(row.contact_id)?.push(row.id);
	return result;
}

function chunkStatement(env: Bindings, chunk: ChunkRecord) {
	return statement(
		database(env),
		sql`INSERT INTO import_chunks (job_id, first_line, report) VALUES (${chunk.jobId}, ${chunk.firstLine}, ${JSON.stringify(chunk.report)})
			ON CONFLICT (job_id, first_line) DO UPDATE SET report = excluded.report`,
	);
}

/** Records (or corrects) a chunk of an import job on its own. */
export async function recordChunk(env: Bindings, chunk: ChunkRecord): Promise<void> {
	await chunkStatement(env, chunk);
}

/** The chunks of an import job recorded from `fromLine` on, by first line. */
export async function recordedChunks(env: Bindings, jobId: string, fromLine: number): Promise<Map<number, unknown>> {
	const rows = await database(env).all<{ first_line: number; report: string }>(
		sql`SELECT first_line, report FROM import_chunks WHERE job_id = ${jobId} AND first_line >= ${fromLine} ORDER BY first_line`,
	);
	return new Map(rows.map((row) => [row.first_line, JSON.parse(row.report)]));
}
