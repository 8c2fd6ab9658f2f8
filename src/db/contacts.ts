/**
 * Contacts: finding them by how requests name them, and creating them. Consent state is written
 * only through the contact's actor (src/db/contact-writes.ts holds its statements).
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { emptyConsentState } from "../consent/types";
import type { Bindings } from "../env";
import { database, statement } from "./client";
import { contacts } from "./schema";
import { addressHashes } from "./suppressions";

/** A contact as the service uses it (the row without its address hashes). */
export type Contact = Omit<typeof contacts.$inferSelect, "emailHash" | "phoneHash">;

/** The contact columns of a select; the hashes stay in SQL. */
export const contactColumns = {
	id: contacts.id,
	externalId: contacts.externalId,
	email: contacts.email,
	businessUnit: contacts.businessUnit,
	phone: contacts.phone,
	traits: contacts.traits,
	consent: contacts.consent,
	version: contacts.version,
	createdAt: contacts.createdAt,
	updatedAt: contacts.updatedAt,
};

/** How a request names a contact. */
export type ContactSubject =
	| { externalId: string }
	| { email: string; businessUnit: string }
	| { phone: string; businessUnit: string }
	| { contactId: string };

export type LeadSubject = { email: string; businessUnit: string } | { phone: string; businessUnit: string };

function named(subject: ContactSubject) {
	if ("contactId" in subject) return eq(contacts.id, subject.contactId);
	if ("externalId" in subject) return eq(contacts.externalId, subject.externalId);
	if ("email" in subject)
		return and(eq(contacts.businessUnit, subject.businessUnit), eq(contacts.email, subject.email));
	return and(eq(contacts.businessUnit, subject.businessUnit), eq(contacts.phone, subject.phone));
}

export async function findContact(env: Bindings, subject: ContactSubject): Promise<Contact | null> {
	const [row] = await database(env).select(contactColumns).from(contacts).where(named(subject)).limit(1);
	return row ?? null;
}

/** Every contact with this address, in any business unit, oldest first. */
export async function findContactsWithAddress(
	env: Bindings,
	kind: "email" | "phone",
	address: string,
): Promise<Contact[]> {
	return database(env)
		.select(contactColumns)
		.from(contacts)
		.where(eq(kind === "email" ? contacts.email : contacts.phone, address))
		.orderBy(asc(contacts.createdAt));
}

/** The contact for an email+BU or phone+BU, created as a lead when there is none. */
export async function findOrCreateLead(env: Bindings, subject: LeadSubject): Promise<Contact> {
	return (await findContact(env, subject)) ?? createLead(env, subject);
}

/**
 * The contact for an address, made a lead when there is none, in one batch: INSERT … ON CONFLICT DO
 * NOTHING and a read after it, so two first events for one address make one contact, and a known
 * and an unknown address take the same path (the public sign-up must not tell them apart by time).
 */
export async function createLead(env: Bindings, subject: LeadSubject): Promise<Contact> {
	const [row] = await createLeads(env, [subject]);
	if (!row) throw new Error("lead insert left no row");
	return row;
}

/** A new contact row; null when a unique index (externalId, email+BU, phone+BU) is taken. */
export async function insertContact(
	env: Bindings,
	fields: {
		externalId: string | null;
		email: string | null;
		phone: string | null;
		businessUnit: string;
		traits: Record<string, unknown>;
	},
): Promise<Contact | null> {
	const hashes = await addressHashes(env, fields);
	const [row] = await database(env)
		.insert(contacts)
		.values({ id: crypto.randomUUID(), ...fields, ...hashes, consent: emptyConsentState() })
		.onConflictDoNothing()
		.returning(contactColumns);
	return row ?? null;
}

/**
 * The contacts a batch of import lines names, by externalId, email+BU and phone+BU: one D1 batch
 * of three statements (the values travel as JSON: D1 binds at most 100 parameters).
 */
export async function findContactsNamedBy(
	env: Bindings,
	names: { externalIds: string[]; emails: Array<[string, string]>; phones: Array<[string, string]> },
): Promise<Contact[]> {
	const db = database(env);
	const results = await db.batch([
		db
			.select(contactColumns)
			.from(contacts)
			.where(sql`${contacts.externalId} IN (SELECT value FROM json_each(${JSON.stringify(names.externalIds)}))`),
		db
			.select(contactColumns)
			.from(sql`json_each(${JSON.stringify(names.emails)}) AS j`)
			.innerJoin(contacts, sql`${contacts.businessUnit} = j.value ->> 0 AND ${contacts.email} = j.value ->> 1`),
		db
			.select(contactColumns)
			.from(sql`json_each(${JSON.stringify(names.phones)}) AS j`)
			.innerJoin(contacts, sql`${contacts.businessUnit} = j.value ->> 0 AND ${contacts.phone} = j.value ->> 1`),
	]);
	return results.flat();
}

