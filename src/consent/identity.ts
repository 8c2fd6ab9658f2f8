/**
 * Which contact a request (an upsert, an import line) names, from the contacts found in its
 * business unit: the identity rules of users and leads in one place.
 *
 * - A user is named by its externalId, unique everywhere.
 * - A lead is named by email (or phone) + business unit. A user upsert that names the address of a
 *   lead makes that lead the user (same contact, ledger kept); one that names the address of a
 *   different user is a mismatch and changes nothing.
 * - One request never joins two contacts: an email of one and a phone of another is a conflict.
 */
import { ConsentError } from "./errors";

interface Named {
	id: string;
	externalId: string | null;
}

export type IdentityPlan<C extends Named> =
	/** The contact the request names, to update. */
	| { kind: "existing"; contact: C }
	/** A lead that becomes the user the request names. */
	| { kind: "adopt"; contact: C }
	| { kind: "create" }
	| { kind: "refused"; error: ConsentError };

export function planIdentity<C extends Named>(
	request: { externalId: string | null; email: string | null; phone: string | null },
	found: { user: C | null; emailOwner: C | null; phoneOwner: C | null },
): IdentityPlan<C> {
	const { user, emailOwner, phoneOwner } = found;
	const refused = (error: ConsentError) => ({ kind: "refused", error }) as const;
	if (request.externalId !== null && user) return { kind: "existing", contact: user };
	if (emailOwner && phoneOwner && emailOwner.id !== phoneOwner.id) {
		return refused(new ConsentError("identity_conflict", "The email and the phone belong to two different contacts."));
	}
	if (request.externalId !== null) {
		const match = emailOwner ?? phoneOwner;
		if (match?.externalId) {
			const which = emailOwner ? "email" : "phone";
			return refused(
				new ConsentError("external_ids_mismatch", `This ${which} and business unit belong to a different user.`),
			);
		}
		return match ? { kind: "adopt", contact: match } : { kind: "create" };
	}
	if (emailOwner) return { kind: "existing", contact: emailOwner };
	if (phoneOwner) {
		if (request.email !== null) {
			return refused(
				new ConsentError("identity_conflict", "The phone belongs to another contact in this business unit."),
			);
		}
		return { kind: "existing", contact: phoneOwner };
	}
	return { kind: "create" };
}
