/**
 * Outbound webhooks: with OUTBOUND_WEBHOOK_URL and OUTBOUND_WEBHOOK_SECRET set, every
 * ledger row is POSTed as JSON, one event per request, through OUTBOUND_QUEUE (retries, then the
 * dead-letter queue).
 *
 * Signature: `X-Consent-Edge-Signature: v1=<hex HMAC-SHA-256(secret, "<timestamp>.<body>")>` with
 * `X-Consent-Edge-Timestamp: <unix seconds>`; receivers recompute it over the raw body, compare in
 * constant time and refuse old timestamps (README, "Outbound webhooks").
 */
import { scrubbedEventName, scrubbedReason } from "../consent/erasure";
import type { FieldChange } from "../consent/types";
import type { Bindings } from "../env";
import { sendInBatches } from "../queue-batch";
import { hexEncode, hmac, utf8 } from "../webhooks/crypto";

export const SIGNATURE_HEADER = "X-Consent-Edge-Signature";
export const TIMESTAMP_HEADER = "X-Consent-Edge-Timestamp";
export const EVENT_ID_HEADER = "X-Consent-Edge-Event-Id";

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

/** Of these contact ids, those no contact has any more (erased): one statement. */
export async function erasedContactIds(env: Bindings, ids: readonly string[]): Promise<Set<string>> {
	if (ids.length === 0) return new Set();
	const { results } = await env.DB.prepare(
		"SELECT value AS id FROM json_each(?) WHERE value NOT IN (SELECT id FROM contacts)",
	)
		.bind(JSON.stringify([...new Set(ids)]))
		.all<{ id: string }>();
	return new Set(results.map((row) => row.id));
}

export function enqueueOutbound(env: Bindings, events: OutboundEvent[]): Promise<void> {
	return sendInBatches<OutboundMessage>(
		env.OUTBOUND_QUEUE,
		events.map((event) => ({ kind: "outbound", event })),
	);
}

export async function signOutbound(secret: string, timestamp: number, body: string): Promise<string> {
	return `v1=${hexEncode(await hmac("SHA-256", secret, utf8(`${timestamp}.${body}`)))}`;
}

/** POSTs one event; throws on anything but a 2xx so the queue retries. */
export async function deliverOutbound(env: Bindings, message: OutboundMessage): Promise<void> {
	const url = env.OUTBOUND_WEBHOOK_URL?.trim();
	const secret = env.OUTBOUND_WEBHOOK_SECRET?.trim();
	// Switched off after the event was queued: nothing to deliver to, and nothing to keep.
	if (!url || !secret) return;
	const body = JSON.stringify(message.event);
	const timestamp = Math.floor(Date.now() / 1000);
	const response = await fetch(url, {
		method: "POST",
		headers: {
			"content-type": "application/json",
			"user-agent": "consent-edge-webhooks/1",
			[TIMESTAMP_HEADER]: String(timestamp),
			[SIGNATURE_HEADER]: await signOutbound(secret, timestamp, body),
			[EVENT_ID_HEADER]: String(message.event.id),
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
