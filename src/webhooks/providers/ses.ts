/**
 * Amazon SES notifications delivered by Amazon SNS over HTTPS (docs/providers/ses.md).
 * Envelope and signature: https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
 * and https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
 * SES records: identity notifications (`notificationType`,
 * https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html) and configuration-set event
 * publishing (`eventType`, https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html).
 *
 * The signature lives inside the JSON envelope, so a body that is not an envelope cannot be verified
 * and answers 401, not 400. Raw message delivery must be off: a raw SES record carries no signature.
 *
 * Failures that a retry can cure (fetching the certificate, confirming a subscription) throw instead
 * of refusing: the route answers 500, and SNS retries only 5xx answers (a 4xx drops the message).
 */

import { base64Decode, utf8 } from "../../crypto";
import type { Bindings } from "../../env";
import { isRecord, nonBlank } from "../parsing";
import {
	type ParseResult,
	type Provider,
	type VerifyDeps,
	type VerifyResult,
	type WebhookAction,
	WebhookBodyError,
	type WebhookEvent,
	type WebhookRequest,
} from "../provider";
import { readCertificate } from "./x509";

// SNS's HTTP/S delivery policy retries for at most 3,600 s in total
// (https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html), so a genuine
// delivery is never older than an hour; anything older is a replay of a captured request.
const MAX_AGE_SECONDS = 60 * 60;
const MAX_FUTURE_SECONDS = 5 * 60;

// sns.<region>.amazonaws.com, or .amazonaws.com.cn in the China regions; nothing before or after.
const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?$/;

type MessageType = "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation";

/** The signed fields, in the order SNS signs them ("Key\nValue\n" each); Subject only when present. */
const SUBSCRIPTION_FIELDS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
const SIGNED_FIELDS: Record<MessageType, string[]> = {
	Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
	SubscriptionConfirmation: SUBSCRIPTION_FIELDS,
	UnsubscribeConfirmation: SUBSCRIPTION_FIELDS,
};
const HASHES: Record<string, "SHA-1" | "SHA-256"> = { "1": "SHA-1", "2": "SHA-256" };

// A Permanent bounce or a complaint with this subtype means SES did not send at all because the
// address is on the account-level suppression list: the event that put it there (bounce or
// complaint, SES does not say which) came through its own notification, and this one says nothing
// new about the recipient. https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
const SUPPRESSED_SUBTYPE = "OnAccountSuppressionList";

const fail = (reason: string): VerifyResult => ({ ok: false, reason });

/** SES_TOPIC_ARNS: a comma-separated allow list. */
function pinnedTopics(env: Bindings): Set<string> {
	return new Set(
		(env.SES_TOPIC_ARNS ?? "")
			.split(",")
			.map((arn) => arn.trim())
			.filter(Boolean),
	);
}

function readEnvelope(body: Uint8Array): Record<string, unknown> | null {
	try {
		const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
		return isRecord(parsed) ? parsed : null;
	} catch {
		return null;
	}
}

/**
 * An https URL on an SNS host: no userinfo, no port but 443. The same WHATWG parser reads it here
 * and in fetch, so "sns.us-east-1.amazonaws.com.evil.com" or "sns…@evil.com" cannot pass one and
 * reach another host in the other.
 */
function snsUrl(text: string): URL | null {
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		return null;
	}
	if (url.protocol !== "https:" || url.username !== "" || url.password !== "" || url.port !== "") return null;
	return SNS_HOST.test(url.hostname) ? url : null;
}

// Imported keys by hash and certificate URL. The resolved key is kept, not a promise: workerd
// complains about promises settled in another request's context. SNS names each certificate by its
// own URL, so a few entries cover every region and rotation in use.
const KEY_CACHE_LIMIT = 32;

/** A certificate's key and validity period (Unix seconds, both ends included). */
interface SigningKey {
	key: CryptoKey;
	notBefore: number;
	notAfter: number;
}
const keys = new Map<string, SigningKey>();

