import { describe, expect, it } from "vitest";
import {
	applyArrived,
	applyEvent,
	effectOf,
	isLate,
	isPreferenceEvent,
	type TopicLookup,
} from "../../src/consent/reducer";
import {
	type Channel,
	type ChannelState,
	type ConsentEvent,
	type ConsentState,
	emptyConsentState,
	type TopicDefinition,
	type TopicState,
} from "../../src/consent/types";

const T0 = "2026-11-20T10:00:00.000Z";
const T1 = "2026-11-21T10:00:00.000Z";
const T2 = "2026-11-22T10:00:00.000Z";
const T3 = "2026-11-23T10:00:00.000Z";

function topic(key: string, channel: Channel, doubleOptIn: boolean): TopicDefinition {
	return { key, name: key, description: null, channel, doubleOptIn, businessUnit: null, providerRefs: {} };
}

const TOPICS = [
	topic("news", "email", false),
	topic("kids", "email", true),
	topic("pets", "email", true),
	topic("sms-deals", "sms", true),
];
const topicOf: TopicLookup = (key) => TOPICS.find((t) => t.key === key);

function event(name: string, fields: Partial<ConsentEvent> = {}): ConsentEvent {
	return { event: name, channel: null, topic: null, properties: {}, occurredAt: T2, ...fields };
}

/** A channel whose opt-out was last set at `optedOutAt` and whose bounce flag (when set) at `bouncedAt`. */
function channelState(
	optedOut: boolean,
	bounced: boolean,
	optedOutAt = T1,
	bouncedAt: string | null = bounced ? T1 : null,
): ChannelState {
	const changedAt = bouncedAt !== null && bouncedAt > optedOutAt ? bouncedAt : optedOutAt;
	return { optedOut, bounced, changedAt, optedOutAt, bouncedAt };
}

function topicState(status: TopicState["status"], channel: Channel = "email", changedAt = T1): TopicState {
	return { status, channel, changedAt };
}

function stateWith(fields: Partial<ConsentState>): ConsentState {
	return { ...emptyConsentState(), ...fields };
}

describe("applyEvent: Opt Out", () => {
	it("opts out one channel and leaves the others alone", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Opt Out", { channel: "sms" }), topicOf);
		expect(state.channels).toMatchObject({ sms: channelState(true, false, T2) });
		expect(effect).toEqual({
			event: "Opt Out",
			channel: "sms",
			topic: null,
			changes: [{ field: "channels.sms.optedOut", from: false, to: true }],
		});
	});

	it("without a channel opts out all four channels", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Opt Out"), topicOf);
		expect(state.channels).toMatchObject({
			email: channelState(true, false, T2),
			sms: channelState(true, false, T2),
			whatsapp: channelState(true, false, T2),
			push: channelState(true, false, T2),
		});
		expect(effect.channel).toBeNull();
		expect(effect.changes).toEqual([
			{ field: "channels.email.optedOut", from: false, to: true },
			{ field: "channels.sms.optedOut", from: false, to: true },
			{ field: "channels.whatsapp.optedOut", from: false, to: true },
			{ field: "channels.push.optedOut", from: false, to: true },
		]);
	});

	it("global opt out lists only the channels that were still open", () => {
		const before = stateWith({ channels: { email: channelState(true, false) } });
		const { state, effect } = applyEvent(before, event("Opt Out"), topicOf);
		// Already opted out: the newer restatement only refreshes the preference's time.
		expect(state.channels.email).toMatchObject(channelState(true, false, T2));
		expect(effect.changes.map((c) => c.field)).toEqual([
			"channels.sms.optedOut",
			"channels.whatsapp.optedOut",
			"channels.push.optedOut",
		]);
	});

	it("a repeated opt out changes nothing but refreshes the preference's time", () => {
		const before = stateWith({ channels: { email: channelState(true, false) } });
		const { state, effect } = applyEvent(before, event("Opt Out", { channel: "email" }), topicOf);
		expect(state.channels.email).toMatchObject(channelState(true, false, T2));
		expect(effect.changes).toEqual([]);
	});

	it("a repeated opt out with the same time changes nothing", () => {
		const before = stateWith({ channels: { email: channelState(true, false, T2) } });
		const { state, effect } = applyEvent(before, event("Opt Out", { channel: "email" }), topicOf);
		expect(state.channels).toMatchObject(before.channels);
		expect(effect.changes).toEqual([]);
	});

	it("keeps the bounced flag of the channel", () => {
		const before = stateWith({ channels: { email: channelState(false, true) } });
		const { state } = applyEvent(before, event("Opt Out", { channel: "email" }), topicOf);
		expect(state.channels.email).toMatchObject(channelState(true, true, T2, T1));
	});
});

