import { ConsentError } from "../consent/errors";
import { canonicalEvent } from "../consent/normalize";
import { CONFIRMATION_REQUIRED } from "../consent/reducer";
import { addressKindOf } from "../consent/suppression";
import { occurrenceTime } from "../consent/topics";
import type { IncomingEvent, TopicDefinition } from "../consent/types";
import { resolveEvent } from "../consent/validate-event";
import type { Contact } from "../db/contacts";
import { findSuppressed } from "../db/suppressions";
import { loadTopics } from "../db/topics";
import { type Bindings, getConfig } from "../env";
import { ApiError } from "../http/errors";
import { CONFIRM_LINK_LIFETIME_SECONDS } from "../links/token";
import type { ApplyResult, ContactActor, EventContext, EventToApply } from "./contact-actor";

export type { IncomingEvent } from "../consent/types";

export interface Confirmation {
	topic: string;
	confirmUrl: string;
}

export interface RecordResult extends ApplyResult {
	confirmations: Confirmation[];
}

/** The contact's actor. RPC typing loses `unknown` fields (traits), so the stub is typed as the class. */
export function actorFor(
	env: Bindings,
	contactId: string,
): Pick<ContactActor, "applyEvents" | "updateProfile" | "erase"> {
	// The RPC stub's generated types turn results holding `unknown` (traits, properties) into
	// `never`, so the stub is typed as the class it forwards to.
	return env.CONTACT_ACTOR.get(env.CONTACT_ACTOR.idFromName(contactId)) as unknown as ContactActor;
}

/**
 * The one write path for consent events (API, pages, webhook consumer, importer): checks every
 * event against the topics first (nothing is written when one is bad), then hands the batch to the
 * contact's actor. `linkBase` gives the origin for confirmation links of double-opt-in topics.
 */
export async function recordEvents(
	env: Bindings,
	target: { businessUnit: string; contact: () => Promise<Contact> },
	incoming: IncomingEvent[],
	context: EventContext,
	linkBase: LinkBase,
	topics?: Map<string, TopicDefinition>,
): Promise<RecordResult> {
	const topicMap = topics ?? (await loadTopics(env));
	const events = resolveIncoming(incoming, context, topicMap, target.businessUnit);

	// Links are made from a known origin, or not at all: checked before anything is written.
	const base = events.some((e) => e.event === "Subscribe") ? linkBase() : null;
	const contact = await target.contact();
	await requireConfirmationWhereSuppressed(env, contact, events, topicMap);
	const confirmations = base ? await attachConfirmationLinks(env, contact.id, events, topicMap, base) : new Map();

	const result = await actorFor(env, contact.id).applyEvents(contact, events, context, [...topicMap.values()]);
	return {
		...result,
		// A retried request gets its links again, as long as the topic still waits for confirmation.
		confirmations: [...confirmations]
			.filter(([topic]) => result.contact.consent.topics[topic]?.status === "pending")
			.map(([topic, confirmUrl]) => ({ topic, confirmUrl })),
	};
}

/**
 * Signs a confirmation link for each Subscribe of `events` that waits for confirmation (a
 * double-opt-in topic, or a suppressed address) and records it on the event; answers them by topic.
 */
export async function attachConfirmationLinks(
	env: Bindings,
	contactId: string,
	events: EventToApply[],
	topicMap: Map<string, TopicDefinition>,
	base: string,
): Promise<Map<string, string>> {
	const confirmations = new Map<string, string>();
	const doubleOptIn = events.filter(
		(e) =>
			e.event === "Subscribe" &&
			e.topic &&
			(topicMap.get(e.topic)?.doubleOptIn || e.properties[CONFIRMATION_REQUIRED] === true),
	);
	if (doubleOptIn.length === 0) return confirmations;
	const signer = await getConfig(env).linkSigner;
	const issuedAt = Math.floor(Date.now() / 1000);
	for (const event of doubleOptIn) {
		const topic = event.topic as string;
		const token = await signer.sign({
			purpose: "confirm",
			subject: { contactId },
			channel: event.channel ?? undefined,
			topic,
			issuedAt,
			expiresAt: issuedAt + CONFIRM_LINK_LIFETIME_SECONDS,
		});
		event.confirmUrl = `${base}/c/${token}`;
		confirmations.set(topic, event.confirmUrl);
	}
	return confirmations;
}

