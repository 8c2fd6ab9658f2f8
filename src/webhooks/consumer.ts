/**
 * Applies queued provider events: finds or creates the contacts of the address, maps the
 * event per contact (src/consent/provider-events.ts) and records the result through the one write path, with the
 * provider's event id as idempotency key.
 */
import { DEFAULT_BUSINESS_UNIT, normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import { mapWebhookEvent } from "../consent/provider-events";
import type { TopicDefinition } from "../consent/types";
import { recordEvents } from "../contacts/record-events";
import { keyedHash } from "../crypto";
import { type Contact, findContact, findContactsWithAddress, findOrCreateLead } from "../db/contacts";
import { findSuppressed } from "../db/suppressions";
import { type Bindings, getConfig } from "../env";
import type { ProviderName, WebhookEvent } from "./provider";

export interface WebhookEventMessage {
	kind: "webhook-event";
	provider: ProviderName;
	event: WebhookEvent;
	receivedAt: string;
}

/** An event that can never apply (a recipient no retry will make valid): kept as a dead letter at once. */
export class UnprocessableMessage extends Error {}

/**
 * The contacts an event is for. With a `businessUnit` custom argument, the contact of that BU (a
 * lead when new). Without one, ESPs know only the address: every contact with it, in any BU, and a
 * lead in the default BU when there is none, so the opt-out holds when the address signs up later.
 * No lead is made for the suppressed address of an erased contact: it stays suppressed as it is.
 */
async function contactsFor(env: Bindings, event: WebhookEvent): Promise<Contact[]> {
	const kind = event.channel === "email" ? "email" : "phone";
	const address = kind === "email" ? normalizeEmail(event.recipient) : normalizePhone(event.recipient);
	if (!address) throw new UnprocessableMessage(`"${event.recipient}" is not a valid ${kind}`);
	const subject = (businessUnit: string) =>
		kind === "email" ? { email: address, businessUnit } : { phone: address, businessUnit };
	const businessUnit = event.businessUnit === null ? null : normalizeBusinessUnit(event.businessUnit);

	const existing = businessUnit
		? [await findContact(env, subject(businessUnit))].filter((contact): contact is Contact => contact !== null)
		: await findContactsWithAddress(env, kind, address);
	if (existing.length > 0) return existing;
	if ((await findSuppressed(env, [address])).has(address)) return [];
	return [await findOrCreateLead(env, subject(businessUnit ?? DEFAULT_BUSINESS_UNIT))];
}

export async function applyWebhookEvent(
	env: Bindings,
	message: WebhookEventMessage,
	topics: Map<string, TopicDefinition>,
): Promise<void> {
	const { provider, event } = message;
	const config = getConfig(env);
	// Provider ids often embed the recipient (Mailjet, Postmark, SES…): stored only as keyed hashes.
	const hashed = { ...event, id: await keyedHash(env, event.id) };
	for (const contact of await contactsFor(env, event)) {
		const incoming = mapWebhookEvent(hashed, {
			provider,
			topics: topics.values(),
			businessUnit: contact.businessUnit,
			policy: config.espUnsubscribePolicy,
		});
		if (incoming.length === 0) continue;
		await recordEvents(
			env,
			{ businessUnit: contact.businessUnit, contact: async () => contact },
			incoming,
			{
				source: `webhook:${provider}`,
				ip: null,
				userAgent: null,
				campaign: event.campaign,
				receivedAt: message.receivedAt,
			},
			// Webhook events never subscribe, so they never make confirmation links.
			() => {
				throw new Error("webhook events make no confirmation links");
			},
			topics,
		);
	}
}