describe("applyEvent: Opt In", () => {
	it("reverses the opt out of one channel only", () => {
		const before = stateWith({ channels: { email: channelState(true, false), sms: channelState(true, false) } });
		const { state, effect } = applyEvent(before, event("Opt In", { channel: "email" }), topicOf);
		expect(state.channels.email).toMatchObject(channelState(false, false, T2));
		expect(state.channels.sms).toEqual(channelState(true, false, T1));
		expect(effect.changes).toEqual([{ field: "channels.email.optedOut", from: true, to: false }]);
	});

	it("without a channel reverses every opted-out channel", () => {
		const before = stateWith({ channels: { email: channelState(true, false), push: channelState(true, false) } });
		const { state, effect } = applyEvent(before, event("Opt In"), topicOf);
		// Channels that were never opted out get the time too: an older Opt Out arriving later must not win.
		expect(state.channels).toMatchObject({
			email: channelState(false, false, T2),
			sms: channelState(false, false, T2),
			whatsapp: channelState(false, false, T2),
			push: channelState(false, false, T2),
		});
		expect(effect.changes).toEqual([
			{ field: "channels.email.optedOut", from: true, to: false },
			{ field: "channels.push.optedOut", from: true, to: false },
		]);
	});

	it("on a contact that never opted out changes no value but records when it was said", () => {
		const before = emptyConsentState();
		const { state, effect } = applyEvent(before, event("Opt In", { channel: "email" }), topicOf);
		expect(state.channels).toMatchObject({ email: channelState(false, false, T2) });
		expect(state.preferencesAt).toBe(T2);
		expect(effect.changes).toEqual([]);
	});

	it("leaves bounced alone without clearBounce", () => {
		const before = stateWith({ channels: { email: channelState(true, true) } });
		const { state, effect } = applyEvent(before, event("Opt In", { channel: "email" }), topicOf);
		expect(state.channels.email).toMatchObject(channelState(false, true, T2, T1));
		expect(effect.changes).toEqual([{ field: "channels.email.optedOut", from: true, to: false }]);
	});

	it("with properties.clearBounce clears the bounced flag", () => {
		const before = stateWith({ channels: { email: channelState(true, true) } });
		const { state, effect } = applyEvent(
			before,
			event("Opt In", { channel: "email", properties: { clearBounce: true } }),
			topicOf,
		);
		expect(state.channels.email).toMatchObject(channelState(false, false, T2, T2));
		expect(effect.changes).toEqual([
			{ field: "channels.email.optedOut", from: true, to: false },
			{ field: "channels.email.bounced", from: true, to: false },
		]);
	});

	it("clearBounce must be the boolean true", () => {
		const before = stateWith({ channels: { email: channelState(false, true) } });
		const { state, effect } = applyEvent(
			before,
			event("Opt In", { channel: "email", properties: { clearBounce: "yes" } }),
			topicOf,
		);
		expect(state.channels.email?.bounced).toBe(true);
		expect(effect.changes).toEqual([]);
	});
});

