/**
 * Outbound webhooks: with OUTBOUND_WEBHOOK_URL and OUTBOUND_WEBHOOK_SECRET set, every
 * ledger row is POSTed as JSON, one event per request, through OUTBOUND_QUEUE (retries, then the
 * dead-letter queue).
 *
 * Signed as the Standard Webhooks specification says (https://www.standardwebhooks.com), so
 * receivers can verify with its libraries (README, "Outbound webhooks"): `webhook-id` (the ledger
 * id, the same on every retry), `webhook-timestamp` (Unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA-256 of "<id>.<timestamp>.<body>">`, made here with Web
 * Crypto. The key: see outboundSigningKey.
 */
import type { LedgerRow } from "../consent/apply";
import { scrubbedEventName, scrubbedReason } from "../consent/erasure";
import type { FieldChange } from "../consent/types";
import { base64Decode, base64Encode, utf8 } from "../crypto";
import type { Bindings } from "../env";
import { sendInBatches } from "../queue-batch";

export const ID_HEADER = "webhook-id";
export const TIMESTAMP_HEADER = "webhook-timestamp";
export const SIGNATURE_HEADER = "webhook-signature";
/** The prefix of a Standard Webhooks secret: `whsec_<base64 of the key bytes>`. */
const SECRET_PREFIX = "whsec_";

/** What receivers get: the ledger row with the contact's identifiers (no IP or user agent). */
export interface OutboundEvent {
	/** The ledger id: unique, increasing; receivers deduplicate retries by it. */
	id: number;
	event: string;
	contact: { id: string; externalId: string | null; email: string | null; phone: string | null; businessUnit: string };
	channel: string | null;
	topic: string | null;
	changed: boolean;
	changes: FieldChange[];
	/** The event's properties; `confirmUrl` for a double-opt-in Subscribe that left the topic pending. */
	properties: Record<string, unknown>;
	source: string;
	reason: string | null;
	feedback: string | null;
	campaign: string | null;
	occurredAt: string;
	receivedAt: string;
}

export interface OutboundMessage {
	kind: "outbound";
	event: OutboundEvent;
}

export function outboundEnabled(env: Bindings): boolean {
	return Boolean(env.OUTBOUND_WEBHOOK_URL?.trim() && env.OUTBOUND_WEBHOOK_SECRET?.trim());
}

/**
 * An event of a contact erased after it was queued: what the ledger row keeps, by the
 * contact id receivers have seen, and nothing that names or describes the person.
 */
export function scrubOutboundEvent(event: OutboundEvent): OutboundEvent {
	// The erasure's own event is made without personal data, and its properties are the service's.
	if (event.event === "Erase") return event;
	return {
		...event,
		event: scrubbedEventName(event.event),
		contact: {
			id: event.contact.id,
			externalId: null,
			email: null,
			phone: null,
			businessUnit: event.contact.businessUnit,
		},
		properties: {},
		reason: scrubbedReason(event.reason),
		feedback: null,
	};
}

export function enqueueOutbound(env: Bindings, events: OutboundEvent[]): Promise<void> {
	return sendInBatches<OutboundMessage>(
		env.OUTBOUND_QUEUE,
		events.map((event) => ({ kind: "outbound", event })),
	);
}

/** A contact's new ledger rows as outbound events (ids: their ledger ids, in order). */
export function outboundEvents(
	contact: OutboundEvent["contact"],
	rows: readonly LedgerRow[],
	ledgerIds: readonly number[],
): OutboundEvent[] {
	const who = {
		id: contact.id,
		externalId: contact.externalId,
		email: contact.email,
		phone: contact.phone,
		businessUnit: contact.businessUnit,
	};
	return rows.map((row, index) => ({
		id: ledgerIds[index] as number,
		event: row.event,
		contact: who,
		channel: row.channel,
		topic: row.topic,
		changed: row.changes.length > 0,
		changes: row.changes,
		properties: row.properties,
		source: row.source,
		reason: row.reason,
		feedback: row.feedback,
		campaign: row.campaign,
		occurredAt: row.occurredAt,
		receivedAt: row.receivedAt,
	}));
}

/**
 * Queues new ledger rows for the outbound webhook, when it is on. After the commit: a failed
 * enqueue is logged, never undone into the consent change (which is what counts), and not retried
 * by the caller either, whose retry would be a duplicate.
 */
export async function forwardOutbound(env: Bindings, events: OutboundEvent[]): Promise<void> {
	if (!outboundEnabled(env) || events.length === 0) return;
	try {
		await enqueueOutbound(env, events);
	} catch (error) {
		const ids = events.map((event) => event.id).join(",");
		console.error(`outbound webhook: ledger events ${ids} not queued: ${String(error)}`);
	}
}

/**
 * The HMAC key of OUTBOUND_WEBHOOK_SECRET. `whsec_<base64>` (a Standard Webhooks secret): the bytes
 * the base64 after the prefix decodes to. Anything else is a raw secret: its UTF-8 bytes (what
 * signed before Standard Webhooks; receivers pass it to the libraries as a raw secret). Throws on a
 * `whsec_` secret that is not base64.
 */
export function outboundSigningKey(secret: string): Uint8Array {
	if (!secret.startsWith(SECRET_PREFIX)) return utf8(secret);
	const key = base64Decode(secret.slice(SECRET_PREFIX.length));
	if (!key || key.length === 0) throw new Error("OUTBOUND_WEBHOOK_SECRET: whsec_ is not followed by base64");
	return key;
}

/** `v1,<base64 HMAC-SHA-256 of "<id>.<timestamp>.<body>">`: the webhook-signature header. */
export async function signOutbound(key: Uint8Array, id: string, timestamp: number, body: string): Promise<string> {
	const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = await crypto.subtle.sign("HMAC", hmacKey, utf8(`${id}.${timestamp}.${body}`));
	return `v1,${base64Encode(new Uint8Array(mac))}`;
}

/** POSTs one event; throws on anything but a 2xx so the queue retries. */
export async function deliverOutbound(env: Bindings, message: OutboundMessage): Promise<void> {
	const url = env.OUTBOUND_WEBHOOK_URL?.trim();
	const secret = env.OUTBOUND_WEBHOOK_SECRET?.trim();
	// Switched off after the event was queued: nothing to deliver to, and nothing to keep.
	if (!url || !secret) return;
	const body = JSON.stringify(message.event);
	const id = String(message.event.id);
	const timestamp = Math.floor(Date.now() / 1000);
	const response = await fetch(url, {
		method: "POST",
		headers: {
			"content-type": "application/json",
			"user-agent": "consent-edge-webhooks/1",
			[ID_HEADER]: id,
			[TIMESTAMP_HEADER]: String(timestamp),
			[SIGNATURE_HEADER]: await signOutbound(outboundSigningKey(secret), id, timestamp, body),
		},
		body,
		redirect: "manual",
	});
	// Drain the body so the connection is released.
	await response.arrayBuffer().catch(() => undefined);
	if (response.status < 200 || response.status > 299) {
		throw new Error(`outbound webhook answered ${response.status} for ledger event ${message.event.id}`);
	}
}
