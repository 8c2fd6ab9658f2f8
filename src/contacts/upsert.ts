import type { Bindings } from "../env";
import { ApiError } from "../http/errors";
import type { ProfilePatch, ProfileResult } from "./contact-actor";
import type { Contact } from "./contact-row";
import { findContact, insertContact } from "./identity";
import { actorFor } from "./record-events";

export interface UpsertResult {
	created: boolean;
	contact: Contact;
}

const mismatch = (detail: string) => new ApiError(409, "EXTERNAL_IDS_MISMATCH", detail);
const identityTaken = () =>
	new ApiError(409, "CONFLICT", "The email or phone already belongs to another contact in this business unit.");

function unwrap(result: ProfileResult): Contact {
	if (result.ok) return result.contact;
	if (result.conflict === "external_id") throw mismatch("The contact already has another externalId.");
	if (result.conflict === "gone") throw new ApiError(409, "CONFLICT", "The contact changed meanwhile; retry.");
	throw identityTaken();
}

/**
 * PUT /v1/users/{externalId}: updates the user, or makes the lead with this email (or
 * phone) + BU into the user (same contact id, ledger kept), or creates a new contact. Naming the
 * email+BU of a different user answers 409 EXTERNAL_IDS_MISMATCH and changes nothing.
 */
export async function upsertUser(
	env: Bindings,
	externalId: string,
	input: { email?: string | null; phone?: string | null; businessUnit?: string; traits?: Record<string, unknown> },
	attempt = 0,
): Promise<UpsertResult> {
	const existing = await findContact(env, { externalId });
	if (existing) {
		const patch: ProfilePatch = {
			email: input.email,
			phone: input.phone,
			businessUnit: input.businessUnit,
			traits: input.traits,
		};
		return { created: false, contact: unwrap(await actorFor(env, existing.id).updateProfile(existing.id, patch)) };
	}

	const businessUnit = input.businessUnit ?? "default";
	const [byEmail, byPhone] = await Promise.all([
		input.email ? findContact(env, { email: input.email, businessUnit }) : null,
		input.phone ? findContact(env, { phone: input.phone, businessUnit }) : null,
	]);
	if (byEmail && byPhone && byEmail.id !== byPhone.id) {
		throw new ApiError(409, "CONFLICT", "The email and the phone belong to two different contacts.");
	}
	const match = byEmail ?? byPhone;
	if (match) {
		if (match.externalId !== null) {
			throw mismatch(`This ${byEmail ? "email" : "phone"} and business unit belong to a different user.`);
		}
		const patch: ProfilePatch = { externalId, email: input.email, phone: input.phone, traits: input.traits };
		return { created: true, contact: unwrap(await actorFor(env, match.id).updateProfile(match.id, patch)) };
	}

	const contact = await insertContact(env, {
		externalId,
		email: input.email ?? null,
		phone: input.phone ?? null,
		businessUnit,
		traits: input.traits ?? {},
	});
	if (contact) return { created: true, contact };
	// A concurrent request created the user or the lead first: decide again against what is there now.
	if (attempt === 0) return upsertUser(env, externalId, input, 1);
	throw identityTaken();
}

/** PUT /v1/leads: a contact without externalId, named by email+BU. */
export async function upsertLead(
	env: Bindings,
	input: { email: string; phone?: string | null; businessUnit: string; traits?: Record<string, unknown> },
	attempt = 0,
): Promise<UpsertResult> {
	const existing = await findLead(env, input.email, input.businessUnit);
	if (existing) {
		const patch: ProfilePatch = { phone: input.phone, traits: input.traits };
		return { created: false, contact: unwrap(await actorFor(env, existing.id).updateProfile(existing.id, patch)) };
	}
	const contact = await insertContact(env, {
		externalId: null,
		email: input.email,
		phone: input.phone ?? null,
		businessUnit: input.businessUnit,
		traits: input.traits ?? {},
	});
	if (contact) return { created: true, contact };
	if (attempt === 0) return upsertLead(env, input, 1);
	throw identityTaken();
}

/** The lead with this email+BU; 409 EXTERNAL_IDS_MISMATCH once it has become a user. */
export async function findLead(env: Bindings, email: string, businessUnit: string): Promise<Contact | null> {
	const contact = await findContact(env, { email, businessUnit });
	if (contact?.externalId) {
		throw mismatch("This email and business unit belong to a user: use /v1/users/{externalId}.");
	}
	return contact;
}