describe("applyEvent: Subscribe", () => {
	it("subscribes a topic without double opt-in", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Subscribe", { topic: "news" }), topicOf);
		expect(state.topics).toMatchObject({ news: topicState("subscribed", "email", T2) });
		expect(effect).toEqual({
			event: "Subscribe",
			channel: null,
			topic: "news",
			changes: [{ field: "topics.news.status", from: null, to: "subscribed" }],
		});
	});

	it("makes a double opt-in topic pending", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Subscribe", { topic: "kids" }), topicOf);
		expect(state.topics).toMatchObject({ kids: topicState("pending", "email", T2) });
		expect(effect.changes).toEqual([{ field: "topics.kids.status", from: null, to: "pending" }]);
	});

	it("keeps the topic's channel with the status", () => {
		const { state } = applyEvent(emptyConsentState(), event("Subscribe", { topic: "sms-deals" }), topicOf);
		expect(state.topics["sms-deals"]).toMatchObject(topicState("pending", "sms", T2));
	});

	it("does not send a confirmed double opt-in topic back to pending", () => {
		const before = stateWith({ topics: { kids: topicState("subscribed") } });
		const { state, effect } = applyEvent(before, event("Subscribe", { topic: "kids" }), topicOf);
		expect(state.topics.kids).toMatchObject(topicState("subscribed", "email", T2));
		expect(effect.changes).toEqual([]);
	});

	it("makes an unsubscribed double opt-in topic pending again", () => {
		const before = stateWith({ topics: { kids: topicState("unsubscribed") } });
		const { state, effect } = applyEvent(before, event("Subscribe", { topic: "kids" }), topicOf);
		expect(state.topics.kids).toMatchObject(topicState("pending", "email", T2));
		expect(effect.changes).toEqual([{ field: "topics.kids.status", from: "unsubscribed", to: "pending" }]);
	});

	it("does not touch the channel opt out", () => {
		const before = stateWith({ channels: { email: channelState(true, false) } });
		const { state } = applyEvent(before, event("Subscribe", { topic: "news" }), topicOf);
		expect(state.channels.email).toEqual(channelState(true, false));
	});

	it("throws for an unknown topic (resolveEvent runs first)", () => {
		expect(() => applyEvent(emptyConsentState(), event("Subscribe", { topic: "nope" }), topicOf)).toThrow(
			/without a known topic/,
		);
	});
});

describe("applyEvent: Confirm Subscription", () => {
	it("with a topic subscribes it and opts its channel back in", () => {
		const before = stateWith({
			channels: { email: channelState(true, false) },
			topics: { kids: topicState("pending") },
		});
		const { state, effect } = applyEvent(
			before,
			event("Confirm Subscription", { topic: "kids", channel: "email" }),
			topicOf,
		);
		expect(state.topics.kids).toMatchObject(topicState("subscribed", "email", T2));
		expect(state.channels.email).toMatchObject(channelState(false, false, T2));
		expect(effect.changes).toEqual([
			{ field: "channels.email.optedOut", from: true, to: false },
			{ field: "topics.kids.status", from: "pending", to: "subscribed" },
		]);
	});

	it("without a topic confirms every pending topic", () => {
		const before = stateWith({
			topics: {
				kids: topicState("pending"),
				pets: topicState("pending"),
				"sms-deals": topicState("pending", "sms"),
				news: topicState("unsubscribed"),
			},
		});
		const { state, effect } = applyEvent(before, event("Confirm Subscription"), topicOf);
		expect(state.topics).toMatchObject({
			kids: topicState("subscribed", "email", T2),
			pets: topicState("subscribed", "email", T2),
			"sms-deals": topicState("subscribed", "sms", T2),
			news: topicState("unsubscribed"),
		});
		expect(effect.changes).toEqual([
			{ field: "topics.kids.status", from: "pending", to: "subscribed" },
			{ field: "topics.pets.status", from: "pending", to: "subscribed" },
			{ field: "topics.sms-deals.status", from: "pending", to: "subscribed" },
		]);
	});

	it("without a topic but with a channel confirms only that channel's pending topics", () => {
		const before = stateWith({
			channels: { email: channelState(true, false), sms: channelState(true, false) },
			topics: { kids: topicState("pending"), "sms-deals": topicState("pending", "sms") },
		});
		const { state, effect } = applyEvent(before, event("Confirm Subscription", { channel: "sms" }), topicOf);
		expect(state.topics.kids).toEqual(topicState("pending"));
		expect(state.topics["sms-deals"]).toMatchObject(topicState("subscribed", "sms", T2));
		expect(state.channels.sms).toMatchObject(channelState(false, false, T2));
		expect(state.channels.email).toEqual(channelState(true, false));
		expect(effect.changes).toEqual([
			{ field: "channels.sms.optedOut", from: true, to: false },
			{ field: "topics.sms-deals.status", from: "pending", to: "subscribed" },
		]);
	});

	it("without pending topics changes nothing", () => {
		const before = stateWith({ topics: { kids: topicState("subscribed") } });
		const { state, effect } = applyEvent(before, event("Confirm Subscription"), topicOf);
		expect(state.topics).toEqual(before.topics);
		expect(effect).toEqual({ event: "Confirm Subscription", channel: null, topic: null, changes: [] });
	});

	it("skips pending topics whose definition is gone", () => {
		const before = stateWith({ topics: { deleted: topicState("pending") } });
		const { state, effect } = applyEvent(before, event("Confirm Subscription"), topicOf);
		expect(state.topics.deleted).toEqual(topicState("pending"));
		expect(effect.changes).toEqual([]);
	});
});