/** The certificate's RSA key, or null when the certificate is not a readable X.509 RSA certificate. */
async function signingKey(url: string, hash: "SHA-1" | "SHA-256", deps: VerifyDeps): Promise<SigningKey | null> {
	const cacheKey = `${hash} ${url}`;
	const cached = keys.get(cacheKey);
	if (cached) return cached;
	// Not caught: a failed fetch is worth a retry (500), a bad certificate is not.
	const pem = await deps.fetchCertificate(url);
	let entry: SigningKey;
	try {
		const certificate = readCertificate(pem);
		// An rsaEncryption key, the kind SNS signs with (RSASSA-PKCS1-v1_5).
		if (certificate.algorithm !== "RSASSA-PKCS1-v1_5") return null;
		const key = await crypto.subtle.importKey("spki", certificate.spki, { name: "RSASSA-PKCS1-v1_5", hash }, false, [
			"verify",
		]);
		entry = { key, notBefore: certificate.notBefore.getTime() / 1000, notAfter: certificate.notAfter.getTime() / 1000 };
	} catch {
		return null;
	}
	if (keys.size >= KEY_CACHE_LIMIT) keys.delete(keys.keys().next().value as string);
	keys.set(cacheKey, entry);
	return entry;
}

function stringToSign(envelope: Record<string, unknown>, type: MessageType): string {
	let text = "";
	for (const name of SIGNED_FIELDS[type]) {
		const value = envelope[name];
		if (typeof value === "string") text += `${name}\n${value}\n`;
	}
	return text;
}

