/**
 * What the domain refuses, in its own words. The HTTP layer maps these to problem+json once
 * (src/http/errors.ts); the importer turns them into line errors, the queue into dead letters.
 */
export type ConsentErrorCode =
	/** An event the rules refuse: a topic that cannot be used, a missing or surplus field. */
	| "invalid_event"
	/** Traits that would be over the size or depth limits once merged into the contact's. */
	| "invalid_traits"
	/** The email or phone of the request belongs to a user with another externalId. */
	| "external_ids_mismatch"
	/** The email and the phone belong to two different contacts, or an address to another contact. */
	| "identity_conflict"
	/** The contact changed (was erased) between being found and being written. */
	| "contact_changed";

export class ConsentError extends Error {
	constructor(
		readonly code: ConsentErrorCode,
		readonly detail: string,
		readonly fields?: Array<{ path: string; message: string }>,
	) {
		super(detail);
	}
}
