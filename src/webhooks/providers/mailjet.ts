/**
 * Mailjet Event API (docs/providers/mailjet.md): one JSON event per POST, or an array of them with
 * Version 2 callbacks. Unsigned: the webhook URL carries basic-auth credentials.
 * https://dev.mailjet.com/email/guides/webhooks/
 */

import { basicAuthMatches } from "../../crypto";
import type { Bindings } from "../../env";
import { isRecord, nonBlank, readJson, unixToIso } from "../parsing";
import { type ParseResult, type Provider, type WebhookAction, WebhookBodyError, type WebhookEvent } from "../provider";

/** mj_list_id names the contact list; 0 or "" means the unsubscribe was not from a list. */
function listId(value: unknown): string | null {
	if (typeof value === "number") return Number.isInteger(value) && value > 0 ? String(value) : null;
	const text = nonBlank(value)?.trim() ?? null;
	return text && text !== "0" ? text : null;
}

/**
 * `Payload` is the sender's X-MJ-EventPayload header, passed back verbatim; JSON by our
 * convention, anything by anyone else's.
 */
function payloadObject(value: unknown): Record<string, unknown> {
	const text = nonBlank(value);
	if (!text) return {};
	try {
		const parsed: unknown = JSON.parse(text);
		return isRecord(parsed) ? parsed : {};
	} catch {
		return {};
	}
}

function actionOf(item: Record<string, unknown>, event: string): WebhookAction | null {
	switch (event) {
		case "unsub":
			return { kind: "unsubscribe", list: listId(item.mj_list_id) };
		case "spam":
			return { kind: "complaint" };
		case "bounce":
			return item.hard_bounce === true ? { kind: "hard_bounce" } : null;
		default:
			// "blocked": Mailjet did not send at all, mostly because the address recently bounced or
			// complained ("preblocked", whose own bounce/spam event came earlier), or for the sender's
			// own reasons (content, duplicate in campaign). Nothing new about the recipient's consent.
			return null;
	}
}

function properties(item: Record<string, unknown>, event: string): WebhookEvent["properties"] {
	const props: WebhookEvent["properties"] = { event };
	if (event === "bounce") {
		const relatedTo = nonBlank(item.error_related_to);
		if (relatedTo) props.errorRelatedTo = relatedTo;
		const error = nonBlank(item.error);
		if (error) props.error = error.slice(0, 200);
	}
	if (event === "spam") {
		const source = nonBlank(item.source);
		if (source) props.source = source;
	}
	return props;
}

function toEvent(item: unknown): WebhookEvent | null | { problem: string } {
	if (!isRecord(item)) return { problem: "event is not an object" };
	const event = nonBlank(item.event);
	if (!event) return { problem: "event has no event name" };
	const action = actionOf(item, event);
	if (!action) return null;
	const recipient = nonBlank(item.email);
	if (!recipient) return { problem: `${event} without email` };
	// Mailjet events carry no id of their own; event, message, recipient and time identify one and
	// are the same in every retry. mj_message_id is the (deprecated) string form of MessageID.
	if (typeof item.time !== "number" || !Number.isFinite(item.time)) return { problem: `${event} without time` };
	const messageId =
		nonBlank(item.mj_message_id) ??
		nonBlank(item.MessageID) ??
		(typeof item.MessageID === "number" ? String(item.MessageID) : "");
	const payload = payloadObject(item.Payload);
	return {
		id: `${event}:${messageId}:${recipient}:${item.time}`,
		channel: "email",
		recipient,
		action,
		occurredAt: unixToIso(item.time),
		businessUnit: nonBlank(payload.businessUnit),
		// The documented key is lower-case `customcampaign` (X-Mailjet-Campaign); accept the other casing too.
		campaign: nonBlank(payload.campaign) ?? nonBlank(item.customcampaign) ?? nonBlank(item.CustomCampaign),
		properties: properties(item, event),
	};
}

/**
 * MessageID is a JSON number that often exceeds 2^53 and would lose digits; JSON.parse source text
 * access (V8) keeps them as written.
 */
function keepMessageIdDigits(key: string, value: unknown, context?: { source?: string }): unknown {
	const unsafe = typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value);
	return key === "MessageID" && unsafe && context?.source ? context.source : value;
}

export const mailjet: Provider = {
	name: "mailjet",

	configured: (env: Bindings) => nonBlank(env.MAILJET_WEBHOOK_BASIC_AUTH) !== null,

	async verify(request, env) {
		const expected = nonBlank(env.MAILJET_WEBHOOK_BASIC_AUTH);
		if (!expected) return { ok: false, reason: "MAILJET_WEBHOOK_BASIC_AUTH is not set" };
		return (await basicAuthMatches(request.headers.get("authorization"), expected))
			? { ok: true }
			: { ok: false, reason: "basic-auth credentials missing or wrong" };
	},

	parse(request) {
		const body = readJson(request.body, keepMessageIdDigits);
		let items: unknown[];
		if (Array.isArray(body)) items = body;
		else if (isRecord(body)) items = [body];
		else throw new WebhookBodyError("expected a JSON event object or an array of them");
		const result: ParseResult = { events: [], ignored: 0, problems: [] };
		items.forEach((item, index) => {
			const outcome = toEvent(item);
			if (outcome === null) result.ignored++;
			else if ("problem" in outcome) result.problems.push({ index, error: outcome.problem });
			else result.events.push(outcome);
		});
		return result;
	},
};