describe("applyEvent: confirming after an opt-out of the whole channel", () => {
	it("opens the channel for the confirmed topic only; other subscribed topics of the channel stop", () => {
		const before = stateWith({
			channels: { email: channelState(true, false), sms: channelState(false, false) },
			topics: {
				news: topicState("subscribed"),
				pets: topicState("pending"),
				kids: topicState("pending"),
				"sms-deals": topicState("subscribed", "sms"),
			},
		});
		const { state, effect } = applyEvent(before, event("Confirm Subscription", { topic: "kids" }), topicOf);
		expect(state.channels.email?.optedOut).toBe(false);
		expect(state.topics).toMatchObject({
			news: topicState("unsubscribed", "email", T2),
			pets: topicState("pending"),
			kids: topicState("subscribed", "email", T2),
			"sms-deals": topicState("subscribed", "sms"),
		});
		// One ledger row holds every change.
		expect(effect.changes).toEqual([
			{ field: "channels.email.optedOut", from: true, to: false },
			{ field: "topics.news.status", from: "subscribed", to: "unsubscribed" },
			{ field: "topics.kids.status", from: "pending", to: "subscribed" },
		]);
	});

	it("leaves the other topics alone when the channel was open", () => {
		const before = stateWith({ topics: { news: topicState("subscribed"), kids: topicState("pending") } });
		const { state } = applyEvent(before, event("Confirm Subscription", { topic: "kids" }), topicOf);
		expect(state.topics.news).toEqual(topicState("subscribed"));
		expect(state.topics.kids?.status).toBe("subscribed");
	});
});

describe("applyEvent: a Subscribe that requires confirmation (a suppressed address)", () => {
	it("makes even a topic without double opt-in pending", () => {
		const { state } = applyEvent(
			emptyConsentState(),
			event("Subscribe", { topic: "news", properties: { confirmationRequired: true } }),
			topicOf,
		);
		expect(state.topics.news?.status).toBe("pending");
	});

	it("makes a subscribed topic pending again, so the person can confirm", () => {
		const before = stateWith({ topics: { kids: topicState("subscribed") } });
		const { state } = applyEvent(
			before,
			event("Subscribe", { topic: "kids", properties: { confirmationRequired: true } }),
			topicOf,
		);
		expect(state.topics.kids?.status).toBe("pending");
	});
});

describe("applyEvent: Unsubscribe", () => {
	it("unsubscribes a subscribed topic", () => {
		const before = stateWith({ topics: { news: topicState("subscribed") } });
		const { state, effect } = applyEvent(before, event("Unsubscribe", { topic: "news" }), topicOf);
		expect(state.topics.news).toMatchObject(topicState("unsubscribed", "email", T2));
		expect(effect.changes).toEqual([{ field: "topics.news.status", from: "subscribed", to: "unsubscribed" }]);
	});

	it("unsubscribes a topic with no prior status", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Unsubscribe", { topic: "pets" }), topicOf);
		expect(state.topics.pets).toMatchObject(topicState("unsubscribed", "email", T2));
		expect(effect.changes).toEqual([{ field: "topics.pets.status", from: null, to: "unsubscribed" }]);
	});

	it("leaves the channel open", () => {
		const before = stateWith({ topics: { news: topicState("subscribed") } });
		const { state } = applyEvent(before, event("Unsubscribe", { topic: "news" }), topicOf);
		expect(state.channels).toEqual({});
	});

	it("a repeated unsubscribe changes nothing but refreshes the status time", () => {
		const before = stateWith({ topics: { news: topicState("unsubscribed") } });
		const { state, effect } = applyEvent(before, event("Unsubscribe", { topic: "news" }), topicOf);
		expect(state.topics.news).toMatchObject(topicState("unsubscribed", "email", T2));
		expect(effect.changes).toEqual([]);
	});
});

