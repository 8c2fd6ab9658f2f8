import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { effectiveTopicStatus } from "../../src/consent/decision";
import { applyEvent, effectiveTopicSince, type TopicLookup } from "../../src/consent/reducer";
import {
	CHANNELS,
	type Channel,
	type ConsentEvent,
	type ConsentState,
	emptyConsentState,
} from "../../src/consent/types";
import { arrive, blockEvent, bounceEvent, preferenceEvent } from "../consent-arbitraries";
import { testTopicOf } from "../topics";

const topicOf: TopicLookup = testTopicOf;

/** Preference events with distinct times, listed in time order. */
const timeline = fc.array(preferenceEvent, { minLength: 1, maxLength: 14 }).map((events) =>
	events.map(
		(event, index): ConsentEvent => ({
			...event,
			occurredAt: new Date(Date.UTC(2026, 10, 1) + index * 60_000).toISOString(),
		}),
	),
);

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
		const fact = fc.oneof(bounceEvent, blockEvent);
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

/**
 * What each begin time means, from the statuses alone: the events applied one after another in
 * time order, and the time of the event after which the current run of a value began.
 */
function beginTimesInTimeOrder(events: readonly ConsentEvent[]) {
	let state = emptyConsentState();
	const optedOutRuns = new Map<Channel, { value: boolean; since: string; lastOptedOut: string | null }>();
	const topicRuns = new Map<string, { value: string; since: string }>();
	const effectiveRuns = new Map<string, { value: string; since: string }>();
	for (const event of [...events].sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : 1))) {
		state = applyEvent(state, event, topicOf).state;
		for (const channel of CHANNELS) {
			const value = state.channels[channel]?.optedOut;
			if (value === undefined) continue;
			const run = optedOutRuns.get(channel);
			if (run?.value === value) continue;
			optedOutRuns.set(channel, {
				value,
				since: event.occurredAt,
				lastOptedOut: value ? event.occurredAt : (run?.lastOptedOut ?? null),
			});
		}
		for (const [key, topic] of Object.entries(state.topics)) {
			if (topicRuns.get(key)?.value !== topic.status)
				topicRuns.set(key, { value: topic.status, since: event.occurredAt });
			const effective = effectiveTopicStatus(state, key) ?? "";
			if (effectiveRuns.get(key)?.value !== effective)
				effectiveRuns.set(key, { value: effective, since: event.occurredAt });
		}
	}
	return { optedOutRuns, topicRuns, effectiveRuns };
}

describe("property: begin times are those of the time order, whatever the arrival order", () => {
	it("lastOptedOutAt, returnedAt and a topic's statusSince mark where the current run began; repeats do not move them", () => {
		fc.assert(
			fc.property(
				timeline.chain((events) =>
					fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length })),
				),
				([events, arrival]) => {
					const state = arrive(arrival);
					const expected = beginTimesInTimeOrder(events);
					for (const channel of CHANNELS) {
						const run = expected.optedOutRuns.get(channel);
						const actual = state.channels[channel];
						expect(actual === undefined).toBe(run === undefined);
						if (!run || !actual) continue;
						expect(actual.lastOptedOutAt).toBe(run.value ? run.since : run.lastOptedOut);
						expect(actual.returnedAt).toBe(!run.value && run.lastOptedOut !== null ? run.since : null);
					}
					for (const [key, topic] of Object.entries(state.topics)) {
						expect(topic.statusSince).toBe(expected.topicRuns.get(key)?.since);
						// Subscribed or pending in effect: exactly when that run began.
						const effective = expected.effectiveRuns.get(key);
						if (effective?.value === "subscribed" || effective?.value === "pending") {
							expect(effectiveTopicSince(state, key)).toBe(effective.since);
						}
					}
				},
			),
			{ numRuns: 500 },
		);
	});

	it("blockedAt is when the block in force began: facts in arrival order, a repeated Block keeps it", () => {
		fc.assert(
			fc.property(fc.array(fc.constantFrom("Block", "Unblock"), { maxLength: 10 }), (names) => {
				let state = emptyConsentState();
				let began: string | null = null;
				names.forEach((name, index) => {
					const occurredAt = new Date(Date.UTC(2026, 10, 1) + index * 60_000).toISOString();
					if (name === "Block" && !state.blocked) began = occurredAt;
					if (name === "Unblock") began = null;
					state = applyEvent(
						state,
						{ event: name, channel: null, topic: null, properties: {}, occurredAt },
						topicOf,
					).state;
				});
				expect(state.blocked).toBe(began !== null);
				expect(state.blockedAt ?? null).toBe(began);
			}),
			{ numRuns: 200 },
		);
	});
});
