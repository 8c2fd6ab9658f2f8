/**
 * Mandrill (Mailchimp Transactional) webhooks (docs/providers/mandrill.md): a form POST whose field
 * `mandrill_events` holds a JSON array of message events and sync (denylist/allowlist) events.
 * Signature: https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/
 * (also mandrill.zendesk.com "How to Authenticate Webhook Requests").
 * Event formats: mandrill.zendesk.com "Event webhook format" and "Sync event webhook format".
 *
 * The signed URL is MANDRILL_WEBHOOK_URL, "exactly as you entered it" at Mandrill (a trailing slash
 * or a query string changes the signature); only when that is unset does the URL of the request
 * stand in for it, which holds as long as nothing between Mandrill and the Worker rewrites the URL.
 *
 * Saving a webhook: Mandrill first sends a HEAD request (the route answers it); when that does not
 * answer 200 it POSTs `mandrill_events=[]` signed with the fixed key "test-webhook" instead of the
 * webhook's own key (which does not exist yet). Such a request is accepted, and only when its batch
 * is empty, so the public test key can never carry an event. A signed POST without
 * `mandrill_events` is an empty batch too.
 */

import { base64Encode, hmac, signaturesEqual, utf8 } from "../../crypto";
import type { Bindings } from "../../env";
import { decodeUtf8, isRecord, nonBlank, unixToIso } from "../parsing";
import {
	type ParseProblem,
	type ParseResult,
	type Provider,
	type VerifyResult,
	type WebhookAction,
	WebhookBodyError,
	type WebhookEvent,
	type WebhookRequest,
} from "../provider";

const SIGNATURE_HEADER = "x-mandrill-signature";
const EVENTS_FIELD = "mandrill_events";
/** The key Mandrill signs its URL check with when the HEAD request failed. */
const URL_TEST_KEY = "test-webhook";

// The "Send Test" button posts sample events of every type for example.webhook@mandrillapp.com with
// ids like "exampleaaaaaaaaaaaaaaaaaaaaaaaaa1". Real Mandrill ids are 32 hex digits, so the prefix
// can never be a real event.
const SAMPLE_ID_PREFIX = "example";

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

/** url + every field sorted by name, as name+value (Array#sort is stable for repeated names). */
function signedText(url: string, form: URLSearchParams): string {
	const pairs = [...form].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return pairs.reduce((text, [name, value]) => text + name + value, url);
}

/** Only `mandrill_events=[]`: the body of Mandrill's URL test. */
function isEmptyTestBatch(form: URLSearchParams): boolean {
	const fields = [...form];
	if (fields.length !== 1 || fields[0]?.[0] !== EVENTS_FIELD) return false;
	try {
		const events: unknown = JSON.parse(fields[0][1]);
		return Array.isArray(events) && events.length === 0;
	} catch {
		return false;
	}
}

async function verify(request: WebhookRequest, env: Bindings): Promise<VerifyResult> {
	const key = nonBlank(env.MANDRILL_WEBHOOK_KEY);
	if (!key) return fail("MANDRILL_WEBHOOK_KEY is not set");
	const given = request.headers.get(SIGNATURE_HEADER)?.trim();
	if (!given) return fail("no X-Mandrill-Signature header");
	const text = decodeUtf8(request.body);
	if (text === null) return fail("body is not UTF-8");
	const form = new URLSearchParams(text);
	const signed = utf8(signedText(nonBlank(env.MANDRILL_WEBHOOK_URL)?.trim() ?? request.url, form));
	if (await signaturesEqual(given, base64Encode(await hmac("SHA-1", key, signed)))) return { ok: true };
	if (
		isEmptyTestBatch(form) &&
		(await signaturesEqual(given, base64Encode(await hmac("SHA-1", URL_TEST_KEY, signed))))
	) {
		return { ok: true };
	}
	return fail("signature does not match");
}

type Outcome = WebhookEvent | null | { problem: string };

/** `metadata` the sender attached to the message (strings, or numbers Mandrill kept as numbers). */
function metadata(msg: Record<string, unknown>, name: string): string | null {
	if (!isRecord(msg.metadata)) return null;
	const value = msg.metadata[name];
	return typeof value === "number" && Number.isFinite(value) ? String(value) : nonBlank(value);
}

/** Message events: `{event, msg: {email, _id, metadata…}, _id, ts}`. */
function fromMessageEvent(event: string, entry: Record<string, unknown>): Outcome {
	let action: WebhookAction;
	switch (event) {
		case "hard_bounce":
			action = { kind: "hard_bounce" };
			break;
		case "spam":
			action = { kind: "complaint" };
			break;
		case "unsub":
			// Mandrill's own unsubscribe link: it covers the sender's mail as a whole, no list.
			action = { kind: "unsubscribe", list: null };
			break;
		default:
			// send, deferral, soft_bounce, open, click, inbound; and reject, which only says that a
			// message went to an address already on the denylist (its own event came earlier).
			return null;
	}
	const msg = isRecord(entry.msg) ? entry.msg : null;
	if (!msg) return { problem: `${event} without msg` };
	const messageId = nonBlank(entry._id) ?? nonBlank(msg._id);
	if (!messageId) return { problem: `${event} without _id` };
	if (messageId.startsWith(SAMPLE_ID_PREFIX)) return null;
	const recipient = nonBlank(msg.email);
	if (!recipient) return { problem: `${event} without msg.email` };
	const properties: WebhookEvent["properties"] = { event };
	if (event === "hard_bounce" && nonBlank(msg.bounce_description)) {
		properties.bounceDescription = msg.bounce_description as string;
	}
	return {
		// `_id` is the message's id, the same for its send, open, spam and unsub events: the event
		// name makes each one unique (and stays the same on redelivery).
		id: `${messageId}:${event}`,
		channel: "email",
		recipient,
		action,
		occurredAt: unixToIso(entry.ts),
		businessUnit: metadata(msg, "businessUnit"),
		campaign: metadata(msg, "campaign"),
		properties,
	};
}

