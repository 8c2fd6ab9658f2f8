/**
 * What a provider's event means for consent: the normalized event every provider file parses its
 * wire format into, and the consent events it is for one contact. Pure: topics and policy come in
 * as arguments; the consumer applies the result through the one write path (recordEvents →
 * ContactActor → reducer).
 */
import { topicAvailableIn } from "./topics";
import type { IncomingEvent, TopicDefinition } from "./types";
import { undoEvents, unsubscribeEvents } from "./unsubscribe";

export const PROVIDER_NAMES = ["sendgrid", "mailgun", "mailjet", "mandrill", "postmark", "ses", "twilio"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** What an ESP's unsubscribe that names no mapped list means: the channel, or every topic of it. */
export type EspUnsubscribePolicy = "channel" | "topics";

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

export interface MappingContext {
	provider: ProviderName;
	/** Every topic; only those of the event's channel available in `businessUnit` are used. */
	topics: Iterable<TopicDefinition>;
	businessUnit: string;
	policy: EspUnsubscribePolicy;
}

/**
 * The consent events one provider event means for a contact in `businessUnit`. Each carries the
 * idempotency key `provider:id` (with `#n` for the 2nd and later events of one provider event), so
 * a redelivered webhook changes nothing twice.
 */
export function mapWebhookEvent(event: WebhookEvent, context: MappingContext): IncomingEvent[] {
	const { channel, action } = event;
	const topics = [...context.topics].filter(
		(topic) => topic.channel === channel && topicAvailableIn(topic, context.businessUnit),
	);
	/** The topic a provider's group/list id maps to through `providerRefs`, if any. */
	const topicFor = (list: string) => topics.find((topic) => topic.providerRefs[context.provider] === list);

	// An unsubscribe or resubscribe means what it means on our own unsubscribe page and its undo.
	const unsubscribe = (topic: string | null) => unsubscribeEvents({ topic, channel });
	const resubscribe = (topic: string | null) => undoEvents({ topic, channel });
	// ESP_UNSUBSCRIBE_POLICY for an unsubscribe that names no mapped topic: the channel, or every topic
	// of the channel (keeping the channel open). Without topics, "topics" can only mean the channel:
	// an opt-out must never be dropped.
	const unsubscribeByPolicy = (): IncomingEvent[] =>
		context.policy === "topics" && topics.length > 0
			? topics.flatMap((topic) => unsubscribe(topic.key))
			: unsubscribe(null);

	let events: IncomingEvent[];
	switch (action.kind) {
		case "unsubscribe": {
			const topic = action.list === null ? undefined : topicFor(action.list);
			events = topic ? unsubscribe(topic.key) : unsubscribeByPolicy();
			break;
		}
		case "resubscribe": {
			const topic = action.list === null ? undefined : topicFor(action.list);
			events = topic ? resubscribe(topic.key) : action.list === null ? resubscribe(null) : []; // an unmapped list's resubscribe says nothing about our topics
			break;
		}
		case "complaint":
			events = [{ event: "Complaint", channel }];
			break;
		case "hard_bounce":
			events = [{ event: "Bounce", channel, properties: { type: "hard" } }];
			break;
		case "opt_out":
			events = [{ event: "Opt Out", channel }];
			break;
		case "opt_in":
			events = [{ event: "Opt In", channel }];
			break;
		case "topic_preferences": {
			events = action.unsubscribeAll ? unsubscribeByPolicy() : [];
			for (const { list, subscribed } of action.lists) {
				const topic = topicFor(list);
				if (!topic) continue;
				if (!subscribed) events.push(...unsubscribe(topic.key));
				else if (!action.unsubscribeAll) events.push(...resubscribe(topic.key));
			}
			break;
		}
	}

	const key = `${context.provider}:${event.id}`;
	const properties = { provider: context.provider, ...event.properties };
	return events.map(({ properties: own, ...mapped }, index) => ({
		...mapped,
		properties: { ...properties, ...own },
		timestamp: event.occurredAt ?? undefined,
		idempotencyKey: index === 0 ? key : `${key}#${index + 1}`,
	}));
}