function isoOrNull(value: unknown): string | null {
	if (typeof value !== "string") return null;
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

async function verify(request: WebhookRequest, env: Bindings, deps: VerifyDeps): Promise<VerifyResult> {
	const topics = pinnedTopics(env);
	if (topics.size === 0) return fail("SES_TOPIC_ARNS is not set");
	const envelope = readEnvelope(request.body);
	if (!envelope) return fail("body is not an SNS JSON envelope");
	const type = envelope.Type;
	if (type !== "Notification" && type !== "SubscriptionConfirmation" && type !== "UnsubscribeConfirmation") {
		return fail("unknown SNS message type");
	}
	const required = SIGNED_FIELDS[type].filter((name) => name !== "Subject");
	for (const name of [...required, "SignatureVersion", "Signature", "SigningCertURL"]) {
		if (typeof envelope[name] !== "string") return fail(`envelope has no ${name}`);
	}
	if (envelope.Subject !== undefined && typeof envelope.Subject !== "string") return fail("Subject is not a string");
	const field = (name: string) => envelope[name] as string;

	const header = request.headers.get("x-amz-sns-message-type");
	if (header !== null && header !== type) return fail("x-amz-sns-message-type does not match the envelope");
	if (!topics.has(field("TopicArn"))) return fail("TopicArn is not in SES_TOPIC_ARNS");

	const published = Date.parse(field("Timestamp"));
	if (!/^\d{4}-\d{2}-\d{2}T/.test(field("Timestamp")) || Number.isNaN(published)) {
		return fail("Timestamp is not ISO 8601");
	}
	const age = deps.now() - published / 1000;
	if (age > MAX_AGE_SECONDS) return fail("message is older than the replay window");
	if (age < -MAX_FUTURE_SECONDS) return fail("Timestamp is in the future");

	const hash = HASHES[field("SignatureVersion")];
	if (!hash) return fail("unsupported SignatureVersion");
	const certificateUrl = snsUrl(field("SigningCertURL"));
	if (!certificateUrl?.pathname.endsWith(".pem") || certificateUrl.search !== "" || certificateUrl.hash !== "") {
		return fail("SigningCertURL is not an https .pem URL on an SNS host");
	}
	const signature = base64Decode(field("Signature"));
	if (!signature || signature.length === 0) return fail("Signature is not base64");

	const signing = await signingKey(field("SigningCertURL"), hash, deps);
	if (!signing) return fail("signing certificate is not an X.509 RSA certificate");
	const now = deps.now();
	if (now < signing.notBefore || now > signing.notAfter) return fail("signing certificate is expired or not yet valid");
	const valid = await crypto.subtle.verify(
		"RSASSA-PKCS1-v1_5",
		signing.key,
		signature,
		utf8(stringToSign(envelope, type)),
	);
	if (!valid) return fail("signature does not match");

	if (type === "SubscriptionConfirmation") {
		// SubscribeURL is signed, so this is SNS's own link; checked all the same before fetching it.
		const subscribe = snsUrl(field("SubscribeURL"));
		if (subscribe?.searchParams.get("Action") !== "ConfirmSubscription") {
			return fail("SubscribeURL is not an SNS ConfirmSubscription URL");
		}
		await deps.confirmSubscription(field("SubscribeURL"));
		return { ok: true, done: { status: 200, body: "Subscription confirmed." } };
	}
	if (type === "UnsubscribeConfirmation") {
		// Sent when the subscription was deleted: notifications from this topic stop here.
		console.warn(`ses: SNS subscription to ${field("TopicArn")} was removed; SES events from it no longer arrive`);
		return { ok: true, done: { status: 200, body: "Unsubscribe noted." } };
	}
	return { ok: true };
}

type Outcome = { events: WebhookEvent[]; ignored: number; problems: ParseResult["problems"] };

const ignoredOne = (): Outcome => ({ events: [], ignored: 1, problems: [] });
const problem = (error: string, index = 0): Outcome => ({ events: [], ignored: 0, problems: [{ index, error }] });

/** SES message tags are `{name: [value, …]}`; the first value counts. */
function tag(mail: Record<string, unknown>, name: string): string | null {
	const tags = mail.tags;
	if (!isRecord(tags)) return null;
	const value = tags[name];
	return nonBlank(Array.isArray(value) ? value[0] : value);
}

/** Normalizes `OptIn` / `OptOut` (event records) and `OPT_IN` / `OPT_OUT` (the SES v2 API's spelling). */
function subscribed(status: unknown): boolean | null {
	const folded = typeof status === "string" ? status.replaceAll("_", "").toLowerCase() : "";
	return folded === "optin" ? true : folded === "optout" ? false : null;
}

/**
 * One event per address of `addresses` (bouncedRecipients, complainedRecipients, mail.destination).
 * A bad entry is a problem at its index; the good ones still count.
 */
function perRecipient(
	addresses: unknown,
	address: (entry: unknown) => unknown,
	make: (recipient: string) => WebhookEvent,
	what: string,
): Outcome {
	if (!Array.isArray(addresses) || addresses.length === 0) return problem(`${what} without recipients`);
	const outcome: Outcome = { events: [], ignored: 0, problems: [] };
	addresses.forEach((entry, index) => {
		const recipient = nonBlank(address(entry));
		if (recipient) outcome.events.push(make(recipient));
		else outcome.problems.push({ index, error: `${what} recipient ${index} has no email address` });
	});
	return outcome;
}

function fromSesRecord(record: Record<string, unknown>, envelope: { messageId: string; timestamp: string }): Outcome {
	const kind = nonBlank(record.notificationType) ?? nonBlank(record.eventType);
	if (!kind) return problem("SES record has neither notificationType nor eventType");
	const mail = isRecord(record.mail) ? record.mail : {};
	const base = (recipient: string, action: WebhookAction, at: unknown, properties: WebhookEvent["properties"]) => ({
		// The SNS MessageId is the same on every redelivery; the recipient tells the events of one
		// notification apart.
		id: `${envelope.messageId}:${recipient}`,
		channel: "email" as const,
		recipient,
		action,
		occurredAt: isoOrNull(at) ?? isoOrNull(envelope.timestamp),
		businessUnit: tag(mail, "businessUnit"),
		campaign: tag(mail, "campaign"),
		properties,
	});
	const emailAddress = (entry: unknown) => (isRecord(entry) ? entry.emailAddress : null);

	switch (kind) {
		case "Bounce": {
			const bounce = record.bounce;
			if (!isRecord(bounce)) return problem("Bounce without bounce object");
			// Transient and Undetermined bounces are soft: not consent events.
			if (bounce.bounceType !== "Permanent" || bounce.bounceSubType === SUPPRESSED_SUBTYPE) return ignoredOne();
			const properties: WebhookEvent["properties"] = { event: kind, bounceType: "Permanent" };
			if (nonBlank(bounce.bounceSubType)) properties.bounceSubType = bounce.bounceSubType as string;
			if (nonBlank(bounce.feedbackId)) properties.feedbackId = bounce.feedbackId as string;
			return perRecipient(
				bounce.bouncedRecipients,
				emailAddress,
				(recipient) => base(recipient, { kind: "hard_bounce" }, bounce.timestamp, properties),
				"Bounce",
			);
		}
		case "Complaint": {
			const complaint = record.complaint;
			if (!isRecord(complaint)) return problem("Complaint without complaint object");
			if (complaint.complaintSubType === SUPPRESSED_SUBTYPE) return ignoredOne();
			const properties: WebhookEvent["properties"] = { event: kind };
			if (nonBlank(complaint.complaintFeedbackType)) {
				properties.complaintFeedbackType = complaint.complaintFeedbackType as string;
			}
			if (nonBlank(complaint.feedbackId)) properties.feedbackId = complaint.feedbackId as string;
			return perRecipient(
				complaint.complainedRecipients,
				emailAddress,
				(recipient) => base(recipient, { kind: "complaint" }, complaint.timestamp, properties),
				"Complaint",
			);
		}
		case "Subscription": {
			// SES list management: the recipient changed their topic preferences through SES's own
			// unsubscribe link or List-Unsubscribe header. The record names no recipient besides the
			// mail's destination.
			const subscription = record.subscription;
			if (!isRecord(subscription) || !isRecord(subscription.newTopicPreferences)) {
				return problem("Subscription without newTopicPreferences");
			}
			const preferences = subscription.newTopicPreferences;
			const statuses = Array.isArray(preferences.topicSubscriptionStatus) ? preferences.topicSubscriptionStatus : [];
			const lists: Array<{ list: string; subscribed: boolean }> = [];
			for (const status of statuses) {
				const list = isRecord(status) ? nonBlank(status.topicName) : null;
				const value = isRecord(status) ? subscribed(status.subscriptionStatus) : null;
				if (list && value !== null) lists.push({ list, subscribed: value });
			}
			const action: WebhookAction = {
				kind: "topic_preferences",
				unsubscribeAll: preferences.unsubscribeAll === true,
				lists,
			};
			const properties: WebhookEvent["properties"] = { event: kind };
			if (nonBlank(subscription.contactList)) properties.contactList = subscription.contactList as string;
			if (nonBlank(subscription.source)) properties.source = subscription.source as string;
			return perRecipient(
				mail.destination,
				(entry) => entry,
				(recipient) => base(recipient, action, subscription.timestamp, properties),
				"Subscription",
			);
		}
		default:
			// Send, Delivery, Open, Click, Reject, DeliveryDelay, Rendering Failure…
			return ignoredOne();
	}
}

function parse(request: WebhookRequest): ParseResult {
	const envelope = readEnvelope(request.body);
	if (!envelope) throw new WebhookBodyError("body is not an SNS JSON envelope");
	if (typeof envelope.Type !== "string") throw new WebhookBodyError("SNS envelope has no Type");
	// Subscription messages are answered during verification and never reach here.
	if (envelope.Type !== "Notification") return ignoredOne();
	const messageId = nonBlank(envelope.MessageId);
	if (!messageId || typeof envelope.Message !== "string") {
		throw new WebhookBodyError("SNS notification without MessageId or Message");
	}
	let record: unknown;
	try {
		record = JSON.parse(envelope.Message);
	} catch {
		// SES itself publishes a plain-text notice to a topic when it is set up as a destination
		// ("Successfully validated SNS topic…"); text that is not even trying to be JSON is such a notice.
		return envelope.Message.trimStart().startsWith("{") ? problem("Message is not valid JSON") : ignoredOne();
	}
	if (!isRecord(record)) return problem("Message is not a JSON object");
	return fromSesRecord(record, {
		messageId,
		timestamp: typeof envelope.Timestamp === "string" ? envelope.Timestamp : "",
	});
}

export const ses: Provider = {
	name: "ses",
	configured: (env) => pinnedTopics(env).size > 0,
	verify: (request, env, deps) => verify(request, env, deps),
	parse: (request) => parse(request),
};
