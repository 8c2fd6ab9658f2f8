/**
 * The contract every provider file (src/webhooks/providers/<name>.ts) fulfils.
 *
 * A request flows: route reads the raw bytes → `provider.verify` (on the raw bytes, before any
 * parsing) → `provider.parse` turns the body into normalized WebhookEvents → the route puts them on
 * WEBHOOK_QUEUE → the consumer maps each to consent events (src/consent/provider-events.ts: providerRefs,
 * ESP_UNSUBSCRIBE_POLICY) and applies them through the contact's Durable Object, with
 * `${provider}:${id}` as idempotency key.
 *
 * Provider files know the provider's wire format and signature scheme and nothing about topics,
 * policies or storage.
 */

import type { ProviderName, WebhookEvent } from "../consent/provider-events";
import type { Bindings } from "../env";

export { PROVIDER_NAMES, type ProviderName, type WebhookAction, type WebhookEvent } from "../consent/provider-events";

/** The request as received; `body` holds the exact bytes the signature covers. */
export interface WebhookRequest {
	/** The full URL as called, query included (Twilio signs it). */
	url: string;
	method: string;
	headers: Headers;
	body: Uint8Array;
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
