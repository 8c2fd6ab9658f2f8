import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DecisionInput, decide } from "../../src/consent/decision";
import { SUPPRESSION_REASONS } from "../../src/consent/suppression";
import {
	CHANNELS,
	type ChannelState,
	type ConsentState,
	MESSAGE_KINDS,
	TOPIC_STATUSES,
	type TopicDefinition,
} from "../../src/consent/types";

const AT = "2026-11-01T00:00:00.000Z";
const channelState: fc.Arbitrary<ChannelState> = fc.record({
	optedOut: fc.boolean(),
	bounced: fc.boolean(),
	changedAt: fc.constant(AT),
	optedOutAt: fc.constant(AT),
	bouncedAt: fc.constant(null),
});
const topicKeys = ["a", "b", "c"];
const state: fc.Arbitrary<ConsentState> = fc.record({
	blocked: fc.boolean(),
	channels: fc.dictionary(fc.constantFrom(...CHANNELS), channelState),
	topics: fc.dictionary(
		fc.constantFrom(...topicKeys),
		fc.record({
			status: fc.constantFrom(...TOPIC_STATUSES),
			channel: fc.constantFrom(...CHANNELS),
			changedAt: fc.constant(AT),
		}),
	),
});
const topic: fc.Arbitrary<TopicDefinition | null> = fc.option(
	fc.record({
		key: fc.constantFrom(...topicKeys),
		name: fc.constant("t"),
		description: fc.constant(null),
		channel: fc.constantFrom(...CHANNELS),
		doubleOptIn: fc.boolean(),
		businessUnit: fc.constant(null),
		providerRefs: fc.constant({}),
	}),
);
const input: fc.Arbitrary<DecisionInput> = fc.record({
	state: fc.option(state),
	addressBlocked: fc.boolean(),
	suppression: fc.option(fc.subarray([...SUPPRESSION_REASONS], { minLength: 1 })),
	channel: fc.constantFrom(...CHANNELS),
	topic,
	kind: fc.constantFrom(...MESSAGE_KINDS),
});

describe("property: the decision's guarantees", () => {
	it("a blocked contact or address is always denied, transactional too", () => {
		fc.assert(
			fc.property(input, fc.boolean(), (given, byAddress) => {
				const blocked = byAddress
					? { ...given, addressBlocked: true }
					: { ...given, state: { ...(given.state ?? { channels: {}, topics: {} }), blocked: true } };
				expect(decide(blocked)).toEqual({ allowed: false, reason: "blocked" });
			}),
		);
	});

	it("a suppressed address is never sent marketing, whatever the contact's state", () => {
		fc.assert(
			fc.property(input, (given) => {
				fc.pre(given.suppression !== null);
				expect(decide({ ...given, kind: "marketing" }).allowed).toBe(false);
			}),
		);
	});

	it("a transactional decision never depends on topics", () => {
		fc.assert(
			fc.property(input, topic, (given, otherTopic) => {
				const withTopic = decide({ ...given, kind: "transactional" });
				const withoutTopic = decide({ ...given, kind: "transactional", topic: null });
				const withOther = decide({
					...given,
					kind: "transactional",
					topic: otherTopic,
					state: given.state && { ...given.state, topics: {} },
				});
				expect(withTopic).toEqual(withoutTopic);
				expect(withOther).toEqual(withoutTopic);
			}),
		);
	});

	it("every allowed marketing decision has an open channel, no bounce, no suppression and no block", () => {
		fc.assert(
			fc.property(input, (given) => {
				const result = decide({ ...given, kind: "marketing" });
				if (!result.allowed) return;
				const channel = given.state?.channels[given.channel];
				expect(given.addressBlocked || given.state?.blocked || given.suppression).toBeFalsy();
				expect(channel?.optedOut || channel?.bounced).toBeFalsy();
			}),
		);
	});
});
