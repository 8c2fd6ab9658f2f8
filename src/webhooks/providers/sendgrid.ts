/**
 * SendGrid Event Webhook (docs/providers/sendgrid.md): a signed JSON array of events.
 * Signature: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 * Events: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
 */

import { base64Decode, concatBytes, utf8 } from "../../crypto";
import type { Bindings } from "../../env";
import { isRecord, nonBlank, readJson, unixToIso } from "../parsing";
import {
	type ParseResult,
	type Provider,
	type VerifyResult,
	type WebhookAction,
	WebhookBodyError,
	type WebhookEvent,
} from "../provider";

const SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature";
const TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp";
const MAX_AGE_SECONDS = 10 * 60;
const MAX_FUTURE_SECONDS = 5 * 60;

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

// The resolved key is cached, not the import promise: workerd warns about promises settled in
// another request's context. A concurrent first import just happens twice.
let cachedKey: { source: string; key: CryptoKey | null } | null = null;

async function publicKey(source: string): Promise<CryptoKey | null> {
	if (cachedKey?.source === source) return cachedKey.key;
	// The dashboard shows bare base64 SPKI; a pasted PEM block works too.
	const der = base64Decode(source.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
	let key: CryptoKey | null = null;
	if (der) {
		try {
			key = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
		} catch {
			key = null;
		}
	}
	cachedKey = { source, key };
	return key;
}

/**
 * SendGrid sends the DER `Ecdsa-Sig-Value` (RFC 3279 §2.2.3: SEQUENCE of INTEGER r, INTEGER s);
 * Web Crypto verifies the fixed-size r||s form (RFC 7518 §3.4). Null for anything that is not
 * such a value for a 256-bit curve; redundant leading zeros are tolerated (the math still decides).
 */
function derToRawSignature(der: Uint8Array): Uint8Array | null {
	// At most 2 + 2 × (2 + 33) bytes, so every DER length here is in short form (< 0x80).
	if (der.length < 8 || der.length > 72 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
	const raw = new Uint8Array(64);
	let offset = 2;
	for (const half of [0, 32]) {
		const length = der[offset + 1];
		if (der[offset] !== 0x02 || length === undefined || length < 1 || length > 33) return null;
		let start = offset + 2;
		const end = start + length;
		// A set high bit without a leading zero is a negative INTEGER: never a valid r or s.
		if (end > der.length || ((der[start] as number) & 0x80) !== 0) return null;
		while (start < end && der[start] === 0) start++;
		if (end - start > 32) return null;
		raw.set(der.subarray(start, end), half + 32 - (end - start));
		offset = end;
	}
	return offset === der.length ? raw : null;
}

function groupId(value: unknown): string | null {
	if (typeof value === "number" && Number.isInteger(value)) return String(value);
	return nonBlank(value);
}

/** The consent meaning of one event: an action, null when it means nothing for consent, or a problem. */
function actionOf(item: Record<string, unknown>, event: string): WebhookAction | null | { problem: string } {
	switch (event) {
		case "unsubscribe":
			return { kind: "unsubscribe", list: null };
		case "group_unsubscribe":
		case "group_resubscribe": {
			// Without its group, a group event cannot be told from a global one; guessing global would
			// unsubscribe from far more than the recipient asked.
			const list = groupId(item.asm_group_id);
			if (!list) return { problem: `${event} without asm_group_id` };
			return { kind: event === "group_unsubscribe" ? "unsubscribe" : "resubscribe", list };
		}
		case "spamreport":
			return { kind: "complaint" };
		case "bounce":
			// type "blocked" is a temporary block by the receiving server, not a bad address.
			return item.type === "bounce" ? { kind: "hard_bounce" } : null;
		default:
			// "dropped" included: SendGrid did not send because the address is already on one of its
			// suppression lists (reason "Bounced Address", "Unsubscribed Address", "Spam Reporting
			// Address"…). The bounce/unsubscribe/spamreport that put it there was its own event earlier;
			// mapping drops would add a new ledger event for every send attempt and date it wrongly.
			return null;
	}
}

function properties(item: Record<string, unknown>, event: string): WebhookEvent["properties"] {
	const props: WebhookEvent["properties"] = { event };
	if (event === "bounce") {
		props.bounceType = "bounce";
		const classification = nonBlank(item.bounce_classification);
		if (classification) props.classification = classification;
		const reason = nonBlank(item.reason);
		if (reason) props.reason = reason.slice(0, 200);
	}
	return props;
}

function toEvent(item: unknown): WebhookEvent | null | { problem: string } {
	if (!isRecord(item)) return { problem: "event is not an object" };
	const event = nonBlank(item.event);
	if (!event) return { problem: "event has no event name" };
	const action = actionOf(item, event);
	if (action === null || "problem" in action) return action;
	const recipient = nonBlank(item.email);
	if (!recipient) return { problem: `${event} without email` };
	const id = nonBlank(item.sg_event_id);
	if (!id) return { problem: `${event} without sg_event_id` };
	return {
		id,
		channel: "email",
		recipient,
		action,
		occurredAt: unixToIso(item.timestamp),
		// Custom args come back as top-level keys of the event.
		businessUnit: nonBlank(item.businessUnit),
		campaign: nonBlank(item.campaign),
		properties: properties(item, event),
	};
}

export const sendgrid: Provider = {
	name: "sendgrid",

	configured: (env: Bindings) => nonBlank(env.SENDGRID_WEBHOOK_PUBLIC_KEY) !== null,

	async verify(request, env, deps) {
		const signature = request.headers.get(SIGNATURE_HEADER);
		const timestamp = request.headers.get(TIMESTAMP_HEADER);
		if (!signature || !timestamp) return fail("signature or timestamp header missing");
		if (!/^\d{1,12}$/.test(timestamp)) return fail("timestamp is not unix seconds");
		const age = deps.now() - Number(timestamp);
		if (age > MAX_AGE_SECONDS) return fail("timestamp too old");
		if (age < -MAX_FUTURE_SECONDS) return fail("timestamp in the future");

		const source = nonBlank(env.SENDGRID_WEBHOOK_PUBLIC_KEY);
		const key = source ? await publicKey(source) : null;
		if (!key) return fail("SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 P-256 SPKI key");
		const der = base64Decode(signature);
		const raw = der ? derToRawSignature(der) : null;
		if (!raw) return fail("signature is not a base64 DER ECDSA signature");

		// The signed message is the timestamp header exactly as sent, followed by the raw body.
		const valid = await crypto.subtle.verify(
			{ name: "ECDSA", hash: "SHA-256" },
			key,
			raw,
			concatBytes(utf8(timestamp), request.body),
		);
		return valid ? { ok: true } : fail("signature does not match");
	},

	parse(request) {
		const body = readJson(request.body);
		if (!Array.isArray(body)) throw new WebhookBodyError("expected a JSON array of events");
		const result: ParseResult = { events: [], ignored: 0, problems: [] };
		body.forEach((item, index) => {
			const outcome = toEvent(item);
			if (outcome === null) result.ignored++;
			else if ("problem" in outcome) result.problems.push({ index, error: outcome.problem });
			else result.events.push(outcome);
		});
		return result;
	},
};
