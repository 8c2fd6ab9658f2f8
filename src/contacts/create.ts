/**
 * Contacts that do not exist yet, created with their first events already applied (the importer's
 * new lines, the webhook consumer's new leads).
 */
import { type ChunkRecord, createContactsWithEvents, type NewContact } from "../db/contact-creates";
import type { Bindings } from "../env";
import { forwardOutbound, type OutboundEvent, outboundEvents } from "../outbound/outbound";

/**
 * Writes the contacts (state, ledger rows, idempotency keys, and a job's chunk record when given) in
 * one D1 batch, then queues their outbound events. No actor takes part, and none can race the insert:
 * each id is new, so no actor has it yet. Answers the ids created; a contact whose address or
 * externalId was taken meanwhile is not, nothing of it is written, and the caller goes on through
 * the existing contact's actor.
 */
export async function createContacts(
	env: Bindings,
	contacts: readonly NewContact[],
	chunk: ChunkRecord | null = null,
): Promise<Set<string>> {
	const at = new Date().toISOString();
	const written = await createContactsWithEvents(env, contacts, at, chunk);
	const outbound: OutboundEvent[] = [];
	for (const contact of contacts) {
		const ledgerIds = written.get(contact.id);
		if (!ledgerIds) continue;
		const row = { ...contact, traits: {}, consent: contact.state, version: 0, createdAt: at, updatedAt: at };
		outbound.push(...outboundEvents(row, contact.rows, ledgerIds));
	}
	await forwardOutbound(env, outbound);
	return new Set(written.keys());
}
