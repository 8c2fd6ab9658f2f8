import { ConsentError } from "../consent/errors";
import { planIdentity } from "../consent/identity";
import { mergeTraits } from "../consent/traits";
import type { Contact } from "../db/contacts";
import { findContact, insertContact } from "../db/contacts";
import type { Bindings } from "../env";
import type { ProfilePatch, ProfileResult } from "./contact-actor";
import { actorFor } from "./record-events";

export interface UpsertResult {
	created: boolean;
	contact: Contact;
	/** The D1 bookmark of the actor's write (src/http/bookmark.ts); absent for a new contact. */
	bookmark?: string | null;
}

const identityTaken = () =>
	new ConsentError("identity_conflict", "The email or phone already belongs to another contact in this business unit.");

/** A contact's answer from its actor, as what the caller returns; a refusal as a ConsentError. */
function unwrap(result: ProfileResult, created: boolean): UpsertResult {
	if (result.ok) return { created, contact: result.contact, bookmark: result.bookmark };
	if (result.conflict === "traits") {
		throw new ConsentError("invalid_traits", result.problem, [{ path: "traits", message: result.problem }]);
	}
	if (result.conflict === "external_id") {
		throw new ConsentError("external_ids_mismatch", "The contact already has another externalId.");
	}
	if (result.conflict === "gone") throw new ConsentError("contact_changed", "The contact changed meanwhile; retry.");
	throw identityTaken();
}

/**
 * PUT /v1/users/{externalId}: updates the user, or makes the lead with this email (or phone) + BU
 * into the user (same contact id, ledger kept), or creates a new contact; the rules are
 * planIdentity's. Naming the email+BU of a different user changes nothing.
 */
export async function upsertUser(
	env: Bindings,
	externalId: string,
	input: { email?: string | null; phone?: string | null; businessUnit?: string; traits?: Record<string, unknown> },
	attempt = 0,
): Promise<UpsertResult> {
	const user = await findContact(env, { externalId });
	const businessUnit = input.businessUnit ?? "default";
	const [emailOwner, phoneOwner] = user
		? [null, null]
		: await Promise.all([
				input.email ? findContact(env, { email: input.email, businessUnit }) : null,
				input.phone ? findContact(env, { phone: input.phone, businessUnit }) : null,
			]);
	const plan = planIdentity(
		{ externalId, email: input.email ?? null, phone: input.phone ?? null },
		{ user, emailOwner, phoneOwner },
	);
	switch (plan.kind) {
		case "refused":
			throw plan.error;
		case "existing": {
			const patch: ProfilePatch = {
				email: input.email,
				phone: input.phone,
				businessUnit: input.businessUnit,
				traits: input.traits,
			};
			return unwrap(await actorFor(env, plan.contact.id).updateProfile(plan.contact.id, patch), false);
		}
		case "adopt": {
			const patch: ProfilePatch = { externalId, email: input.email, phone: input.phone, traits: input.traits };
			return unwrap(await actorFor(env, plan.contact.id).updateProfile(plan.contact.id, patch), true);
		}
		case "create": {
			const contact = await insertContact(env, {
				externalId,
				email: input.email ?? null,
				phone: input.phone ?? null,
				businessUnit,
				traits: mergeTraits({}, input.traits ?? {}),
			});
			if (contact) return { created: true, contact };
			// A concurrent request created the user or the lead first: decide again against what is there now.
			if (attempt === 0) return upsertUser(env, externalId, input, 1);
			throw identityTaken();
		}
	}
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
		return unwrap(await actorFor(env, existing.id).updateProfile(existing.id, patch), false);
	}
	const contact = await insertContact(env, {
		externalId: null,
		email: input.email,
		phone: input.phone ?? null,
		businessUnit: input.businessUnit,
		traits: mergeTraits({}, input.traits ?? {}),
	});
	if (contact) return { created: true, contact };
	if (attempt === 0) return upsertLead(env, input, 1);
	throw identityTaken();
}

/** The lead with this email+BU; a mismatch once it has become a user. */
export async function findLead(env: Bindings, email: string, businessUnit: string): Promise<Contact | null> {
	const contact = await findContact(env, { email, businessUnit });
	if (contact?.externalId) {
		throw new ConsentError(
			"external_ids_mismatch",
			"This email and business unit belong to a user: use /v1/users/{externalId}.",
		);
	}
	return contact;
}
