/**
 * The statements of the contact's actor (src/contacts/contact-actor.ts), the only writer of a
 * contact's consent: what it reads before applying events, the one batch that records them, the
 * profile update and the erasure.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { LedgerRow } from "../consent/apply";
import { ERASED, ERASED_EVENT, KNOWN_EVENT_NAMES, KNOWN_REASON_CODES } from "../consent/erasure";
import { PREFERENCE_EVENTS } from "../consent/reducer";
import type { Channel, ConsentEvent, ConsentState, Source } from "../consent/types";
import type { Bindings } from "../env";
import { type Database, database, rowsOf, statement, writeSession } from "./client";
import { type Contact, contactColumns } from "./contacts";
import { contacts, idempotencyKeys, importReceipts, ledger } from "./schema";
import {
	addressHashes,
	addSuppressionStatements,
	removeSuppressionStatements,
	type SuppressionChange,
	type SuppressionEntry,
} from "./suppressions";

/**
 * What a guarded write found instead of the version it was made over: `stale` (someone wrote the
 * contact since, or one of the idempotency keys was applied before) or `gone` (erased).
 */
export type GuardedMiss = "stale" | "gone";

export async function readContact(env: Bindings, contactId: string): Promise<Contact | null> {
	const [row] = await database(env).select(contactColumns).from(contacts).where(eq(contacts.id, contactId));
	return row ?? null;
}

/** The contact and which of these idempotency keys it has seen: one D1 batch. */
export async function readForApply(
	env: Bindings,
	contactId: string,
	keys: string[],
): Promise<{ contact: Contact; seen: Set<string> } | null> {
	const db = database(env);
	const [[contact], seen] = await db.batch([
		db.select(contactColumns).from(contacts).where(eq(contacts.id, contactId)),
		db
			.select({ key: idempotencyKeys.key })
			.from(idempotencyKeys)
			.where(
				and(
					eq(idempotencyKeys.contactId, contactId),
					sql`${idempotencyKeys.key} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`,
				),
			),
	]);
	return contact ? { contact, seen: new Set(seen.map((row) => row.key)) } : null;
}

/** The contact's preference events as the ledger recorded them, in arrival order. */
export async function readPreferenceHistory(env: Bindings, contactId: string): Promise<ConsentEvent[]> {
	const rows = await database(env)
		.select({
			event: ledger.event,
			channel: ledger.channel,
			topic: ledger.topic,
			properties: ledger.properties,
			occurredAt: ledger.occurredAt,
		})
		.from(ledger)
		.where(
			and(
				eq(ledger.contactId, contactId),
				sql`${ledger.event} IN (SELECT value FROM json_each(${JSON.stringify([...PREFERENCE_EVENTS])}))`,
			),
		)
		.orderBy(ledger.id);
	return rows.map((row) => ({ ...row, channel: row.channel as Channel | null }));
}

/**
 * Records applied events in one batch (one transaction, all or nothing), written over the contact
 * version the actor read: the new state with the next version (and the contact's address hashes:
 * rows written before contacts kept them get them on their next write), the ledger rows, the
 * idempotency keys, and the ends of suppressions the events brought. Rows travel as one JSON
 * parameter because D1 binds at most 100 parameters per statement.
 *
 * No read comes first. If the contact was written since (the version trigger aborts the update) or
 * a key was applied before (its primary key refuses the insert), the whole batch rolls back and the
 * answer is `stale`: the actor reloads and applies again. Returns the new ledger ids, in order, and
 * the D1 bookmark of the write (the batch runs on a session of its own: a read that sends the
 * bookmark back sees it; null where D1 gives none).
 */
