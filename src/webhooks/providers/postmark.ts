/**
 * Postmark webhooks (docs/providers/postmark.md): one JSON record per POST, unsigned; the webhook URL
 * carries basic-auth credentials.
 * Bounce: https://postmarkapp.com/developer/webhooks/bounce-webhook
 * Spam complaint: https://postmarkapp.com/developer/webhooks/spam-complaint-webhook
 * Subscription change: https://postmarkapp.com/developer/webhooks/subscription-change-webhook
 *
 * Postmark keeps suppressions per message stream, so the stream is the "list" of unsubscribe and
 * resubscribe actions: a topic with providerRefs {"postmark": "<stream id>"} maps to it.
 */

import { basicAuthMatches } from "../../crypto";
import type { Bindings } from "../../env";
import { isRecord, nonBlank, readJson } from "../parsing";
import { type ParseResult, type Provider, type WebhookAction, WebhookBodyError, type WebhookEvent } from "../provider";

// Bounce types that say the address itself is permanently unusable
// (https://postmarkapp.com/developer/api/bounce-api#bounce-types): HardBounce (unknown user,
// mailbox not found) and BadEmailAddress (not a valid address). The rest are transient, about the
// sender or content (Blocked, DMARCPolicy, SpamNotification…), auto-replies, or heuristics:
// "Unsubscribe" is an NDR Postmark classified as a removal request, and "ManuallyDeactivated" is
// the sender's own action (reported as a ManualSuppression subscription change when it matters).
const PERMANENT_BOUNCE_TYPES = new Set(["HardBounce", "BadEmailAddress"]);

function isoToIso(value: unknown): string | null {
	const text = nonBlank(value);
	const ms = text ? Date.parse(text) : Number.NaN;
	return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function idOf(value: unknown): string | null {
	if (typeof value === "number" && Number.isInteger(value)) return String(value);
	return nonBlank(value);
}

type Outcome = WebhookEvent | null | { problem: string };

function actionOf(record: Record<string, unknown>, recordType: string): WebhookAction | null | { problem: string } {
	const stream = nonBlank(record.MessageStream);
	switch (recordType) {
		case "Bounce":
			if (record.Type === "SpamComplaint") return { kind: "complaint" };
			return typeof record.Type === "string" && PERMANENT_BOUNCE_TYPES.has(record.Type)
				? { kind: "hard_bounce" }
				: null;
		case "SpamComplaint":
			return { kind: "complaint" };
		case "SubscriptionChange":
			// Reactivation lifts the stream's suppression whatever caused it; SuppressionReason is then null.
			if (record.SuppressSending === false) return { kind: "resubscribe", list: stream };
			if (record.SuppressSending !== true) return { problem: "SubscriptionChange without SuppressSending" };
			switch (record.SuppressionReason) {
				// A recipient's unsubscribe arrives as ManualSuppression (Origin "Recipient"); the sender's
				// own suppressions (Origin "Customer"/"Admin") too, and are honoured the same way.
				case "ManualSuppression":
					return { kind: "unsubscribe", list: stream };
				case "HardBounce":
					return { kind: "hard_bounce" };
				case "SpamComplaint":
					return { kind: "complaint" };
				default:
					return null;
			}
		default:
			return null;
	}
}

function properties(record: Record<string, unknown>, recordType: string): WebhookEvent["properties"] {
	const props: WebhookEvent["properties"] = { event: recordType };
	const bounceType = nonBlank(record.Type);
	if (recordType !== "SubscriptionChange" && bounceType) props.bounceType = bounceType;
	const reason = nonBlank(record.SuppressionReason);
	if (reason) props.suppressionReason = reason;
	const origin = nonBlank(record.Origin);
	if (origin) props.origin = origin;
	return props;
}

function toEvent(record: Record<string, unknown>): Outcome {
	const recordType = nonBlank(record.RecordType);
	if (!recordType) return { problem: "record has no RecordType" };
	const action = actionOf(record, recordType);
	if (action === null || "problem" in action) return action;
	const recipient = nonBlank(record.Email) ?? nonBlank(record.Recipient);
	if (!recipient) return { problem: `${recordType} without Email or Recipient` };

	let id: string | null;
	let occurredAt: string | null;
	if (recordType === "SubscriptionChange") {
		// No id of its own. ChangedAt (microseconds) tells changes of one recipient apart; the stream
		// keeps a change applied to several streams at once from colliding.
		const changedAt = nonBlank(record.ChangedAt);
		if (!changedAt) return { problem: "SubscriptionChange without ChangedAt" };
		const stream = nonBlank(record.MessageStream) ?? "";
		const messageId = nonBlank(record.MessageID) ?? "";
		id = `SubscriptionChange:${stream}:${messageId}:${recipient}:${changedAt}`;
		occurredAt = isoToIso(changedAt);
	} else {
		// Bounce and SpamComplaint records share the bounce ID space.
		id = idOf(record.ID);
		if (!id) return { problem: `${recordType} without ID` };
		occurredAt = isoToIso(record.BouncedAt);
	}
	const metadata = isRecord(record.Metadata) ? record.Metadata : {};
	return {
		id,
		channel: "email",
		recipient,
		action,
		occurredAt,
		businessUnit: nonBlank(metadata.businessUnit),
		campaign: nonBlank(metadata.campaign),
		properties: properties(record, recordType),
	};
}

/**
 * Bounce IDs are 64-bit integers; beyond 2^53 a JSON number loses digits, and two bounces could
 * share an idempotency key. JSON.parse source text access (V8) keeps the digits as written.
 */
function keepIdDigits(key: string, value: unknown, context?: { source?: string }): unknown {
	const unsafe = typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value);
	return key === "ID" && unsafe && context?.source ? context.source : value;
}

export const postmark: Provider = {
	name: "postmark",

	configured: (env: Bindings) => nonBlank(env.POSTMARK_WEBHOOK_BASIC_AUTH) !== null,

	async verify(request, env) {
		const expected = nonBlank(env.POSTMARK_WEBHOOK_BASIC_AUTH);
		if (!expected) return { ok: false, reason: "POSTMARK_WEBHOOK_BASIC_AUTH is not set" };
		return (await basicAuthMatches(request.headers.get("authorization"), expected))
			? { ok: true }
			: { ok: false, reason: "basic-auth credentials missing or wrong" };
	},

	parse(request) {
		const body = readJson(request.body, keepIdDigits);
		if (!isRecord(body)) throw new WebhookBodyError("expected one JSON object");
		const outcome = toEvent(body);
		const result: ParseResult = { events: [], ignored: 0, problems: [] };
		if (outcome === null) result.ignored = 1;
		else if ("problem" in outcome) result.problems.push({ index: 0, error: outcome.problem });
		else result.events.push(outcome);
		return result;
	},
};
