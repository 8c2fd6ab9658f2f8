/**
 * Mailgun webhooks (docs/providers/mailgun.md): one JSON object `{signature, "event-data"}` per POST,
 * or the legacy form-encoded fields. The signature travels inside the body, so verification has to
 * read the body: an unreadable one cannot be verified and answers 401, not 400.
 * Signature: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
 * Events: https://documentation.mailgun.com/docs/mailgun/user-manual/events/event-types
 *
 * Legacy multipart/form-data posts (legacy webhooks that attached the message) are not read: parse
 * is synchronous, and current Mailgun webhooks are JSON.
 */

import { hexEncode, hmac, signaturesEqual, utf8 } from "../../crypto";
import type { Bindings } from "../../env";
import { decodeUtf8, isRecord, nonBlank, unixToIso } from "../parsing";
import {
	type ParseResult,
	type Provider,
	type VerifyResult,
	type WebhookAction,
	WebhookBodyError,
	type WebhookEvent,
} from "../provider";

const MAX_SKEW_SECONDS = 10 * 60;
// A token is only worth remembering while its timestamp is still accepted: at most a full window
// either side of the moment it was first seen.
const TOKEN_TTL_SECONDS = 2 * MAX_SKEW_SECONDS;

// Failed-permanent reasons that are not a new hard bounce: "suppress-*" means Mailgun did not send
// because an earlier bounce/unsubscribe/complaint (its own webhook, then) put the address on a
// suppression list; "old" means retries of temporary failures ran out, which says nothing about
// the address. https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/tracking-failures
const NOT_A_NEW_HARD_BOUNCE = new Set(["suppress-bounce", "suppress-unsubscribe", "suppress-complaint", "old"]);

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

const isForm = (headers: Headers): boolean =>
	/^\s*application\/x-www-form-urlencoded\b/i.test(headers.get("content-type") ?? "");

interface Signed {
	timestamp: string;
	token: string;
	signature: string;
}

/** The signature fields, wherever this shape of request keeps them; null when there are none. */
function signedFields(headers: Headers, body: Uint8Array): Signed | null {
	const text = decodeUtf8(body);
	if (text === null) return null;
	let fields: Record<string, unknown>;
	if (isForm(headers)) {
		fields = Object.fromEntries(new URLSearchParams(text));
	} else {
		let parsed: unknown;
		try {
			parsed = JSON.parse(text);
		} catch {
			return null;
		}
		if (!isRecord(parsed) || !isRecord(parsed.signature)) return null;
		fields = parsed.signature;
	}
	// Mailgun sends the timestamp as a string; a number is taken as written.
	const timestamp = typeof fields.timestamp === "number" ? String(fields.timestamp) : nonBlank(fields.timestamp);
	const token = nonBlank(fields.token);
	const signature = nonBlank(fields.signature);
	return timestamp && token && signature ? { timestamp, token, signature } : null;
}

type Outcome = WebhookEvent | null | { problem: string };

function userVariable(variables: unknown, name: string): string | null {
	return isRecord(variables) ? nonBlank(variables[name]) : null;
}

/** Current webhooks: the `event-data` object. */
function fromEventData(data: Record<string, unknown>): Outcome {
	const event = nonBlank(data.event);
	if (!event) return { problem: "event-data has no event name" };
	const properties: WebhookEvent["properties"] = { event };
	let action: WebhookAction;
	switch (event) {
		case "failed": {
			const reason = nonBlank(data.reason);
			if (data.severity !== "permanent" || (reason && NOT_A_NEW_HARD_BOUNCE.has(reason))) return null;
			action = { kind: "hard_bounce" };
			properties.severity = "permanent";
			if (reason) properties.reason = reason;
			break;
		}
		case "complained":
			action = { kind: "complaint" };
			break;
		case "unsubscribed": {
			const mailingList = isRecord(data["mailing-list"]) ? nonBlank(data["mailing-list"].address) : null;
			action = { kind: "unsubscribe", list: mailingList };
			break;
		}
		default:
			return null;
	}
	const recipient = nonBlank(data.recipient);
	if (!recipient) return { problem: `${event} without recipient` };
	const id = nonBlank(data.id);
	if (!id) return { problem: `${event} without id` };
	return {
		id,
		channel: "email",
		recipient,
		action,
		occurredAt: unixToIso(data.timestamp),
		businessUnit: userVariable(data["user-variables"], "businessUnit"),
		campaign: userVariable(data["user-variables"], "campaign"),
		properties,
	};
}

