/**
 * What one line of an import means for a contact: the consent events that make the contact what
 * the line says, and only those that change something, so that importing a file again changes
 * nothing (and writes nothing).
 */
import { effectiveTopicStatus } from "./decision";
import { applyEvent, isSuperseded } from "./reducer";
import { occurrenceTime, resolveTopic, topicProblemMessage } from "./topics";
import type { Channel, ConsentEvent, ConsentState, TopicDefinition, TopicStatus } from "./types";

/** The consent facts of a parsed line. */
export interface ImportLineFacts {
	timestamp: string | null;
	/** Per channel, or (null) the plain `optedOut` column. */
	optedOut: Array<{ channel: Channel | null; value: boolean }>;
	bounced: Channel[];
	blocked: boolean | null;
	topics: Array<{ key: string; status: TopicStatus }>;
}

export interface ImportDefaults {
	/** The channel the plain `optedOut` column means; null: every channel. */
	channel: Channel | null;
	/** For lines without an optedOut value (e.g. a suppression list with only an email column). */
	optedOut: boolean | null;
	receivedAt: string;
}

export type ImportLineResult =
	| { events: ConsentEvent[]; state: ConsentState }
	| { problem: { code: "unknown_topic" | "invalid_topic_status"; message: string } };

/**
 * The events, in this order: topics (a confirmation opts its channel in), opt-outs and opt-ins,
 * bounces, block. An event is kept only when the reducer says it changes the state: equal values,
 * and values older than the preference they would set (a `timestamp` before its last change),
 * produce nothing.
 */
export function importLineEvents(
	line: ImportLineFacts,
	start: ConsentState,
	scope: { businessUnit: string; topics: ReadonlyMap<string, TopicDefinition> },
	defaults: ImportDefaults,
): ImportLineResult {
	const topicOf = (key: string) => scope.topics.get(key);
	const occurredAt = occurrenceTime(line.timestamp, defaults.receivedAt);
	const candidates: ConsentEvent[] = [];
	const event = (name: string, channel: Channel | null, topic: string | null = null, properties = {}) =>
		candidates.push({ event: name, channel, topic, properties, occurredAt });

	// The plain optedOut column (or the import's default for lines without one) means the import's
	// channel, or every channel.
	const optedOut = line.optedOut.map((entry) => (entry.channel ? entry : { ...entry, channel: defaults.channel }));
	if (defaults.optedOut !== null && !line.optedOut.some((entry) => entry.channel === null)) {
		optedOut.push({ channel: defaults.channel, value: defaults.optedOut });
	}
	const optsIn = (channel: Channel) => optedOut.some((o) => !o.value && (o.channel === null || o.channel === channel));

	for (const { key, status } of line.topics) {
		const resolved = resolveTopic(topicOf(key), scope);
		if ("problem" in resolved) {
			return { problem: { code: "unknown_topic", message: topicProblemMessage(key, resolved.problem, scope) } };
		}
		const topic = resolved.topic;
		if (status === "unsubscribed") {
			// Already unsubscribed in effect (its channel is opted out and stays so): our own export says
			// "unsubscribed" there, and importing it back must change nothing.
			if (effectiveTopicStatus(start, key) === "unsubscribed" && !optsIn(topic.channel)) continue;
			event("Unsubscribe", topic.channel, key);
		} else if (status === "pending") {
			if (!topic.doubleOptIn) {
				return {
					problem: { code: "invalid_topic_status", message: `topic:${key}: "pending" needs a double-opt-in topic` },
				};
			}
			event("Subscribe", topic.channel, key);
		} else {
			// The person consented in the old tool: for a double-opt-in topic that is a confirmation.
			event(topic.doubleOptIn ? "Confirm Subscription" : "Subscribe", topic.channel, key);
		}
	}
	for (const { channel, value } of optedOut) event(value ? "Opt Out" : "Opt In", channel);
	for (const channel of line.bounced) event("Bounce", channel, null, { type: "hard" });
	if (line.blocked !== null) event(line.blocked ? "Block" : "Unblock", null);

	let state = start;
	const events: ConsentEvent[] = [];
	for (const candidate of candidates) {
		// Without the contact's history at hand: a value older than the preference it sets is no news.
		if (isSuperseded(state, candidate)) continue;
		const result = applyEvent(state, candidate, topicOf);
		if (result.effect.changes.length === 0) continue;
		state = result.state;
		events.push(candidate);
	}
	return { events, state };
}