export async function writeApplied(
	env: Bindings,
	input: {
		contact: Contact;
		state: ConsentState;
		updatedAt: string;
		rows: LedgerRow[];
		endedSuppressions: string[];
		ended: SuppressionChange;
	},
): Promise<{ ledgerIds: number[]; version: number; bookmark: string | null } | GuardedMiss> {
	const { db, bookmark } = writeSession(env);
	const { contact } = input;
	const version = contact.version + 1;
	const hashes = await addressHashes(env, contact);
	const rows = JSON.stringify(input.rows.map((row) => ({ ...row, contactId: contact.id })));
	// Later statements write only when the update did: the trigger aborts a stale one, and a contact
	// erased meanwhile has no row to update.
	const written = sql`EXISTS (SELECT 1 FROM contacts WHERE id = ${contact.id} AND version = ${version})`;
	try {
		const [updated, inserted] = await db.batch([
			db
				.update(contacts)
				.set({ consent: input.state, updatedAt: input.updatedAt, version, ...hashes })
				.where(eq(contacts.id, contact.id)),
			insertLedgerRows(db, rows, written),
			// No ON CONFLICT: a key applied before fails the batch (see above).
			statement(
				db,
				sql`
				INSERT INTO idempotency_keys (contact_id, key, created_at)
				SELECT ${contact.id}, r.value ->> 'idempotencyKey', ${input.updatedAt} FROM json_each(${rows}) r
				WHERE r.value ->> 'idempotencyKey' IS NOT NULL AND ${written}`,
			),
			...(input.endedSuppressions.length > 0
				? removeSuppressionStatements(db, input.endedSuppressions, input.ended, written)
				: []),
		]);
		if (updated.meta.changes !== 1) return "gone";
		return {
			ledgerIds: (inserted as Array<{ id: number }>).map((row) => row.id).sort((a, b) => a - b),
			version,
			bookmark: bookmark(),
		};
	} catch (error) {
		if (isStaleWrite(error)) return "stale";
		throw error;
	}
}

/**
 * Inserts ledger rows (a JSON array of LedgerRow, each with its `contactId`) where `guard` holds
 * (it may refer to the row as `r`), in array order; answers their ids and contacts.
 */
export function insertLedgerRows(db: Database, rowsJson: string, guard: SQL) {
	return rowsOf<{ id: number; contact_id: string }>(
		db,
		sql`
		INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, reason,
		  feedback, ip, user_agent, campaign, idempotency_key, occurred_at, received_at)
		SELECT r.value ->> 'contactId', r.value ->> 'event', r.value ->> 'channel', r.value ->> 'topic', r.value ->> 'changes',
		  json_array_length(r.value -> 'changes') > 0, r.value ->> 'properties', r.value ->> 'source',
		  r.value ->> 'reason', r.value ->> 'feedback', r.value ->> 'ip', r.value ->> 'userAgent', r.value ->> 'campaign',
		  r.value ->> 'idempotencyKey', r.value ->> 'occurredAt', r.value ->> 'receivedAt'
		FROM json_each(${rowsJson}) r WHERE ${guard} ORDER BY r.key
		RETURNING id, contact_id`,
	);
}

/** D1's error for a write over an old version, or for an idempotency key applied before. */
function isStaleWrite(error: unknown): boolean {
	// drizzle wraps D1's error (whose message names the cause) with the query text.
	const text = `${String((error as { cause?: unknown }).cause ?? "")} ${String(error)}`;
	return text.includes("contact version conflict") || text.includes("UNIQUE constraint failed: idempotency_keys");
}

export type ProfileUpdate =
	/** `bookmark`: of the write, as writeApplied's. */
	| { ok: true; contact: Contact; bookmark?: string | null }
	| { ok: false; conflict: "external_id" | "identity" | "gone" };

/**
 * Writes a contact's identity and traits over the version it was read at (`stale` when it was
 * written since); a unique index taken answers which one. On a session of its own, as writeApplied.
 */
export async function writeProfile(
	env: Bindings,
	current: Pick<Contact, "id" | "version">,
	next: Pick<Contact, "externalId" | "email" | "phone" | "businessUnit" | "traits">,
): Promise<ProfileUpdate | { ok: false; conflict: "stale" }> {
	try {
		const hashes = await addressHashes(env, next);
		const { db, bookmark } = writeSession(env);
		const [row] = await db
			.update(contacts)
			.set({
				...next,
				...hashes,
				version: current.version + 1,
				updatedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
			})
			.where(eq(contacts.id, current.id))
			.returning(contactColumns);
		return row ? { ok: true, contact: row, bookmark: bookmark() } : { ok: false, conflict: "gone" };
	} catch (error) {
		if (isStaleWrite(error)) return { ok: false, conflict: "stale" };
		// drizzle wraps D1's error (whose message names the columns of the index) with the query text.
		const taken = /UNIQUE constraint failed: ([\w., ]+)/.exec(
			`${String((error as { cause?: unknown }).cause ?? "")} ${String(error)}`,
		)?.[1];
		if (taken) return { ok: false, conflict: taken.includes("external_id") ? "external_id" : "identity" };
		throw error;
	}
}

/** What erasing a contact must know besides the contact itself. */
export interface ErasureFacts {
	/** Channels with a spam complaint in the contact's ledger. */
	complainedOn: Set<Channel>;
	/** Its addresses on the bare-address blocklist. */
	blocklisted: Set<string>;
	/** Provider events about its addresses that never applied (dead letters). */
	unapplied: Array<{ action: string | null; list: string | null; channel: Channel | null }>;
}

