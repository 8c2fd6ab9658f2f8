/**
 * Twilio inbound SMS (docs/providers/twilio.md): a form POST per message, answered with TwiML.
 * Signature: https://www.twilio.com/docs/usage/security#validating-requests
 * Parameters: https://www.twilio.com/docs/messaging/guides/webhook-request
 * Opt-out keywords and Advanced Opt-Out (OptOutType):
 * https://help.twilio.com/articles/223134027 ("Twilio support for opt-out keywords") and
 * https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out
 *
 * The signature covers the URL Twilio called, query included, then every POST parameter: Twilio
 * adds parameters without notice, so all received ones count. How Twilio's own validators
 * (twilio-node, twilio-python) build it, and so what is accepted here:
 * - names sorted; a name sent more than once contributes each of its values, sorted;
 * - twilio-node drops repeated equal values and twilio-python keeps them: both forms are accepted;
 * - Twilio may sign the URL with or without the default port (":443"): both are accepted.
 * JSON bodies signed through a `bodySHA256` query parameter are other Twilio products, not SMS.
 */

import { base64Encode, hmac, signaturesEqual, utf8 } from "../../crypto";
import type { Bindings } from "../../env";
import { decodeUtf8 } from "../parsing";
import { type ParseResult, type Provider, type VerifyResult, WebhookBodyError, type WebhookRequest } from "../provider";

const SIGNATURE_HEADER = "x-twilio-signature";

const OPT_OUT_KEYWORDS = new Set(["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"]);
const OPT_IN_KEYWORDS = new Set(["start", "yes", "unstop"]);
const HELP_KEYWORDS = new Set(["help", "info"]);

// The answer to HELP/INFO. Wording after CTIA's guidelines for recurring programs; the "&" is
// escaped like anything put into TwiML.
export const HELP_TEXT = "Reply STOP to unsubscribe or START to resubscribe. Msg&data rates may apply.";

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

const nonBlank = (value: string | null): string | null => (value !== null && value.trim() !== "" ? value : null);

/** Code point order, as Python's sort (twilio-python); differs from `<` only beyond the BMP. */
function byCodePoint(a: string, b: string): number {
	const left = [...a];
	const right = [...b];
	for (let index = 0; index < Math.min(left.length, right.length); index++) {
		const difference = (left[index]?.codePointAt(0) ?? 0) - (right[index]?.codePointAt(0) ?? 0);
		if (difference !== 0) return difference;
	}
	return left.length - right.length;
}

/** The parameter part of the signed text, and its variant without repeated equal values (or null). */
function parameterTexts(form: URLSearchParams): [string, string | null] {
	const byName = new Map<string, string[]>();
	for (const [name, value] of form) byName.set(name, [...(byName.get(name) ?? []), value]);
	let all = "";
	let distinct = "";
	for (const name of [...byName.keys()].sort(byCodePoint)) {
		const values = (byName.get(name) ?? []).sort(byCodePoint);
		for (const value of values) all += name + value;
		for (const value of new Set(values)) distinct += name + value;
	}
	return [all, distinct === all ? null : distinct];
}

/** The URL as received, and with the default port left out and spelled out. */
function urlForms(raw: string): string[] {
	const forms = new Set([raw]);
	try {
		const url = new URL(raw);
		if (url.port === "") {
			forms.add(url.href);
			const port = url.protocol === "https:" ? "443" : "80";
			const userinfo = url.username ? `${url.username}${url.password ? `:${url.password}` : ""}@` : "";
			forms.add(`${url.protocol}//${userinfo}${url.hostname}:${port}${url.pathname}${url.search}`);
		}
	} catch {
		// Not a URL: only the text as given can have been signed.
	}
	return [...forms];
}

async function verify(request: WebhookRequest, env: Bindings): Promise<VerifyResult> {
	const token = nonBlank(env.TWILIO_AUTH_TOKEN ?? null);
	if (!token) return fail("TWILIO_AUTH_TOKEN is not set");
	const given = request.headers.get(SIGNATURE_HEADER)?.trim();
	if (!given) return fail("no X-Twilio-Signature header");
	const text = decodeUtf8(request.body);
	if (text === null) return fail("body is not UTF-8");
	const [all, distinct] = parameterTexts(new URLSearchParams(text));
	let valid = false;
	// Every candidate is compared, so the time taken does not tell which one came close.
	for (const url of urlForms(request.url)) {
		for (const parameters of distinct === null ? [all] : [all, distinct]) {
			const expected = base64Encode(await hmac("SHA-1", token, utf8(url + parameters)));
			if (await signaturesEqual(given, expected)) valid = true;
		}
	}
	return valid ? { ok: true } : fail("signature does not match");
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] ?? char);

