import { canonicalEventName } from "../consent/normalize";
import type { Channel, TopicDefinition } from "../consent/types";
import { resolveEvent } from "../consent/validate-event";
import { type Bindings, getConfig } from "../env";
import { invalid } from "../http/errors";
import { CONFIRM_LINK_LIFETIME_SECONDS } from "../links/token";
import { loadTopics } from "../topics/topics";
import type { ApplyResult, ContactActor, EventContext, EventToApply } from "./contact-actor";
import type { Contact } from "./contact-row";

/** An event as callers send it (validated for shape, not yet against topics). */
export interface IncomingEvent {
	event: string;
	channel?: Channel | null;
	topic?: string | null;
	properties?: Record<string, unknown>;
	timestamp?: string;
	idempotencyKey?: string | null;
}

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
	return env.CONTACT_ACTOR.get(env.CONTACT_ACTOR.idFromName(contactId)) as unknown as ContactActor;
}

/**
 * The one write path for consent events (API, pages, webhook consumer, importer): checks every
 * event against the topics first (nothing is written when one is bad), then hands the batch to the
 * contact's actor. `linkBase` is the origin for confirmation links of double-opt-in topics.
 */
export async function recordEvents(
	env: Bindings,
	target: { businessUnit: string; contact: () => Promise<Contact> },
	incoming: IncomingEvent[],
	context: EventContext,
	linkBase: string,
	topics?: Map<string, TopicDefinition>,
): Promise<RecordResult> {
	const topicMap = topics ?? (await loadTopics(env));
	const topicOf = (key: string) => topicMap.get(key);
	const events: EventToApply[] = [];
	const errors: Array<{ path: string; message: string }> = [];
	incoming.forEach((raw, index) => {
		const occurredAt = raw.timestamp && raw.timestamp < context.receivedAt ? raw.timestamp : context.receivedAt;
		const resolved = resolveEvent(
			{
				event: canonicalEventName(raw.event),
				channel: raw.channel ?? null,
				topic: raw.topic ?? null,
				properties: raw.properties ?? {},
				occurredAt,
			},
			topicOf,
			target.businessUnit,
		);
		if ("error" in resolved) errors.push({ path: `events.${index}`, message: resolved.error });
		else events.push({ ...resolved.event, idempotencyKey: raw.idempotencyKey ?? null });
	});
	if (errors.length > 0) throw invalid(`${errors[0]?.path}: ${errors[0]?.message}`, errors);

	const contact = await target.contact();
	const confirmations = new Map<string, string>();
	const doubleOptIn = events.filter((e) => e.event === "Subscribe" && e.topic && topicMap.get(e.topic)?.doubleOptIn);
	if (doubleOptIn.length > 0) {
		const signer = await getConfig(env).linkSigner;
		const issuedAt = Math.floor(Date.now() / 1000);
		for (const event of doubleOptIn) {
			const topic = event.topic as string;
			const token = await signer.sign({
				purpose: "confirm",
				subject: { contactId: contact.id },
				channel: event.channel ?? undefined,
				topic,
				issuedAt,
				expiresAt: issuedAt + CONFIRM_LINK_LIFETIME_SECONDS,
			});
			event.confirmUrl = `${linkBase}/c/${token}`;
			confirmations.set(topic, event.confirmUrl);
		}
	}

	const result = await actorFor(env, contact.id).applyEvents(contact.id, events, context, [...topicMap.values()]);
	return {
		...result,
		// A retried request gets its links again, as long as the topic still waits for confirmation.
		confirmations: [...confirmations]
			.filter(([topic]) => result.contact.consent.topics[topic]?.status === "pending")
			.map(([topic, confirmUrl]) => ({ topic, confirmUrl })),
	};
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

/** The origin for links: PUBLIC_BASE_URL when set, else the request's own. */
export function linkBaseFor(env: Bindings, request: Request): string {
	return getConfig(env).publicBaseUrl ?? new URL(request.url).origin;
}
