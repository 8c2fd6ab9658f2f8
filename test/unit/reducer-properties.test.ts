import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	applyArrived,
	applyEvent,
	CONFIRMATION_REQUIRED,
	isPreferenceEvent,
	type TopicLookup,
} from "../../src/consent/reducer";
import {
	CHANNELS,
	type Channel,
	type ConsentEvent,
	type ConsentState,
	emptyConsentState,
	type TopicDefinition,
} from "../../src/consent/types";

const topic = (key: string, channel: Channel, doubleOptIn: boolean): TopicDefinition => ({
	key,
	name: key,
	description: null,
	channel,
	doubleOptIn,
	businessUnit: null,
	providerRefs: {},
});
const TOPICS = [
	topic("news", "email", false),
	topic("kids", "email", true),
	topic("pets", "email", true),
	topic("sms-deals", "sms", false),
];
const topicOf: TopicLookup = (key) => TOPICS.find((t) => t.key === key);

const channel = fc.constantFrom<Channel | null>(null, ...CHANNELS);
const topicKey = fc.constantFrom(...TOPICS.map((t) => t.key));

/** One preference event of any kind, without its time (the sequence gives distinct times). */
const preference: fc.Arbitrary<Omit<ConsentEvent, "occurredAt">> = fc.oneof(
	fc.record({
		event: fc.constantFrom("Opt Out", "Opt In"),
		channel,
		topic: fc.constant(null),
		properties: fc.constant({}),
	}),
	fc.record({
		event: fc.constant("Complaint"),
		channel: fc.constantFrom<Channel | null>(null, "email", "sms"),
		topic: fc.constant(null),
		properties: fc.constant({}),
	}),
	topicKey.chain((key) =>
		fc.record({
			event: fc.constantFrom("Subscribe", "Unsubscribe", "Confirm Subscription"),
			channel: fc.constant(topicOf(key)?.channel ?? null),
			topic: fc.constant(key),
			properties: fc.boolean().map((required) => (required ? { [CONFIRMATION_REQUIRED]: true } : {})),
		}),
	),
	// Confirm Subscription without topic: every pending topic (of the channel).
	fc.record({
		event: fc.constant("Confirm Subscription"),
		channel: fc.constantFrom<Channel | null>(null, "email", "sms"),
		topic: fc.constant(null),
		properties: fc.constant({}),
	}),
);

/** Preference events with distinct times, listed in time order. */
const timeline = fc.array(preference, { minLength: 1, maxLength: 14 }).map((events) =>
	events.map(
		(event, index): ConsentEvent => ({
			...event,
			occurredAt: new Date(Date.UTC(2026, 10, 1) + index * 60_000).toISOString(),
		}),
	),
);

/** Applies events in the order they arrive, keeping the preference history as the contact actor does. */
function arrive(events: readonly ConsentEvent[], start: ConsentState = emptyConsentState()): ConsentState {
	let state = start;
	const history: ConsentEvent[] = [];
	for (const event of events) {
		state = applyArrived(state, event, topicOf, history);
		if (isPreferenceEvent(event)) history.push(event);
	}
	return state;
}

/** The state of the events applied one after another in time order: what the person last said. */
function inTimeOrder(events: readonly ConsentEvent[]): ConsentState {
	return events.reduce((state, event) => applyEvent(state, event, topicOf).state, emptyConsentState());
}

describe("property: the newest intent wins whatever the arrival order", () => {
	it("every arrival order of preference events with distinct times ends in the state of the time order", () => {
		fc.assert(
			fc.property(
				timeline.chain((events) =>
					fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length })),
				),
				([events, arrival]) => {
					expect(arrive(arrival)).toEqual(inTimeOrder(events));
				},
			),
			{ numRuns: 500 },
		);
	});

	it("facts between the preferences keep their arrival order and never disturb the preferences", () => {
		const fact = fc.oneof(
			fc.record({
				event: fc.constant("Bounce"),
				channel: fc.constantFrom<Channel>("email", "sms"),
				topic: fc.constant(null),
				properties: fc.constant({ type: "hard" }),
			}),
			fc.record({
				event: fc.constantFrom("Block", "Unblock"),
				channel: fc.constant(null),
				topic: fc.constant(null),
				properties: fc.constant({}),
			}),
		);
		fc.assert(
			fc.property(
				timeline.chain((events) =>
					fc.tuple(
						fc.constant(events),
						fc.shuffledSubarray(events, { minLength: events.length }),
						fc.array(fc.tuple(fact, fc.nat(events.length)), { maxLength: 5 }),
					),
				),
				([events, arrival, facts]) => {
					const withFacts: ConsentEvent[] = [...arrival];
					// Facts are inserted at random places, dated anywhere in the timeline.
					for (const [f, position] of facts) {
						withFacts.splice(position, 0, { ...f, occurredAt: events[position % events.length]?.occurredAt ?? "" });
					}
					const state = arrive(withFacts);
					const expected = inTimeOrder(events);
					for (const channel of CHANNELS) {
						expect(state.channels[channel]?.optedOut ?? false).toBe(expected.channels[channel]?.optedOut ?? false);
					}
					expect(Object.fromEntries(Object.entries(state.topics).map(([k, t]) => [k, t.status]))).toEqual(
						Object.fromEntries(Object.entries(expected.topics).map(([k, t]) => [k, t.status])),
					);
					const lastBlock = withFacts.filter((e) => e.event === "Block" || e.event === "Unblock").at(-1);
					expect(state.blocked).toBe(lastBlock?.event === "Block");
				},
			),
			{ numRuns: 300 },
		);
	});
});
