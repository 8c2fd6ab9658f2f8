/**
 * Applies queued provider events, a queue batch at a time and set-based: one query finds the
 * contacts of every address in the batch, one lookup finds which addresses without a contact are
 * suppressed. Addresses without a contact become leads, created with their events already applied
 * (state, ledger rows, idempotency keys) in one D1 batch. Each existing contact's events, in
 * arrival order and each with its own message's origin, go to that contact's actor in one call (at
 * most one D1 batch there), contacts in parallel. The events are mapped per contact by
 * src/consent/provider-events.ts; the provider's event id (as a keyed hash) is the idempotency key.
 */

import { applyToNewContact } from "../consent/apply";
import { DEFAULT_BUSINESS_UNIT, normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import { mapWebhookEvent } from "../consent/provider-events";
import { emptyConsentState, type TopicDefinition } from "../consent/types";
import type { EventContext, EventToApply } from "../contacts/contact-actor";
import { createContacts } from "../contacts/create";
import { actorFor, resolveIncoming } from "../contacts/record-events";
import { keyedHash } from "../crypto";
import type { NewContact } from "../db/contact-creates";
import { type Contact, findContactsWithAddresses } from "../db/contacts";
import { findSuppressed } from "../db/suppressions";
import { type Bindings, getConfig } from "../env";
import { CONNECTIONS, inParallel } from "../parallel";
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
 * Actor calls per queue invocation (one per existing contact; new leads take none), below the
 * 1,000 queries + Durable Object calls one invocation may make, with room for the batch's own
 * lookups. Reached only when addresses of the batch belong to hundreds of business units each; the
 * messages past it are retried in the next invocation.
 */
export const MAX_ACTOR_CALLS = 900;

export interface QueuedWebhookEvent {
	id: string;
	body: WebhookEventMessage;
}

/** What became of one message: applied, failed (with the error), or deferred to a later invocation. */
export type WebhookOutcome = { status: "applied" } | { status: "failed"; error: unknown } | { status: "deferred" };

interface Addressed {
	message: QueuedWebhookEvent;
	kind: "email" | "phone";
	address: string;
	/** The business unit the event names (a custom argument), or null: every contact with the address. */
	businessUnit: string | null;
}

const addressKey = (kind: "email" | "phone", address: string) => `${kind}:${address}`;
const leadKey = (kind: "email" | "phone", address: string, businessUnit: string) =>
	`${kind}:${businessUnit}\n${address}`;

/** The message's normalized address, or why it can never apply. */
function addressOf(message: QueuedWebhookEvent): Addressed | UnprocessableMessage {
	const event = message.body.event;
	const kind = event.channel === "email" ? "email" : "phone";
	const address = kind === "email" ? normalizeEmail(event.recipient) : normalizePhone(event.recipient);
	if (!address) return new UnprocessableMessage(`"${event.recipient}" is not a valid ${kind}`);
	const businessUnit = event.businessUnit === null ? null : normalizeBusinessUnit(event.businessUnit);
	return { message, kind, address, businessUnit };
}

/** The contacts of each message, and which of them are new leads (not written yet). */
interface MessageContacts {
	byMessage: Map<string, Contact[]>;
	newLeads: Set<string>;
}

/**
 * The contacts of each message. With a `businessUnit` custom argument, the contact of that BU (a
 * lead when new). Without one, ESPs know only the address: every contact with it, in any BU, and a
 * lead in the default BU when there is none, so the opt-out holds when the address signs up later.
 * No lead is made for the suppressed address of an erased contact: it stays suppressed as it is.
 * A new lead is only planned here (a fresh id, the empty state): it is written with its events.
 */
async function contactsOfMessages(env: Bindings, addressed: readonly Addressed[]): Promise<MessageContacts> {
	const emails = addressed.filter((a) => a.kind === "email").map((a) => a.address);
	const phones = addressed.filter((a) => a.kind === "phone").map((a) => a.address);
	const byAddress = new Map<string, Contact[]>();
	for (const contact of await findContactsWithAddresses(env, {
		emails: [...new Set(emails)],
		phones: [...new Set(phones)],
	})) {
		for (const kind of ["email", "phone"] as const) {
			const address = contact[kind];
			if (!address) continue;
			const key = addressKey(kind, address);
			byAddress.set(key, [...(byAddress.get(key) ?? []), contact]);
		}
	}
	const existingOf = (a: Addressed) =>
		(byAddress.get(addressKey(a.kind, a.address)) ?? []).filter(
			(contact) => a.businessUnit === null || contact.businessUnit === a.businessUnit,
		);

	const withoutContact = addressed.filter((a) => existingOf(a).length === 0);
	const suppressed =
		withoutContact.length > 0
			? await findSuppressed(
					env,
					withoutContact.map((a) => a.address),
				)
			: new Set();
	const leads = new Map<string, Contact>();
	const byMessage = new Map<string, Contact[]>();
	for (const a of addressed) {
		const existing = existingOf(a);
		if (existing.length > 0 || suppressed.has(a.address)) {
			byMessage.set(a.message.id, existing);
			continue;
		}
		const businessUnit = a.businessUnit ?? DEFAULT_BUSINESS_UNIT;
		const key = leadKey(a.kind, a.address, businessUnit);
		const lead = leads.get(key) ?? plannedLead(a.kind, a.address, businessUnit);
		leads.set(key, lead);
		byMessage.set(a.message.id, [lead]);
	}
	return { byMessage, newLeads: new Set([...leads.values()].map((lead) => lead.id)) };
}

function plannedLead(kind: "email" | "phone", address: string, businessUnit: string): Contact {
	const now = new Date().toISOString();
	return {
		id: crypto.randomUUID(),
		externalId: null,
		email: kind === "email" ? address : null,
		phone: kind === "phone" ? address : null,
		businessUnit,
		traits: {},
		consent: emptyConsentState(),
		version: 0,
		createdAt: now,
		updatedAt: now,
	};
}

interface ContactWrite {
	contact: Contact;
	/** The first message's origin (each event also carries its own). */
	context: EventContext;
	events: EventToApply[];
	/** The messages whose events these are; each is acked only when all its contacts' writes succeeded. */
	messageIds: Set<string>;
}

/**
 * Applies a queue batch of provider events. Events of one contact apply in the batch's order, in
 * one actor call; contacts in parallel. Answers the outcome of every message.
 */
export async function applyWebhookBatch(
	env: Bindings,
	messages: readonly QueuedWebhookEvent[],
	topics: Map<string, TopicDefinition>,
): Promise<Map<string, WebhookOutcome>> {
	const outcomes = new Map<string, WebhookOutcome>();
	const failed = (id: string, error: unknown) => outcomes.set(id, { status: "failed", error });
	const addressed: Addressed[] = [];
	for (const message of messages) {
		try {
			const a = addressOf(message);
			if (a instanceof UnprocessableMessage) failed(message.id, a);
			else addressed.push(a);
		} catch (error) {
			// A body that is not an event at all (a bug, or a hand-made replay): retried, then a dead letter.
			failed(message.id, error);
		}
	}
	if (addressed.length === 0) return outcomes;
	const { byMessage: contactsOf, newLeads } = await contactsOfMessages(env, addressed);

	const policy = getConfig(env).espUnsubscribePolicy;
	const writes = new Map<string, ContactWrite>();
	// New leads are written together, without an actor: only existing contacts count here.
	let actorCalls = 0;
	let deferring = false;
	for (const { message } of addressed) {
		const contacts = contactsOf.get(message.id) ?? [];
		const newCalls = contacts.filter((contact) => !newLeads.has(contact.id) && !writes.has(contact.id)).length;
		// Past the budget every later message waits too, so that one address's events keep their order.
		deferring ||= actorCalls + newCalls > MAX_ACTOR_CALLS;
		if (deferring) {
			outcomes.set(message.id, { status: "deferred" });
			continue;
		}
		try {
			const planned = await eventsPerContact(env, message.body, contacts, topics, policy);
			for (const { contact, events, origin } of planned) {
				let write = writes.get(contact.id);
				if (!write) {
					write = { contact, context: origin, events: [], messageIds: new Set<string>() };
					writes.set(contact.id, write);
					if (!newLeads.has(contact.id)) actorCalls++;
				}
				write.events.push(...events);
				write.messageIds.add(message.id);
			}
			outcomes.set(message.id, { status: "applied" });
		} catch (error) {
			failed(message.id, error);
		}
	}

	const all = [...writes.values()];
	await createLeadsWithEvents(
		env,
		all.filter((write) => newLeads.has(write.contact.id)),
		topics,
		outcomes,
	);
	const topicList = [...topics.values()];
	const existing = all.filter((write) => !newLeads.has(write.contact.id));
	await inParallel(existing, CONNECTIONS, async (write) => {
		try {
			await actorFor(env, write.contact.id).applyEvents(write.contact, write.events, write.context, topicList);
		} catch (error) {
			for (const id of write.messageIds) failed(id, error);
		}
	});
	return outcomes;
}

/**
 * The batch's new leads, each with its events applied, created together (`createContacts`, no
 * actor). A lead whose address another invocation took meanwhile is not written: its messages are
 * deferred, and the next invocation applies them to that contact through its actor.
 */
async function createLeadsWithEvents(
	env: Bindings,
	writes: readonly ContactWrite[],
	topics: Map<string, TopicDefinition>,
	outcomes: Map<string, WebhookOutcome>,
): Promise<void> {
	if (writes.length === 0) return;
	const topicOf = (key: string) => topics.get(key);
	const planned = writes.map((write): { write: ContactWrite; lead: NewContact } => {
		const { state, rows } = applyToNewContact(write.events, { topicOf, origin: write.context });
		return { write, lead: { ...write.contact, state, rows } };
	});
	let created: Set<string>;
	try {
		created = await createContacts(
			env,
			planned.map((p) => p.lead),
		);
	} catch (error) {
		for (const { write } of planned) for (const id of write.messageIds) outcomes.set(id, { status: "failed", error });
		return;
	}
	for (const { write, lead } of planned) {
		if (!created.has(lead.id)) for (const id of write.messageIds) outcomes.set(id, { status: "deferred" });
	}
}

/** The message's events for each of its contacts, validated (a ConsentError fails the whole message). */
async function eventsPerContact(
	env: Bindings,
	message: WebhookEventMessage,
	contacts: readonly Contact[],
	topics: Map<string, TopicDefinition>,
	policy: ReturnType<typeof getConfig>["espUnsubscribePolicy"],
): Promise<Array<{ contact: Contact; events: EventToApply[]; origin: EventContext }>> {
	const { provider, event } = message;
	// Provider ids often embed the recipient (Mailjet, Postmark, SES…): stored only as keyed hashes.
	const hashed = { ...event, id: await keyedHash(env, event.id) };
	const origin: EventContext = {
		source: `webhook:${provider}`,
		ip: null,
		userAgent: null,
		campaign: event.campaign,
		receivedAt: message.receivedAt,
	};
	const planned: Array<{ contact: Contact; events: EventToApply[]; origin: EventContext }> = [];
	for (const contact of contacts) {
		const incoming = mapWebhookEvent(hashed, {
			provider,
			topics: topics.values(),
			businessUnit: contact.businessUnit,
			policy,
		});
		if (incoming.length === 0) continue;
		// Webhook events never subscribe: they make no confirmation links.
		const events = resolveIncoming(incoming, origin, topics, contact.businessUnit).map((e) => ({ ...e, origin }));
		planned.push({ contact, events, origin });
	}
	return planned;
}

/** One message on its own (tests, and replays of a single dead letter): throws what failed it. */
export async function applyWebhookEvent(
	env: Bindings,
	message: WebhookEventMessage,
	topics: Map<string, TopicDefinition>,
): Promise<void> {
	const outcome = (await applyWebhookBatch(env, [{ id: "single", body: message }], topics)).get("single");
	if (outcome?.status === "failed") throw outcome.error;
}