/** Dead letters about a contact: outbound messages by its id, provider events by its addresses. */
function deadLettersOf(contact: Contact) {
	const recipients = [contact.email, contact.phone, contact.phone && `whatsapp:${contact.phone}`].filter(Boolean);
	return sql`json_valid(body) AND (json_extract(body, '$.event.contact.id') = ${contact.id}
		OR lower(trim(json_extract(body, '$.event.recipient'))) IN (SELECT value FROM json_each(${JSON.stringify(recipients)})))`;
}

export async function readErasureFacts(env: Bindings, contact: Contact): Promise<ErasureFacts> {
	const db = database(env);
	const [complaints, blocked, failed] = await db.batch([
		rowsOf<{ channel: Channel }>(
			db,
			sql`SELECT DISTINCT coalesce(channel, 'email') AS channel FROM ledger WHERE contact_id = ${contact.id} AND event = 'Complaint'`,
		),
		rowsOf<{ address: string }>(
			db,
			sql`SELECT address FROM blocklist WHERE address IN (SELECT value FROM json_each(${JSON.stringify([contact.email, contact.phone].filter(Boolean))}))`,
		),
		rowsOf<{ action: string | null; list: string | null; channel: Channel | null }>(
			db,
			sql`
			SELECT json_extract(body, '$.event.action.kind') AS action, json_extract(body, '$.event.action.list') AS list,
			  json_extract(body, '$.event.channel') AS channel
			FROM dead_letters WHERE ${deadLettersOf(contact)}`,
		),
	]);
	return {
		complainedOn: new Set(complaints.map((row) => row.channel)),
		blocklisted: new Set(blocked.map((row) => row.address)),
		unapplied: failed,
	};
}

/**
 * The erasure in one batch: suppressions kept, the contact's ledger rows scrubbed of everything a
 * person or provider could have written freely (and the IP and user agent on its addresses'
 * suppression rows), its idempotency keys, import receipt, row, blocklist entries and dead letters deleted, and an
 * `Erase` row added. Returns the Erase row's id.
 */
export async function eraseContactRows(
	env: Bindings,
	input: {
		contact: Contact;
		suppress: SuppressionEntry[];
		suppressionSubjects: string[];
		blocklisted: string[];
		properties: Record<string, unknown>;
		/** The `Erase` row's source: who asked (the suppressions it adds keep `erasure`). */
		source: Source;
		at: string;
	},
): Promise<number> {
	const db = database(env);
	const { contact } = input;
	const change: SuppressionChange = { source: "erasure", ip: null, userAgent: null, at: input.at };
	const results = await db.batch([
		statement(
			db,
			sql`
			UPDATE ledger SET ip = NULL, user_agent = NULL, feedback = NULL, properties = '{}', idempotency_key = NULL,
			  reason = CASE WHEN reason IS NULL OR reason IN (SELECT value FROM json_each(${JSON.stringify(KNOWN_REASON_CODES)}))
			    THEN reason ELSE ${ERASED} END,
			  event = CASE WHEN event IN (SELECT value FROM json_each(${JSON.stringify(KNOWN_EVENT_NAMES)}))
			    THEN event ELSE ${ERASED_EVENT} END
			WHERE contact_id = ${contact.id}`,
		),
		...(input.suppress.length > 0 ? addSuppressionStatements(db, input.suppress, change) : []),
		statement(
			db,
			sql`UPDATE ledger SET ip = NULL, user_agent = NULL WHERE contact_id IN (SELECT value FROM json_each(${JSON.stringify(input.suppressionSubjects)}))`,
		),
		db.delete(idempotencyKeys).where(eq(idempotencyKeys.contactId, contact.id)),
		db.delete(importReceipts).where(eq(importReceipts.contactId, contact.id)),
		db.delete(contacts).where(eq(contacts.id, contact.id)),
		statement(
			db,
			sql`DELETE FROM blocklist WHERE address IN (SELECT value FROM json_each(${JSON.stringify(input.blocklisted)}))`,
		),
		statement(db, sql`DELETE FROM dead_letters WHERE ${deadLettersOf(contact)}`),
		db
			.insert(ledger)
			.values({
				contactId: contact.id,
				event: "Erase",
				changes: [],
				changed: true,
				properties: input.properties,
				source: input.source,
				occurredAt: input.at,
				receivedAt: input.at,
			})
			.returning({ id: ledger.id }),
	]);
	const [erased] = results.at(-1) as Array<{ id: number }>;
	return erased?.id ?? 0;
}
