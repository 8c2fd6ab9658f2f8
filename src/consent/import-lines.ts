/**
 * What one line of an import means for a contact: the consent events that make the contact what
 * the line says, and only those that change something, so that importing a file again changes
 * nothing (and writes nothing).
 */
import { effectiveTopicStatus } from "./decision";
import { applyEvent, diffStates, isSuperseded } from "./reducer";
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
	| {
			events: ConsentEvent[];
			state: ConsentState;
			/**
			 * No event, and none left out only for being older than the preference it would set: the
			 * contact already is what the line says, whenever the line arrives from now on. (Whether an
			 * event changes a value depends on the state alone; being older depends on the line's time,
			 * which only grows with a later import, so what is not older now never will be.)
			 */
			settled: boolean;
	  }
	| { problem: { code: "unknown_topic" | "invalid_topic_status"; message: string } };

/**
 * The events, in this order: topics (confirmations first: a confirmation opts its channel in),
 * opt-outs and opt-ins, bounces, block. An event is kept only when the reducer says it changes the state: equal values,
 * and values older than the preference they would set (a `timestamp` before its last change),
 * produce nothing; so does a line whose events together end where the contact already is.
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
	// The default goes first: a line's own `optedOut:<channel>` says more about that channel.
	const optedOut = line.optedOut.map((entry) => (entry.channel ? entry : { ...entry, channel: defaults.channel }));
	if (defaults.optedOut !== null && !line.optedOut.some((entry) => entry.channel === null)) {
		optedOut.unshift({ channel: defaults.channel, value: defaults.optedOut });
	}
	// Unsubscribes from topics already unsubscribed in effect (their channel is opted out): dropped
	// below if the line's other events leave that channel opted out. Our own export says
	// "unsubscribed" there, and importing it back must change nothing.
	const unsubscribedInEffect = new Set<ConsentEvent>();

	for (const { key, status } of line.topics) {
		const resolved = resolveTopic(topicOf(key), scope);
		if ("problem" in resolved) {
			return { problem: { code: "unknown_topic", message: topicProblemMessage(key, resolved.problem, scope) } };
		}
		const topic = resolved.topic;
		if (status === "unsubscribed") {
			event("Unsubscribe", topic.channel, key);
			if (effectiveTopicStatus(start, key) === "unsubscribed")
				unsubscribedInEffect.add(candidates.at(-1) as ConsentEvent);
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
	// Confirmations first: one that opts its channel back in closes the channel's other subscriptions,
	// and the line's own subscriptions, after it, keep theirs.
	candidates.sort((a, b) => Number(b.event === "Confirm Subscription") - Number(a.event === "Confirm Subscription"));
	for (const { channel, value } of optedOut) event(value ? "Opt Out" : "Opt In", channel);
	for (const channel of line.bounced) event("Bounce", channel, null, { type: "hard" });
	if (line.blocked !== null) event(line.blocked ? "Block" : "Unblock", null);
	// Where the line's other events leave each channel, as the reducer says.
	const others = candidates.filter((candidate) => !unsubscribedInEffect.has(candidate));
	const end =
		unsubscribedInEffect.size > 0
			? others.reduce((state, candidate) => applyEvent(state, candidate, topicOf).state, start)
			: start;
	const stillClosed = (candidate: ConsentEvent) => end.channels[candidate.channel as Channel]?.optedOut === true;

	let state = start;
	const events: ConsentEvent[] = [];
	let older = false;
	for (const candidate of candidates) {
		if (unsubscribedInEffect.has(candidate) && stillClosed(candidate)) continue;
		// Without the contact's history at hand: a value older than the preference it sets is no news.
		if (isSuperseded(state, candidate)) {
			older = true;
			continue;
		}
		const result = applyEvent(state, candidate, topicOf);
		if (result.effect.changes.length === 0) continue;
		state = result.state;
		events.push(candidate);
	}
	// A line that contradicts itself (opted out of every channel, opted in to email) changes values
	// one way and back: when it ends where the contact already is, it changes nothing at all, so
	// that importing it again adds no ledger rows.
	if (events.length > 0 && diffStates(start, state).length === 0) return { events: [], state: start, settled: !older };
	return { events, state, settled: events.length === 0 && !older };
}