/**
 * Incoming events checked against the topics and made ready for the actor; throws ConsentError
 * (nothing is written) when one is bad. `context.receivedAt` is the time of events without one.
 */
export function resolveIncoming(
	incoming: readonly IncomingEvent[],
	context: EventContext,
	topics: Map<string, TopicDefinition>,
	businessUnit: string,
): EventToApply[] {
	const topicOf = (key: string) => topics.get(key);
	const events: EventToApply[] = [];
	const errors: Array<{ path: string; message: string }> = [];
	incoming.forEach((raw, index) => {
		const occurredAt = occurrenceTime(raw.timestamp, context.receivedAt);
		const resolved = resolveEvent(
			{
				...canonicalEvent(raw.event, raw.channel ?? null),
				topic: raw.topic ?? null,
				properties: withoutServiceProperties(raw.properties ?? {}),
				occurredAt,
			},
			topicOf,
			businessUnit,
		);
		if ("error" in resolved) errors.push({ path: `events.${index}`, message: resolved.error });
		else {
			const event: EventToApply = { ...resolved.event, idempotencyKey: raw.idempotencyKey ?? null };
			if (raw.onlyIfItChanges) event.onlyIfItChanges = true;
			events.push(event);
		}
	});
	if (errors.length > 0) throw new ConsentError("invalid_event", `${errors[0]?.path}: ${errors[0]?.message}`, errors);
	return events;
}

export function requestContext(
	request: Request,
	source: EventContext["source"],
	campaign: string | null = null,
): EventContext {
	return {
		source,
		ip: request.headers.get("cf-connecting-ip") ?? request.headers.get("x-real-ip"),
		userAgent: request.headers.get("user-agent"),
		campaign,
		receivedAt: new Date().toISOString(),
	};
}

/** The origin links start with, asked for only when a link is made. */
export type LinkBase = () => string;

const LOOPBACK_HOST = /^(localhost|[^.]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The origin for links: PUBLIC_BASE_URL when set. Without it, the request's own origin only when
 * that is a loopback host (local development): a Host header is whatever the client sends, and
 * links to an attacker's host would carry valid tokens there.
 */
export function linkBaseFor(env: Bindings, request: Request): LinkBase {
	return () => {
		const configured = getConfig(env).publicBaseUrl;
		if (configured) return configured;
		const url = new URL(request.url);
		if (LOOPBACK_HOST.test(url.hostname)) return url.origin;
		throw new ApiError(
			409,
			"CONFIGURATION_REQUIRED",
			"Links can only be made once PUBLIC_BASE_URL is set (the public origin of this service, e.g. https://consent.example.com).",
		);
	};
}

/** Properties only the service sets; a caller's copy is dropped. */
function withoutServiceProperties(properties: Record<string, unknown>): Record<string, unknown> {
	if (!(CONFIRMATION_REQUIRED in properties)) return properties;
	const { [CONFIRMATION_REQUIRED]: _, ...rest } = properties;
	return rest;
}

/**
 * A Subscribe for a suppressed address always goes through confirmation, even for a
 * topic without double opt-in, so that the person can come back through the link. One lookup,
 * only for calls that subscribe.
 */
async function requireConfirmationWhereSuppressed(
	env: Bindings,
	contact: Contact,
	events: EventToApply[],
	topics: Map<string, TopicDefinition>,
): Promise<void> {
	const addressOf = (event: EventToApply) => {
		const topic = event.event === "Subscribe" && event.topic ? topics.get(event.topic) : undefined;
		const kind = topic ? addressKindOf(topic.channel) : null;
		return kind ? contact[kind] : null;
	};
	const addresses = events.map(addressOf).filter((address): address is string => !!address);
	if (addresses.length === 0) return;
	const suppressed = await findSuppressed(env, addresses);
	for (const event of events) {
		const address = addressOf(event);
		if (address && suppressed.has(address)) event.properties = { ...event.properties, [CONFIRMATION_REQUIRED]: true };
	}
}
