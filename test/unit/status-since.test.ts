import { describe, expect, it } from "vitest";
import {
	applyArrived,
	applyEvent,
	effectiveTopicSince,
	isPreferenceEvent,
	optOutBegan,
	type TopicLookup,
	topicStatusSince,
} from "../../src/consent/reducer";
import { type ConsentEvent, type ConsentState, emptyConsentState, type TopicDefinition } from "../../src/consent/types";

const TOPICS: TopicDefinition[] = [
	{
		key: "news",
		name: "news",
		description: null,
		channel: "email",
		doubleOptIn: false,
		businessUnit: null,
		providerRefs: {},
	},
	{
		key: "kids",
		name: "kids",
		description: null,
		channel: "email",
		doubleOptIn: true,
		businessUnit: null,
		providerRefs: {},
	},
];
const topicOf: TopicLookup = (key) => TOPICS.find((topic) => topic.key === key);
const day = (n: number) => `2026-03-${String(n).padStart(2, "0")}T10:00:00.000Z`;
const e = (event: string, n: number, fields: Partial<ConsentEvent> = {}): ConsentEvent => ({
	event,
	channel: null,
	topic: null,
	properties: {},
	occurredAt: day(n),
	...fields,
});

/** Events as they arrive, with the preference history the contact's actor keeps. */
function arrive(events: ConsentEvent[], start: ConsentState = emptyConsentState()): ConsentState {
	const history: ConsentEvent[] = [];
	let state = start;
	for (const event of events) {
		state = applyArrived(state, event, topicOf, history);
		if (isPreferenceEvent(event)) history.push(event);
	}
	return state;
}

describe("begin times kept by the reducer", () => {
	it("a repeated opt-out moves optedOutAt but not lastOptedOutAt; an opt-in sets returnedAt and keeps lastOptedOutAt", () => {
		const email = { channel: "email" as const };
		let state = arrive([e("Opt Out", 1, email), e("Opt Out", 5, email)]);
		expect(state.channels.email).toMatchObject({ optedOutAt: day(5), lastOptedOutAt: day(1), returnedAt: null });
		state = arrive([e("Opt In", 8, email), e("Opt In", 9, email)], state);
		expect(state.channels.email).toMatchObject({ optedOut: false, lastOptedOutAt: day(1), returnedAt: day(8) });
		state = arrive([e("Complaint", 12, email)], state);
		expect(state.channels.email).toMatchObject({ optedOut: true, lastOptedOutAt: day(12), returnedAt: null });
	});

	it("a late opt-out older than the one in force moves the begin back, as the time order says", () => {
		const email = { channel: "email" as const };
		const state = arrive([e("Opt Out", 10, email), e("Opt Out", 3, email)]);
		expect(state.channels.email).toMatchObject({ optedOutAt: day(10), lastOptedOutAt: day(3) });
		// A late Opt In between them ends the first period: the second began on day 10.
		const split = arrive([e("Opt Out", 10, email), e("Opt Out", 3, email), e("Opt In", 6, email)]);
		expect(split.channels.email).toMatchObject({ optedOut: true, lastOptedOutAt: day(10), returnedAt: null });
	});

	it("keeps the begin times through a replay with a bounced channel", () => {
		const email = { channel: "email" as const };
		const state = arrive([
			e("Opt Out", 2, email),
			e("Bounce", 4, { ...email, properties: { type: "hard" } }),
			e("Opt In", 6, email),
			e("Opt Out", 1, email),
		]);
		expect(state.channels.email).toMatchObject({
			bounced: true,
			bouncedAt: day(4),
			lastOptedOutAt: day(1),
			returnedAt: day(6),
		});
	});

	it("a topic's statusSince stays on repeats; a confirmation after an opt-out unsubscribes the other topics from then", () => {
		const state = arrive([
			e("Subscribe", 1, { topic: "news", channel: "email" }),
			e("Subscribe", 2, { topic: "news", channel: "email" }),
			e("Subscribe", 3, { topic: "kids", channel: "email" }),
			e("Opt Out", 4, { channel: "email" }),
			e("Confirm Subscription", 5, { topic: "kids", channel: "email" }),
		]);
		expect(state.topics.news).toMatchObject({ status: "unsubscribed", changedAt: day(5), statusSince: day(5) });
		expect(state.topics.kids).toMatchObject({ status: "subscribed", statusSince: day(5) });
	});

	it("blockedAt: when the block in force began; a repeat keeps it, an unblock clears it", () => {
		let state = applyEvent(emptyConsentState(), e("Block", 2), topicOf).state;
		state = applyEvent(state, e("Block", 4), topicOf).state;
		expect(state).toMatchObject({ blocked: true, blockedAt: day(2) });
		state = applyEvent(state, e("Unblock", 6), topicOf).state;
		expect(state).toMatchObject({ blocked: false, blockedAt: null });
	});
});

describe("effectiveTopicSince", () => {
	const email = { channel: "email" as const };
	const news = { topic: "news", channel: "email" as const };

	it("unsubscribed in effect: the earlier of the topic's own unsubscribe and the opt-out, of those in force", () => {
		const topicFirst = arrive([e("Subscribe", 1, news), e("Unsubscribe", 2, news), e("Opt Out", 3, email)]);
		expect(effectiveTopicSince(topicFirst, "news")).toBe(day(2));
		const channelFirst = arrive([e("Subscribe", 1, news), e("Opt Out", 2, email), e("Unsubscribe", 3, news)]);
		expect(effectiveTopicSince(channelFirst, "news")).toBe(day(2));
		// Subscribed, opted out: unsubscribed in effect since the opt-out.
		expect(effectiveTopicSince(arrive([e("Subscribe", 1, news), e("Opt Out", 4, email)]), "news")).toBe(day(4));
		// Own unsubscribe only, once the channel is back.
		const back = arrive([e("Opt Out", 1, email), e("Unsubscribe", 2, news), e("Opt In", 3, email)]);
		expect(effectiveTopicSince(back, "news")).toBe(day(2));
	});

	it("subscribed in effect: the later of the subscription and the return to the channel", () => {
		const returned = arrive([e("Subscribe", 1, news), e("Opt Out", 2, email), e("Opt In", 5, email)]);
		expect(effectiveTopicSince(returned, "news")).toBe(day(5));
		const after = arrive([e("Opt Out", 1, email), e("Opt In", 2, email), e("Subscribe", 6, news)]);
		expect(effectiveTopicSince(after, "news")).toBe(day(6));
		expect(effectiveTopicSince(after, "kids")).toBeNull();
	});

	it("reads states written before the begin times were kept", () => {
		const legacy: ConsentState = {
			blocked: false,
			channels: {
				email: { optedOut: true, bounced: false, changedAt: day(9), optedOutAt: day(9), bouncedAt: null },
				sms: { optedOut: false, bounced: false, changedAt: day(9), optedOutAt: day(9), bouncedAt: null },
			},
			topics: { news: { status: "subscribed", channel: "email", changedAt: day(3) } },
		};
		expect(optOutBegan(legacy.channels.email)).toBe(day(9));
		expect(optOutBegan(legacy.channels.sms)).toBeNull();
		expect(topicStatusSince(legacy.topics.news as NonNullable<ConsentState["topics"]["news"]>)).toBe(day(3));
		expect(effectiveTopicSince(legacy, "news")).toBe(day(9));
		// The next opt-out of a legacy opted-out channel keeps the best begin it knows.
		const next = applyEvent(legacy, e("Opt Out", 12, email), topicOf).state;
		expect(next.channels.email).toMatchObject({ lastOptedOutAt: day(9), returnedAt: null });
	});
});