describe("applyEvent: Block and Unblock", () => {
	it("Block sets blocked", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Block"), topicOf);
		expect(state.blocked).toBe(true);
		expect(effect.changes).toEqual([{ field: "blocked", from: false, to: true }]);
	});

	it("Unblock clears blocked", () => {
		const { state, effect } = applyEvent(stateWith({ blocked: true }), event("Unblock"), topicOf);
		expect(state.blocked).toBe(false);
		expect(effect.changes).toEqual([{ field: "blocked", from: true, to: false }]);
	});

	it("a repeated Block changes nothing", () => {
		const before = stateWith({ blocked: true });
		const { state, effect } = applyEvent(before, event("Block"), topicOf);
		expect(state).toEqual(before);
		expect(effect.changes).toEqual([]);
	});

	it("Unblock on an unblocked contact changes nothing", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Unblock"), topicOf);
		expect(state.blocked).toBe(false);
		expect(effect.changes).toEqual([]);
	});
});

describe("applyEvent: Bounce", () => {
	it("hard marks the channel bounced", () => {
		const { state, effect } = applyEvent(
			emptyConsentState(),
			event("Bounce", { channel: "email", properties: { type: "hard" } }),
			topicOf,
		);
		expect(state.channels.email).toMatchObject({
			optedOut: false,
			bounced: true,
			changedAt: T2,
			optedOutAt: null,
			bouncedAt: T2,
		});
		expect(effect.changes).toEqual([{ field: "channels.email.bounced", from: false, to: true }]);
	});

	it("hard without a channel marks email bounced", () => {
		const { state } = applyEvent(emptyConsentState(), event("Bounce", { properties: { type: "hard" } }), topicOf);
		expect(Object.keys(state.channels)).toEqual(["email"]);
		expect(state.channels.email?.bounced).toBe(true);
	});

	it("hard on an sms channel marks sms only", () => {
		const { state } = applyEvent(
			emptyConsentState(),
			event("Bounce", { channel: "sms", properties: { type: "hard" } }),
			topicOf,
		);
		expect(state.channels).toMatchObject({
			sms: { optedOut: false, bounced: true, changedAt: T2, optedOutAt: null, bouncedAt: T2 },
		});
	});

	it("soft changes nothing but still yields an effect", () => {
		const before = emptyConsentState();
		const { state, effect } = applyEvent(
			before,
			event("Bounce", { channel: "email", properties: { type: "soft" } }),
			topicOf,
		);
		expect(state).toEqual(emptyConsentState());
		expect(effect).toEqual({ event: "Bounce", channel: "email", topic: null, changes: [] });
	});
});

describe("applyEvent: Complaint", () => {
	it("opts the named channel out", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Complaint", { channel: "sms" }), topicOf);
		expect(state.channels).toMatchObject({ sms: channelState(true, false, T2) });
		expect(effect.changes).toEqual([{ field: "channels.sms.optedOut", from: false, to: true }]);
	});

	it("opts email out when no channel is given", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("Complaint"), topicOf);
		expect(state.channels).toMatchObject({ email: channelState(true, false, T2) });
		expect(effect).toEqual({
			event: "Complaint",
			channel: null,
			topic: null,
			changes: [{ field: "channels.email.optedOut", from: false, to: true }],
		});
	});
});