/** The business units of contacts named by externalId or id (link making): one statement. */
export async function businessUnitsOf(
	env: Bindings,
	names: { externalIds: string[]; contactIds: string[] },
): Promise<{ byExternalId: Map<string, string>; byContactId: Map<string, string> }> {
	const byExternalId = new Map<string, string>();
	const byContactId = new Map<string, string>();
	if (names.externalIds.length + names.contactIds.length === 0) return { byExternalId, byContactId };
	// Two index lookups joined by UNION ALL (an OR of the two would scan).
	const rows = await database(env).all<{ kind: "x" | "i"; ref: string; businessUnit: string }>(sql`
		SELECT 'x' AS kind, external_id AS ref, business_unit AS businessUnit FROM contacts
		WHERE external_id IN (SELECT value FROM json_each(${JSON.stringify(names.externalIds)}))
		UNION ALL
		SELECT 'i' AS kind, id AS ref, business_unit AS businessUnit FROM contacts
		WHERE id IN (SELECT value FROM json_each(${JSON.stringify(names.contactIds)}))`);
	for (const row of rows) (row.kind === "x" ? byExternalId : byContactId).set(row.ref, row.businessUnit);
	return { byExternalId, byContactId };
}

/** Of these contact ids, those no contact has any more (erased): one statement. */
export async function erasedContactIds(env: { DB: D1Database }, ids: readonly string[]): Promise<Set<string>> {
	if (ids.length === 0) return new Set();
	const rows = await database(env).all<{ id: string }>(
		sql`SELECT value AS id FROM json_each(${JSON.stringify([...new Set(ids)])}) WHERE value NOT IN (SELECT id FROM contacts)`,
	);
	return new Set(rows.map((row) => row.id));
}

/**
 * Every contact with one of these emails or phones, in any business unit, oldest first: one
 * statement, two index lookups joined by UNION ALL (a contact with both addresses comes once).
 */
export async function findContactsWithAddresses(
	env: Bindings,
	addresses: { emails: readonly string[]; phones: readonly string[] },
): Promise<Contact[]> {
	if (addresses.emails.length + addresses.phones.length === 0) return [];
	const db = database(env);
	const rows = await db
		.select(contactColumns)
		.from(contacts)
		.where(sql`${contacts.email} IN (SELECT value FROM json_each(${JSON.stringify(addresses.emails)}))`)
		.unionAll(
			db
				.select(contactColumns)
				.from(contacts)
				.where(sql`${contacts.phone} IN (SELECT value FROM json_each(${JSON.stringify(addresses.phones)}))`),
		);
	const unique = new Map(rows.map((row) => [row.id, row]));
	return [...unique.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Leads for these addresses, made where there is none, in one D1 batch: one INSERT … SELECT over
 * the JSON of all of them (ON CONFLICT DO NOTHING: a lead someone made meanwhile is kept), then one
 * read of every lead named. Answers the contact of each subject that exists afterwards.
 */
export async function createLeads(env: Bindings, subjects: readonly LeadSubject[]): Promise<Contact[]> {
	if (subjects.length === 0) return [];
	const db = database(env);
	const consent = JSON.stringify(emptyConsentState());
	const rows = await Promise.all(
		subjects.map(async (subject) => {
			const email = "email" in subject ? subject.email : null;
			const phone = "phone" in subject ? subject.phone : null;
			const { emailHash, phoneHash } = await addressHashes(env, { email, phone });
			return [crypto.randomUUID(), subject.businessUnit, email, emailHash, phone, phoneHash];
		}),
	);
	const json = JSON.stringify(rows);
	// `WHERE true`: without it SQLite would read ON CONFLICT as part of the SELECT's join.
	const [, created] = await db.batch([
		statement(
			db,
			sql`INSERT INTO contacts (id, business_unit, email, email_hash, phone, phone_hash, consent)
				SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, ${consent}
				FROM json_each(${json}) AS j WHERE true
				ON CONFLICT DO NOTHING`,
		),
		db
			.select(contactColumns)
			.from(sql`json_each(${json}) AS j`)
			.innerJoin(contacts, sql`${contacts.businessUnit} = j.value ->> 1 AND ${contacts.email} = j.value ->> 2`)
			.unionAll(
				db
					.select(contactColumns)
					.from(sql`json_each(${json}) AS j`)
					.innerJoin(contacts, sql`${contacts.businessUnit} = j.value ->> 1 AND ${contacts.phone} = j.value ->> 4`),
			),
	]);
	return created;
}
