/**
 * The contract every provider file (src/webhooks/providers/<name>.ts) fulfils.
 *
 * A request flows: route reads the raw bytes → `provider.verify` (on the raw bytes, before any
 * parsing) → `provider.parse` turns the body into normalized WebhookEvents → the route puts them on
 * WEBHOOK_QUEUE → the consumer maps each to consent events (src/webhooks/mapping.ts: providerRefs,
 * ESP_UNSUBSCRIBE_POLICY) and applies them through the contact's Durable Object, with
 * `${provider}:${id}` as idempotency key.
 *
 * Provider files know the provider's wire format and signature scheme and nothing about topics,
 * policies or storage.
 */
import type { Bindings } from "../env";

export const PROVIDER_NAMES = ["sendgrid", "mailgun", "mailjet", "mandrill", "postmark", "ses", "twilio"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** The request as received; `body` holds the exact bytes the signature covers. */
export interface WebhookRequest {
	/** The full URL as called, query included (Twilio signs it). */
	url: string;
	method: string;
	headers: Headers;
	body: Uint8Array;
}

/**
 * What a provider event means for consent, before topics and policy are looked at:
 * - `unsubscribe`: the recipient unsubscribed (from `list` when the provider names a group/list,
 *   else from the provider's mail as a whole);
 * - `resubscribe`: the reverse (of `list`, or of a provider-wide unsubscribe);
 * - `complaint`: a spam complaint;
 * - `hard_bounce`: permanently undeliverable (soft/transient bounces are not events at all);
 * - `opt_out` / `opt_in`: channel-wide, e.g. SMS STOP / START keywords;
 * - `topic_preferences`: a provider's per-list statuses (SES subscription events).
 */
export type WebhookAction =
	| { kind: "unsubscribe"; list: string | null }
	| { kind: "resubscribe"; list: string | null }
	| { kind: "complaint" }
	| { kind: "hard_bounce" }
	| { kind: "opt_out" }
	| { kind: "opt_in" }
	| {
			kind: "topic_preferences";
			/** true when the recipient unsubscribed from every list of the sender (SES unsubscribeAll). */
			unsubscribeAll: boolean;
			lists: Array<{ list: string; subscribed: boolean }>;
	  };

/** One normalized provider event; JSON-serializable (it travels through the queue). */
export interface WebhookEvent {
	/** The provider's unique event id (sg_event_id, event-data.id, MessageSid, SNS MessageId + recipient…). Stable across redeliveries. */
	id: string;
	/** whatsapp: Twilio's WhatsApp senders reply STOP to the same webhook as SMS. */
	channel: "email" | "sms" | "whatsapp";
	/** Raw recipient as the provider gives it; the consumer normalizes (email lower-cased, phone E.164). */
	recipient: string;
	action: WebhookAction;
	/** ISO 8601 UTC when the provider says it happened, else null (the consumer uses receipt time). */
	occurredAt: string | null;
	/** `businessUnit` when the sender attached it as a custom argument / metadata / user variable. */
	businessUnit: string | null;
	/** `campaign` custom argument, if any. */
	campaign: string | null;
	/** The provider's own event name and small details worth keeping in the ledger (reason, bounce type…). */
	properties: Record<string, string | number | boolean | null>;
}

/** An event of the batch that could not be understood; the good ones still apply. */
export interface ParseProblem {
	index: number;
	error: string;
}

export interface ParseResult {
	events: WebhookEvent[];
	/** Events the provider sent that mean nothing for consent (opens, deliveries, soft bounces…). */
	ignored: number;
	problems: ParseProblem[];
	/**
	 * The body to answer with instead of the default `{accepted, …}` JSON, e.g. TwiML for Twilio.
	 * Only used after the events are queued.
	 */
	reply?: { contentType: string; body: string };
}

/** What verification may need from outside; injectable so tests use their own certificates. */
export interface VerifyDeps {
	/** Fetches a signing certificate (SNS). Default: global fetch with caching. */
	fetchCertificate: (url: string) => Promise<string>;
	/** Fetches a URL to confirm an SNS subscription. Default: global fetch. */
	confirmSubscription: (url: string) => Promise<void>;
	/** Seconds since the epoch; injectable for stale-timestamp tests. */
	now: () => number;
	/** Records a token once; false when it was seen before (Mailgun replay refusal). */
	rememberToken: (provider: ProviderName, token: string, ttlSeconds: number) => Promise<boolean>;
}

export type VerifyResult =
	| { ok: true }
	/** 401, nothing stored. `reason` is for logs/tests, never the secret. */
	| { ok: false; reason: string }
	/** Handled entirely during verification (SNS SubscriptionConfirmation): answer this, queue nothing. */
	| { ok: true; done: { status: number; body: string } };

export interface Provider {
	name: ProviderName;
	/** Whether its secret is configured; without it the route answers 404. */
	configured(env: Bindings): boolean;
	verify(request: WebhookRequest, env: Bindings, deps: VerifyDeps): Promise<VerifyResult>;
	/**
	 * Parses a verified body. Throws WebhookBodyError when the body as a whole is unreadable (400);
	 * single bad events go to `problems`.
	 */
	parse(request: WebhookRequest, env: Bindings): ParseResult;
}

/** The whole body is unreadable (not JSON, wrong content type, wrong top-level shape): 400. */
export class WebhookBodyError extends Error {}
