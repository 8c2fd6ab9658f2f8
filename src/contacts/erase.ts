import type { Source } from "../consent/types";
import type { Bindings } from "../env";
import { notFound } from "../http/errors";
import type { EraseResult } from "./contact-actor";
import { actorFor, requestContext } from "./record-events";

export const ERASURE_DESCRIPTION =
	"Deletes the contact and the personal data in its ledger rows (IP, user agent, feedback, properties); the rows " +
	"themselves stay, by the random contact id, with an `Erase` row (source `erasure`). If the contact had opted out, " +
	"been blocked or bounced, a keyed hash (SUPPRESSION_PEPPER) of its email and phone is kept: consent checks for the " +
	"address then answer `suppressed`, and imports and provider webhooks do not bring it back. An address that never " +
	"opted out is forgotten completely. Export the history first if the person asked for it (GDPR art. 15).";

/**
 * Who asked for an erasure, as its `Erase` row's source: an operator through the API (`erasure`),
 * or the person on the preference center (`preference_center`, src/web/preferences/self-service.ts).
 */
export type ErasureSource = Extract<Source, "erasure" | "preference_center">;

/** Erases through the contact's actor, so no event applies half-way through. */
export async function eraseContact(
	env: Bindings,
	contactId: string,
	request: Request,
	source: ErasureSource = "erasure",
): Promise<EraseResult> {
	const result = await actorFor(env, contactId).erase(contactId, requestContext(request, source));
	// Erased by a concurrent call between the lookup and the actor's lock.
	if (!result) throw notFound("Contact");
	return result;
}