describe("applyEvent: custom events", () => {
	it("change nothing and yield an effect with no changes", () => {
		const before = stateWith({ channels: { email: channelState(true, false) } });
		const custom = event("Order Placed", { channel: "email", topic: "news", properties: { total: 42 } });
		const { state, effect } = applyEvent(before, custom, topicOf);
		expect(state).toEqual(before);
		expect(effect).toEqual({ event: "Order Placed", channel: "email", topic: "news", changes: [] });
	});

	it("a non-canonical system name is treated as custom", () => {
		const { state, effect } = applyEvent(emptyConsentState(), event("opt out", { channel: "email" }), topicOf);
		expect(state).toEqual(emptyConsentState());
		expect(effect.changes).toEqual([]);
	});
});

describe("applyEvent: the input state is never mutated", () => {
	const rich = (): ConsentState => ({
		blocked: false,
		channels: { email: channelState(true, true), sms: channelState(false, false) },
		topics: { kids: topicState("pending"), news: topicState("subscribed"), pets: topicState("unsubscribed") },
	});
	const events: ConsentEvent[] = [
		event("Opt Out"),
		event("Opt In", { properties: { clearBounce: true } }),
		event("Subscribe", { topic: "pets" }),
		event("Confirm Subscription"),
		event("Confirm Subscription", { topic: "kids" }),
		event("Unsubscribe", { topic: "news" }),
		event("Block"),
		event("Bounce", { channel: "sms", properties: { type: "hard" } }),
		event("Complaint", { channel: "push" }),
	];
	for (const e of events) {
		it(`by ${e.event}${e.topic ? ` ${e.topic}` : ""}`, () => {
			const before = rich();
			const result = applyEvent(before, e, topicOf);
			expect(result.effect.changes.length).toBeGreaterThan(0);
			expect(result.state).not.toBe(before);
			expect(before).toEqual(rich());
		});
	}
});

/** Events applied as they arrive, with the contact's preference history kept as the actor keeps it. */
function arrive(events: ConsentEvent[], start: ConsentState = emptyConsentState()) {
	let state = start;
	const history: ConsentEvent[] = [];
	const effects = events.map((next) => {
		const before = state;
		state = applyArrived(state, next, topicOf, history);
		if (isPreferenceEvent(next)) history.push(next);
		return effectOf(next, before, state);
	});
	return { state, effects };
}

