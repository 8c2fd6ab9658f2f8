/**
 * Mapping: a provider's normalized event (WebhookEvent) → consent events for one contact.
 * Pure: topics and policy come in as arguments; the consumer applies the result through the one
 * write path (recordEvents → ContactActor → reducer).
 */
import type { TopicDefinition } from "../consent/types";
import type { IncomingEvent } from "../contacts/record-events";
import type { EspUnsubscribePolicy } from "../env";
import { topicAvailableIn } from "../topics/topics";
import type { ProviderName, WebhookEvent } from "./provider";

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

	// ESP_UNSUBSCRIBE_POLICY for an unsubscribe that names no mapped topic: the channel, or every topic
	// of the channel (keeping the channel open). Without topics, "topics" can only mean the channel:
	// an opt-out must never be dropped.
	const unsubscribeByPolicy = (): Array<Omit<IncomingEvent, "idempotencyKey">> =>
		context.policy === "topics" && topics.length > 0
			? topics.map((topic) => ({ event: "Unsubscribe", channel, topic: topic.key }))
			: [{ event: "Opt Out", channel }];

	let events: Array<Omit<IncomingEvent, "idempotencyKey">>;
	switch (action.kind) {
		case "unsubscribe": {
			const topic = action.list === null ? undefined : topicFor(action.list);
			events = topic ? [{ event: "Unsubscribe", channel, topic: topic.key }] : unsubscribeByPolicy();
			break;
		}
		case "resubscribe": {
			const topic = action.list === null ? undefined : topicFor(action.list);
			// As the unsubscribe page's undo: the topic back to subscribed, and its channel open again.
			events = topic
				? [{ event: "Confirm Subscription", channel, topic: topic.key }]
				: action.list === null
					? [{ event: "Opt In", channel }]
					: []; // an unmapped list's resubscribe says nothing about our topics
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
				if (!subscribed) events.push({ event: "Unsubscribe", channel, topic: topic.key });
				else if (!action.unsubscribeAll) {
					events.push({ event: "Confirm Subscription", channel, topic: topic.key });
				}
			}
			break;
		}
	}

	const key = `${context.provider}:${event.id}`;
	const properties = { provider: context.provider, ...event.properties };
	return events.map((mapped, index) => ({
		...mapped,
		properties: { ...properties, ...mapped.properties },
		timestamp: event.occurredAt ?? undefined,
		idempotencyKey: index === 0 ? key : `${key}#${index + 1}`,
	}));
}
