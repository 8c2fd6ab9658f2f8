import { emptyConsentState } from "../consent/types";
import type { Bindings } from "../env";
import { addressHashes } from "../erasure/suppression";
import { type Contact, type ContactRecord, fromRecord } from "./contact-row";

/** How a request names a contact. */
export type ContactSubject =
	| { externalId: string }
	| { email: string; businessUnit: string }
	| { phone: string; businessUnit: string }
	| { contactId: string };

function lookup(subject: ContactSubject): { where: string; params: string[] } {
	if ("contactId" in subject) return { where: "id = ?", params: [subject.contactId] };
	if ("externalId" in subject) return { where: "external_id = ?", params: [subject.externalId] };
	if ("email" in subject)
		return { where: "business_unit = ? AND email = ?", params: [subject.businessUnit, subject.email] };
	return { where: "business_unit = ? AND phone = ?", params: [subject.businessUnit, subject.phone] };
}

export async function findContact(env: Bindings, subject: ContactSubject): Promise<Contact | null> {
	const { where, params } = lookup(subject);
	const row = await env.DB.prepare(`SELECT * FROM contacts WHERE ${where}`)
		.bind(...params)
		.first<ContactRecord>();
	return row ? fromRecord(row) : null;
}

/**
 * The contact for an email+BU or phone+BU, created as a lead when there is none. INSERT … ON
 * CONFLICT DO NOTHING and a read after it: two first events for one address make one contact.
 */
export async function findOrCreateLead(
	env: Bindings,
	subject: { email: string; businessUnit: string } | { phone: string; businessUnit: string },
): Promise<Contact> {
	const existing = await findContact(env, subject);
	if (existing) return existing;
	const email = "email" in subject ? subject.email : null;
	const phone = "phone" in subject ? subject.phone : null;
	const { emailHash, phoneHash } = await addressHashes(env, { email, phone });
	const [, read] = await env.DB.batch<ContactRecord>([
		env.DB.prepare(
			`INSERT INTO contacts (id, email, phone, email_hash, phone_hash, business_unit, consent)
			 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		).bind(
			crypto.randomUUID(),
			email,
			phone,
			emailHash,
			phoneHash,
			subject.businessUnit,
			JSON.stringify(emptyConsentState()),
		),
		env.DB.prepare(`SELECT * FROM contacts WHERE ${lookup(subject).where}`).bind(...lookup(subject).params),
	]);
	const row = read?.results[0];
	if (!row) throw new Error("lead insert left no row");
	return fromRecord(row);
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
	const id = crypto.randomUUID();
	const { emailHash, phoneHash } = await addressHashes(env, fields);
	const row = await env.DB.prepare(
		`INSERT INTO contacts (id, external_id, email, phone, email_hash, phone_hash, business_unit, traits, consent)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *`,
	)
		.bind(
			id,
			fields.externalId,
			fields.email,
			fields.phone,
			emailHash,
			phoneHash,
			fields.businessUnit,
			JSON.stringify(fields.traits),
			JSON.stringify(emptyConsentState()),
		)
		.first<ContactRecord>();
	return row ? fromRecord(row) : null;
}
