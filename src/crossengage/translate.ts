/**
 * The CrossEngage-compatible API in the native model: pure translation, no I/O and no consent
 * rule of its own. A user or lead body becomes a profile update (identity and traits) plus native
 * consent events; an events body becomes native events. What the events change is decided where
 * every other event is decided: recordEvents, the contact's actor, the reducer.
 */
import { topicAvailableIn } from "../consent/topics";
import type { Channel, ConsentState, IncomingEvent, TopicDefinition, TopicStatus } from "../consent/types";

/** The provider name under which a topic's `providerRefs` names the CrossEngage trait it stands for. */
const PROVIDER = "crossengage";

/** CrossEngage's `channel.type` values (any case) and the channel each names. */
export const CHANNEL_TYPES: Readonly<Record<string, Channel>> = {
	MAIL: "email",
	SMS: "sms",
	WHATSAPP: "whatsapp",
	PUSH: "push",
};

export const CHANNEL_TYPE_LIST = Object.keys(CHANNEL_TYPES).join(", ");

/** The channel a `channel.type` names, or null for a value CrossEngage does not have. */
export function channelOfType(type: string): Channel | null {
	return CHANNEL_TYPES[type.trim().toUpperCase()] ?? null;
}

/** Keys of a user or lead body that name the contact; every other key but `optOut` is a trait. */
export const IDENTITY_KEYS = ["id", "email", "businessUnit", "phone"] as const;

/** The trait CrossEngage keeps the system opt-out in; here it is events, never a stored trait. */
export const OPT_OUT_KEY = "optOut";

/** `optOut` as CrossEngage takes it: a boolean, or "true"/"false" in any case; null when it is neither. */
export function parseOptOut(value: unknown): boolean | null {
	if (typeof value === "boolean") return value;
	if (typeof value !== "string") return null;
	const text = value.trim().toLowerCase();
	return text === "true" ? true : text === "false" ? false : null;
}

/** The values a trait that stands for a topic may hold, and the topic status each asks for. */
const TRAIT_STATUSES: Readonly<Record<string, TopicStatus>> = {
	pending: "pending",
	subscribed: "subscribed",
	confirmed: "subscribed",
	unsubscribed: "unsubscribed",
};

export const TRAIT_STATUS_LIST = Object.keys(TRAIT_STATUSES)
	.map((value) => `"${value}"`)
	.join(", ");

function wantedStatus(value: unknown): TopicStatus | null {
	return typeof value === "string" ? (TRAIT_STATUSES[value.trim().toLowerCase()] ?? null) : null;
}

/**
 * A body of PUT /crossengage/users or /leads split into what it names: identity fields, traits
 * (every other key, `null` meaning "remove") and the system opt-out.
 */
export function splitProfile(body: Record<string, unknown>): {
	traits: Record<string, unknown>;
	optOut: unknown;
} {
	const named = new Set<string>([...IDENTITY_KEYS, OPT_OUT_KEY]);
	// fromEntries defines own properties: a "__proto__" key stays a key.
	const traits = Object.fromEntries(Object.entries(body).filter(([key]) => !named.has(key)));
	return { traits, optOut: body[OPT_OUT_KEY] };
}

/** The topics of a business unit (its own and the global ones) that a trait key stands for. */
export function topicsByTrait(topics: Iterable<TopicDefinition>, businessUnit: string): Map<string, TopicDefinition[]> {
	const byTrait = new Map<string, TopicDefinition[]>();
	for (const topic of topics) {
		const trait = topic.providerRefs[PROVIDER];
		if (!trait || !topicAvailableIn(topic, businessUnit)) continue;
		byTrait.set(trait, [...(byTrait.get(trait) ?? []), topic]);
	}
	return byTrait;
}

/** A value as a problem quotes it: JSON, cut short. */
const shown = (value: unknown) => {
	const text = JSON.stringify(value) ?? String(value);
	return text.length > 60 ? `${text.slice(0, 60)}…` : text;
};

/** Traits standing for a topic whose value is no status (a null only removes the trait). */
export function mappedTraitProblems(
	traits: Record<string, unknown>,
	byTrait: Map<string, TopicDefinition[]>,
): Array<{ key: string; message: string }> {
	const problems: Array<{ key: string; message: string }> = [];
	for (const [key, value] of Object.entries(traits)) {
		const topics = byTrait.get(key);
		if (!topics || value === null || wantedStatus(value)) continue;
		const keys = topics.map((topic) => `"${topic.key}"`).join(", ");
		problems.push({
			key,
			message: `trait "${key}" stands for topic ${keys}: its value must be one of ${TRAIT_STATUS_LIST} (any case), or null to remove the trait; got ${shown(value)}`,
		});
	}
	return problems;
}

/** Whether the traits may ask for a Subscribe (which needs the origin of confirmation links). */
export function maySubscribe(traits: Record<string, unknown>, byTrait: Map<string, TopicDefinition[]>): boolean {
	return Object.entries(traits).some(([key, value]) => {
		const wanted = byTrait.has(key) ? wantedStatus(value) : null;
		return wanted === "pending" || wanted === "subscribed";
	});
}

/**
 * The native events that bring a topic to the status a trait asks for, given the status the contact
 * has now: the same events a sender would post to /v1/events.
 */
function eventsToReach(
	topic: TopicDefinition,
	wanted: TopicStatus,
	current: TopicStatus | undefined,
): Array<"Subscribe" | "Confirm Subscription" | "Unsubscribe"> {
	switch (wanted) {
		case "pending":
			return ["Subscribe"];
		case "unsubscribed":
			return ["Unsubscribe"];
		case "subscribed":
			if (current === "subscribed") return [];
			if (current === "pending") return ["Confirm Subscription"];
			return topic.doubleOptIn ? ["Subscribe", "Confirm Subscription"] : ["Subscribe"];
	}
}

/**
 * The native events of a profile update: for each trait that stands for a topic, the events that
 * give the topic the status it names; then the system opt-out (`Opt Out` / `Opt In` of every
 * channel), last, so that an opt-out in the same body has the final word. Each event carries the
 * trait and value it came from, for the ledger. Call after `mappedTraitProblems` found none.
 */
export function profileEvents(
	traits: Record<string, unknown>,
	byTrait: Map<string, TopicDefinition[]>,
	consent: ConsentState,
	optOut: boolean | undefined,
): IncomingEvent[] {
	const events: IncomingEvent[] = [];
	for (const [key, value] of Object.entries(traits)) {
		const wanted = wantedStatus(value);
		if (!wanted) continue;
		for (const topic of byTrait.get(key) ?? []) {
			for (const event of eventsToReach(topic, wanted, consent.topics[topic.key]?.status)) {
				events.push({ event, topic: topic.key, properties: { trait: key, value } });
			}
		}
	}
	if (optOut !== undefined) {
		events.push({
			event: optOut ? "Opt Out" : "Opt In",
			channel: null,
			properties: { trait: OPT_OUT_KEY, value: optOut },
		});
	}
	return events;
}

/** A CrossEngage event (its `channel.type` already read as a channel) as a native one. */
export function nativeEvent(event: {
	event: string;
	channel?: Channel | null;
	properties?: Record<string, unknown>;
	timestamp?: string;
}): IncomingEvent {
	return {
		event: event.event,
		channel: event.channel ?? null,
		...(event.properties ? { properties: event.properties } : {}),
		...(event.timestamp ? { timestamp: event.timestamp } : {}),
	};
}