/**
 * Sync events: `{type: "blacklist"|"whitelist", action: "add"|"remove"|"change", reject: {email,
 * reason, expired…}, ts}` (the docs now say denylist/safelist; both spellings are read).
 * - add / change (re-added after a new event): the reason is the consent event: unsub → unsubscribe,
 *   spam → complaint, hard-bounce → hard bounce. soft-bounce entries are temporary, and custom
 *   entries are the sender's own block, not something the recipient did: ignored.
 * - remove of an unsub entry: the sender deleted it (in the app or with rejects/delete) to mail the
 *   recipient again, which reverses the unsubscribe: resubscribe. An entry removed because it
 *   lapsed (`expired`) says nothing about consent and is skipped. Removing a bounce or spam entry
 *   makes the address sendable for Mandrill but says nothing about consent or deliverability: ignored.
 * - allowlist changes: ignored.
 */
function fromSyncEvent(type: string, entry: Record<string, unknown>): Outcome {
	if (type !== "blacklist" && type !== "denylist") return null;
	const change = nonBlank(entry.action);
	const reject = isRecord(entry.reject) ? entry.reject : null;
	if (!change || !reject) return { problem: `${type} sync event without action or reject` };
	const reason = nonBlank(reject.reason);
	let action: WebhookAction;
	if (change === "add" || change === "change") {
		if (reason === "unsub") action = { kind: "unsubscribe", list: null };
		else if (reason === "spam") action = { kind: "complaint" };
		else if (reason === "hard-bounce") action = { kind: "hard_bounce" };
		else return null;
	} else if (change === "remove") {
		if (reason !== "unsub" || reject.expired === true) return null;
		action = { kind: "resubscribe", list: null };
	} else {
		return null;
	}
	const recipient = nonBlank(reject.email);
	if (!recipient) return { problem: `${type} ${change} without reject.email` };
	// Sync events have no id: type, action, address and time together are stable across redeliveries.
	const at = typeof entry.ts === "number" ? String(entry.ts) : (nonBlank(reject.last_event_at) ?? "");
	const properties: WebhookEvent["properties"] = { event: type, action: change, reason };
	if (nonBlank(reject.subaccount)) properties.subaccount = reject.subaccount as string;
	return {
		id: `sync:${type}:${change}:${recipient}:${at}`,
		channel: "email",
		recipient,
		action,
		occurredAt: unixToIso(entry.ts),
		businessUnit: null,
		campaign: null,
		properties,
	};
}

const isForm = (headers: Headers): boolean => {
	const type = headers.get("content-type");
	return type === null || /^\s*application\/x-www-form-urlencoded\b/i.test(type);
};

function parse(request: WebhookRequest): ParseResult {
	if (!isForm(request.headers)) throw new WebhookBodyError("expected application/x-www-form-urlencoded");
	const text = decodeUtf8(request.body);
	if (text === null) throw new WebhookBodyError("body is not UTF-8");
	const field = new URLSearchParams(text).get(EVENTS_FIELD);
	if (field === null) return { events: [], ignored: 0, problems: [] };
	let batch: unknown;
	try {
		batch = JSON.parse(field);
	} catch {
		throw new WebhookBodyError("mandrill_events is not JSON");
	}
	if (!Array.isArray(batch)) throw new WebhookBodyError("mandrill_events is not a JSON array");

	const events: WebhookEvent[] = [];
	const problems: ParseProblem[] = [];
	let ignored = 0;
	batch.forEach((entry: unknown, index) => {
		let outcome: Outcome;
		if (!isRecord(entry)) outcome = { problem: "event is not an object" };
		else if (nonBlank(entry.event)) outcome = fromMessageEvent(entry.event as string, entry);
		else if (nonBlank(entry.type)) outcome = fromSyncEvent(entry.type as string, entry);
		else outcome = { problem: "event has neither event nor type" };
		if (outcome === null) ignored++;
		else if ("problem" in outcome) problems.push({ index, error: outcome.problem });
		else events.push(outcome);
	});
	return { events, ignored, problems };
}

export const mandrill: Provider = {
	name: "mandrill",
	configured: (env) => nonBlank(env.MANDRILL_WEBHOOK_KEY) !== null,
	verify: (request, env) => verify(request, env),
	parse: (request) => parse(request),
};