/** A TwiML answer: empty (no reply SMS) or with one message. */
export function twiml(message?: string): { contentType: string; body: string } {
	const inner = message === undefined ? "" : `<Message>${escapeXml(message)}</Message>`;
	return {
		contentType: "application/xml",
		body: `<?xml version="1.0" encoding="UTF-8"?><Response>${inner}</Response>`,
	};
}

type Keyword = "opt_out" | "opt_in" | "help";

/**
 * What the message asks for. With Advanced Opt-Out, Twilio has already matched the sender's own
 * keyword lists (custom keywords and languages included) and says so in OptOutType, which wins;
 * otherwise the whole trimmed, case-folded body must be a keyword ("stop please" is not).
 */
function keyword(form: URLSearchParams): { keyword: Keyword; byTwilio: boolean } | null {
	const optOutType = form.get("OptOutType")?.trim().toUpperCase();
	if (optOutType === "STOP") return { keyword: "opt_out", byTwilio: true };
	if (optOutType === "START") return { keyword: "opt_in", byTwilio: true };
	if (optOutType === "HELP") return { keyword: "help", byTwilio: true };
	const body = (form.get("Body") ?? "").trim().toLowerCase();
	if (OPT_OUT_KEYWORDS.has(body)) return { keyword: "opt_out", byTwilio: false };
	if (OPT_IN_KEYWORDS.has(body)) return { keyword: "opt_in", byTwilio: false };
	if (HELP_KEYWORDS.has(body)) return { keyword: "help", byTwilio: false };
	return null;
}

function parse(request: WebhookRequest): ParseResult {
	const type = request.headers.get("content-type");
	if (type !== null && !/^\s*application\/x-www-form-urlencoded\b/i.test(type)) {
		throw new WebhookBodyError("expected application/x-www-form-urlencoded");
	}
	const text = decodeUtf8(request.body);
	if (text === null) throw new WebhookBodyError("body is not UTF-8");
	if (text.trim() === "") throw new WebhookBodyError("body is empty");
	const form = new URLSearchParams(text);
	// Twilio reads the answer as TwiML, whatever happened: an empty <Response> sends nothing back.
	const empty = twiml();
	const matched = keyword(form);
	if (!matched) return { events: [], ignored: 1, problems: [], reply: empty };
	if (matched.keyword === "help") {
		// With OptOutType, Twilio's Advanced Opt-Out has answered already: a second answer would be noise.
		return { events: [], ignored: 1, problems: [], reply: matched.byTwilio ? empty : twiml(HELP_TEXT) };
	}
	const from = nonBlank(form.get("From"));
	// SmsSid / SmsMessageSid are the older names of MessageSid, still sent alongside it.
	const id = nonBlank(form.get("MessageSid")) ?? nonBlank(form.get("SmsMessageSid")) ?? nonBlank(form.get("SmsSid"));
	if (!from || !id) {
		return {
			events: [],
			ignored: 0,
			problems: [{ index: 0, error: "message without From or MessageSid" }],
			reply: empty,
		};
	}
	// Other channels reach the same webhook with the address prefixed ("whatsapp:+49…"). WhatsApp
	// keywords apply to the whatsapp channel. RCS counts as SMS: Twilio unifies RCS, SMS and MMS
	// opt-outs per sender since March 2026 (article 223134027). Other prefixes are not ours.
	const prefix = /^([a-z]+):/i.exec(from)?.[1]?.toLowerCase();
	if (prefix !== undefined && prefix !== "rcs" && prefix !== "whatsapp") {
		return { events: [], ignored: 1, problems: [], reply: empty };
	}
	const channel = prefix === "whatsapp" ? "whatsapp" : "sms";
	const recipient = prefix === undefined ? from : from.slice(prefix.length + 1);
	// With OptOutType the body is whatever custom keyword Twilio matched: kept short for the ledger.
	const properties: Record<string, string> = { keyword: (form.get("Body") ?? "").trim().toLowerCase().slice(0, 64) };
	const optOutType = nonBlank(form.get("OptOutType"));
	if (optOutType) properties.optOutType = optOutType.trim().toUpperCase();
	const to = nonBlank(form.get("To"));
	if (to) properties.to = to;
	return {
		events: [
			{
				id,
				channel,
				recipient,
				action: { kind: matched.keyword },
				occurredAt: null,
				businessUnit: null,
				campaign: null,
				properties,
			},
		],
		ignored: 0,
		problems: [],
		// Twilio confirms STOP and START itself (its default handling on US/Canadian numbers, or
		// Advanced Opt-Out), and an answer to a number that just opted out is not delivered anyway.
		reply: empty,
	};
}

export const twilio: Provider = {
	name: "twilio",
	configured: (env) => nonBlank(env.TWILIO_AUTH_TOKEN ?? null) !== null,
	verify: (request, env) => verify(request, env),
	parse: (request) => parse(request),
};