describe("applyArrived: out-of-order events", () => {
	it("skips an Opt In older than the channel's last change", () => {
		const { state, effects } = arrive([
			event("Opt Out", { channel: "email", occurredAt: T2 }),
			event("Opt In", { channel: "email", occurredAt: T1 }),
		]);
		expect(state.channels.email).toMatchObject(channelState(true, false, T2));
		expect(effects[1]?.changes).toEqual([]);
	});

	it("applies an Opt In newer than the channel's last change", () => {
		const { state } = arrive([
			event("Opt Out", { channel: "email", occurredAt: T1 }),
			event("Opt In", { channel: "email", occurredAt: T2 }),
		]);
		expect(state.channels.email).toMatchObject(channelState(false, false, T2));
	});

	it("applies an Opt In at the same instant as the last change (arrival order breaks ties)", () => {
		const { state } = arrive([
			event("Opt Out", { channel: "email", occurredAt: T2 }),
			event("Opt In", { channel: "email", occurredAt: T2 }),
		]);
		expect(state.channels.email?.optedOut).toBe(false);
	});

	it("an Opt In of a channel never opted out still beats a late older Opt Out", () => {
		const { state, effects } = arrive([
			event("Opt In", { channel: "email", occurredAt: T2 }),
			event("Opt Out", { channel: "email", occurredAt: T1 }),
		]);
		expect(state.channels.email?.optedOut).toBe(false);
		expect(effects.map((effect) => effect.changes)).toEqual([[], []]);
	});

	it("judges an opt out by the preference's time, not by a newer bounce", () => {
		// Never opted out; bounced at T3. An Opt Out from T2 is not older than any preference: it applies.
		const { state } = arrive([
			event("Bounce", { channel: "email", properties: { type: "hard" }, occurredAt: T3 }),
			event("Opt Out", { channel: "email", occurredAt: T2 }),
		]);
		expect(state.channels.email).toMatchObject({ optedOut: true, optedOutAt: T2, changedAt: T3, bounced: true });
	});

	it("always applies an older hard Bounce", () => {
		const { state } = arrive([
			event("Opt In", { channel: "email", occurredAt: T2 }),
			event("Bounce", { channel: "email", properties: { type: "hard" }, occurredAt: T1 }),
		]);
		expect(state.channels.email?.bounced).toBe(true);
	});

	it("clears a bounce in arrival order while the older opt in loses to the newer opt out", () => {
		const { state, effects } = arrive([
			event("Opt Out", { channel: "email", occurredAt: T2 }),
			event("Bounce", { channel: "email", properties: { type: "hard" }, occurredAt: T2 }),
			event("Opt In", { channel: "email", properties: { clearBounce: true }, occurredAt: T1 }),
		]);
		expect(state.channels.email).toMatchObject({ optedOut: true, bounced: false, optedOutAt: T2 });
		expect(effects[2]?.changes).toEqual([{ field: "channels.email.bounced", from: true, to: false }]);
	});

	it("skips a Subscribe older than the topic's last change", () => {
		const { state, effects } = arrive([
			event("Unsubscribe", { topic: "news", occurredAt: T2 }),
			event("Subscribe", { topic: "news", occurredAt: T1 }),
		]);
		expect(state.topics.news).toMatchObject(topicState("unsubscribed", "email", T2));
		expect(effects[1]?.changes).toEqual([]);
	});

	it("skips a Confirm Subscription older than the topic's and channel's last change", () => {
		const { state, effects } = arrive([
			event("Subscribe", { topic: "kids", occurredAt: T0 }),
			event("Unsubscribe", { topic: "kids", occurredAt: T2 }),
			event("Opt Out", { channel: "email", occurredAt: T2 }),
			event("Confirm Subscription", { topic: "kids", occurredAt: T1 }),
		]);
		expect(state.topics.kids?.status).toBe("unsubscribed");
		expect(state.channels.email?.optedOut).toBe(true);
		expect(effects[3]?.changes).toEqual([]);
	});

	it("a late Confirm between a Subscribe and its repetition confirms the topic", () => {
		// Subscribe (T1), Confirm (T2), Subscribe again (T3): in time order the topic stays subscribed.
		const { state } = arrive([
			event("Subscribe", { topic: "kids", occurredAt: T1 }),
			event("Subscribe", { topic: "kids", occurredAt: T3 }),
			event("Confirm Subscription", { topic: "kids", occurredAt: T2 }),
		]);
		expect(state.topics.kids?.status).toBe("subscribed");
	});

	it("retried events in any order end with the newest one when it is an Opt In", () => {
		// Opt Out T1, Opt In T3 arrive first; then a retried Opt Out T0 and a retried Opt In T2.
		const { state } = arrive(
			(
				[
					["Opt Out", T1],
					["Opt In", T3],
					["Opt Out", T0],
					["Opt In", T2],
				] as const
			).map(([name, at]) => event(name, { channel: "email", occurredAt: at })),
		);
		expect(state.channels.email?.optedOut).toBe(false);
	});

	it("a late hard Bounce does not let an Opt In older than the last Opt Out through", () => {
		const { state, effects } = arrive([
			event("Opt Out", { channel: "email", occurredAt: T3 }),
			event("Bounce", { channel: "email", properties: { type: "hard" }, occurredAt: T1 }),
			event("Opt In", { channel: "email", occurredAt: T2 }),
		]);
		expect(state.channels.email?.optedOut).toBe(true);
		expect(effects[2]?.changes).toEqual([]);
	});

	it("a late event needs the history", () => {
		const state = applyEvent(
			emptyConsentState(),
			event("Opt Out", { channel: "email", occurredAt: T2 }),
			topicOf,
		).state;
		expect(isLate(state, event("Opt In", { channel: "email", occurredAt: T1 }))).toBe(true);
		expect(isLate(state, event("Bounce", { channel: "email", properties: { type: "hard" }, occurredAt: T1 }))).toBe(
			false,
		);
		expect(() => applyArrived(state, event("Opt In", { channel: "email", occurredAt: T1 }), topicOf, null)).toThrow(
			/history/,
		);
	});
});
