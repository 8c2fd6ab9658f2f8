/**
 * fast-check arbitraries of consent events over TEST_TOPICS, without their time (the properties
 * give each its own), import lines, and arrive(): the reducer's properties, the import lines' and the
 * begin-time backfill's test draw from these.
 */
import fc from "fast-check";
import type { ImportLineFacts } from "../src/consent/import-lines";
import { applyArrived, CONFIRMATION_REQUIRED, isPreferenceEvent } from "../src/consent/reducer";
import { CHANNELS, type Channel, type ConsentEvent, type ConsentState, emptyConsentState } from "../src/consent/types";
import { TEST_TOPICS, testTopicOf } from "./topics";

export type TimelessEvent = Omit<ConsentEvent, "occurredAt">;

const anyChannel = fc.constantFrom<Channel | null>(null, ...CHANNELS);
const addressChannel = fc.constantFrom<Channel | null>(null, "email", "sms");

export const optOutOrIn: fc.Arbitrary<TimelessEvent> = fc.record({
	event: fc.constantFrom("Opt Out", "Opt In"),
	channel: anyChannel,
	topic: fc.constant(null),
	properties: fc.constant({}),
});

export const complaint: fc.Arbitrary<TimelessEvent> = fc.record({
	event: fc.constant("Complaint"),
	channel: addressChannel,
	topic: fc.constant(null),
	properties: fc.constant({}),
});

/** A topic's event; it carries the topic's channel, as the API fills it in. */
export const topicEvent: fc.Arbitrary<TimelessEvent> = fc.constantFrom(...TEST_TOPICS).chain((topic) =>
	fc.record({
		event: fc.constantFrom("Subscribe", "Unsubscribe", "Confirm Subscription"),
		channel: fc.constant(topic.channel),
		topic: fc.constant(topic.key),
		properties: fc.boolean().map((required) => (required ? { [CONFIRMATION_REQUIRED]: true } : {})),
	}),
);

/** Confirm Subscription without topic: every pending topic (of the channel). */
export const confirmWithoutTopic: fc.Arbitrary<TimelessEvent> = fc.record({
	event: fc.constant("Confirm Subscription"),
	channel: addressChannel,
	topic: fc.constant(null),
	properties: fc.constant({}),
});

/** One preference event of any kind, each kind as likely. */
export const preferenceEvent = fc.oneof(optOutOrIn, complaint, topicEvent, confirmWithoutTopic);

export const blockEvent: fc.Arbitrary<TimelessEvent> = fc.record({
	event: fc.constantFrom("Block", "Unblock"),
	channel: fc.constant(null),
	topic: fc.constant(null),
	properties: fc.constant({}),
});

export const bounceEvent: fc.Arbitrary<TimelessEvent> = fc.record({
	event: fc.constant("Bounce"),
	channel: fc.constantFrom<Channel>("email", "sms"),
	topic: fc.constant(null),
	properties: fc.constant({ type: "hard" }),
});

/** Minutes after 2026-11-01T00:00Z, as an ISO time. */
export const minutes = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString();

/** An import line's consent facts over TEST_TOPICS; its timestamp, when it has one, in the first 150 minutes. */
export const importLineFacts: fc.Arbitrary<ImportLineFacts> = fc.record({
	timestamp: fc.option(fc.nat(150).map(minutes)),
	optedOut: fc.uniqueArray(
		fc.record({ channel: fc.option(fc.constantFrom<Channel>(...CHANNELS)), value: fc.boolean() }),
		{
			selector: (entry) => entry.channel,
			maxLength: 3,
		},
	),
	bounced: fc.uniqueArray(fc.constantFrom<Channel>("email", "sms"), { maxLength: 2 }),
	blocked: fc.option(fc.boolean()),
	topics: fc.uniqueArray(
		fc.record({
			key: fc.constantFrom(...TEST_TOPICS.map((topic) => topic.key)),
			status: fc.constantFrom("subscribed" as const, "unsubscribed" as const, "pending" as const),
		}),
		{ selector: (entry) => entry.key, maxLength: 2 },
	),
});

/**
 * A line that subscribes to a topic (or confirms it) and opts out of the topic's channel: the
 * confirmation reopens the channel and closes its other subscriptions, the opt-out closes it again.
 * Such a line settles only on its second import.
 */
export function contradictsItself(
	line: ImportLineFacts,
	settings: { channel: Channel | null; optedOut: boolean | null },
): boolean {
	const optsOut = [...line.optedOut.map((entry) => (entry.channel ? entry : { ...entry, channel: settings.channel }))];
	if (settings.optedOut === true && !line.optedOut.some((entry) => entry.channel === null)) {
		optsOut.push({ channel: settings.channel, value: true });
	}
	return line.topics.some(({ key, status }) => {
		const topic = testTopicOf(key);
		return (
			status !== "unsubscribed" &&
			topic !== undefined &&
			optsOut.some((entry) => entry.value && (entry.channel === null || entry.channel === topic.channel))
		);
	});
}

/** Applies events in the order they arrive, keeping the preference history as the contact actor does. */
export function arrive(events: readonly ConsentEvent[], start: ConsentState = emptyConsentState()): ConsentState {
	let state = start;
	const history: ConsentEvent[] = [];
	for (const event of events) {
		state = applyArrived(state, event, testTopicOf, history);
		if (isPreferenceEvent(event)) history.push(event);
	}
	return state;
}