/**
 * Legacy webhooks: flat form fields, custom variables among them, no event id. "bounced" was the
 * hard bounce; "dropped" the equivalent of a suppressed failed event (ignored, as above).
 */
function fromLegacyForm(form: URLSearchParams): Outcome {
	const event = form.get("event") ?? "";
	let action: WebhookAction;
	switch (event) {
		case "bounced":
			action = { kind: "hard_bounce" };
			break;
		case "complained":
			action = { kind: "complaint" };
			break;
		case "unsubscribed":
			action = { kind: "unsubscribe", list: nonBlank(form.get("mailing-list")) };
			break;
		default:
			return null;
	}
	const recipient = nonBlank(form.get("recipient"));
	if (!recipient) return { problem: `${event} without recipient` };
	// The message id keeps the id stable when Mailgun re-signs a retry (new timestamp and token);
	// without one, the signed fields are the best there is.
	const messageId = nonBlank(form.get("Message-Id") ?? form.get("message-id"));
	const id = messageId
		? `legacy:${event}:${messageId}:${recipient}`
		: `legacy:${event}:${recipient}:${form.get("timestamp") ?? ""}:${form.get("token") ?? ""}`;
	const properties: WebhookEvent["properties"] = { event };
	const code = nonBlank(form.get("code"));
	if (code) properties.code = code;
	return {
		id,
		channel: "email",
		recipient,
		action,
		occurredAt: unixToIso(form.get("timestamp")),
		businessUnit: nonBlank(form.get("businessUnit")),
		campaign: nonBlank(form.get("campaign")),
		properties,
	};
}

function single(outcome: Outcome): ParseResult {
	if (outcome === null) return { events: [], ignored: 1, problems: [] };
	if ("problem" in outcome) return { events: [], ignored: 0, problems: [{ index: 0, error: outcome.problem }] };
	return { events: [outcome], ignored: 0, problems: [] };
}

export const mailgun: Provider = {
	name: "mailgun",

	configured: (env: Bindings) => nonBlank(env.MAILGUN_WEBHOOK_SIGNING_KEY) !== null,

	async verify(request, env, deps) {
		const key = nonBlank(env.MAILGUN_WEBHOOK_SIGNING_KEY);
		if (!key) return fail("MAILGUN_WEBHOOK_SIGNING_KEY is not set");
		const signed = signedFields(request.headers, request.body);
		if (!signed) return fail("body carries no timestamp, token and signature");
		if (!/^\d{1,12}$/.test(signed.timestamp)) return fail("timestamp is not unix seconds");
		if (Math.abs(deps.now() - Number(signed.timestamp)) > MAX_SKEW_SECONDS) return fail("timestamp is stale");
		const expected = hexEncode(await hmac("SHA-256", key, utf8(signed.timestamp + signed.token)));
		if (!(await signaturesEqual(signed.signature.toLowerCase(), expected))) return fail("signature does not match");
		// Only a genuine token is remembered, so forged requests cannot fill the replay store.
		if (!(await deps.rememberToken("mailgun", signed.token, TOKEN_TTL_SECONDS))) return fail("token replayed");
		return { ok: true };
	},

	parse(request) {
		const text = decodeUtf8(request.body);
		if (text === null) throw new WebhookBodyError("body is not UTF-8");
		if (text.trim() === "") throw new WebhookBodyError("body is empty");
		if (isForm(request.headers)) {
			const form = new URLSearchParams(text);
			if (!form.has("event")) throw new WebhookBodyError("form has no event field");
			return single(fromLegacyForm(form));
		}
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			throw new WebhookBodyError("body is not JSON");
		}
		if (!isRecord(body) || !isRecord(body["event-data"])) {
			throw new WebhookBodyError('expected a JSON object with "event-data"');
		}
		return single(fromEventData(body["event-data"]));
	},
};
