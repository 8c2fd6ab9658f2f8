import { describe, expect, it } from "vitest";
import { type DecisionInput, decide, effectiveTopicStatus } from "../../src/consent/decision";
import type { ChannelState, ConsentState, TopicDefinition, TopicState } from "../../src/consent/types";

const AT = "2026-11-22T10:00:00.000Z";

const newsletter: TopicDefinition = {
	key: "news",
	name: "News",
	description: null,
	channel: "email",
	doubleOptIn: false,
	businessUnit: null,
	providerRefs: {},
};
const kids: TopicDefinition = { ...newsletter, key: "kids", name: "Kids", doubleOptIn: true };

const channel = (optedOut: boolean, bounced: boolean): ChannelState => ({
	optedOut,
	bounced,
	changedAt: AT,
	optedOutAt: AT,
	bouncedAt: bounced ? AT : null,
});
const topic = (status: TopicState["status"]): TopicState => ({ status, channel: "email", changedAt: AT });

function state(fields: Partial<ConsentState> = {}): ConsentState {
	return { blocked: false, channels: {}, topics: {}, ...fields };
}

function input(fields: Partial<DecisionInput> = {}): DecisionInput {
	return {
		state: state(),
		addressBlocked: false,
		suppression: null,
		channel: "email",
		topic: null,
		kind: "marketing",
		...fields,
	};
}

describe("decide: each reason", () => {
	it("blocked contact", () => {
		expect(decide(input({ state: state({ blocked: true }) }))).toEqual({ allowed: false, reason: "blocked" });
	});

	it("blocked address", () => {
		expect(decide(input({ addressBlocked: true }))).toEqual({ allowed: false, reason: "blocked" });
	});

	it("suppressed", () => {
		expect(decide(input({ state: null, suppression: ["opted_out"] }))).toEqual({
			allowed: false,
			reason: "suppressed",
		});
	});

	it("bounced", () => {
		const s = state({ channels: { email: channel(false, true) } });
		expect(decide(input({ state: s }))).toEqual({ allowed: false, reason: "bounced" });
	});

	it("opted out", () => {
		const s = state({ channels: { email: channel(true, false) } });
		expect(decide(input({ state: s }))).toEqual({ allowed: false, reason: "opted_out" });
	});

	it("unsubscribed topic", () => {
		const s = state({ topics: { news: topic("unsubscribed") } });
		expect(decide(input({ state: s, topic: newsletter }))).toEqual({ allowed: false, reason: "unsubscribed" });
	});

	it("pending topic", () => {
		const s = state({ topics: { kids: topic("pending") } });
		expect(decide(input({ state: s, topic: kids }))).toEqual({ allowed: false, reason: "pending_confirmation" });
	});

	it("no status for a double opt-in topic", () => {
		expect(decide(input({ topic: kids }))).toEqual({ allowed: false, reason: "not_subscribed" });
	});

	it("subscribed double opt-in topic", () => {
		const s = state({ topics: { kids: topic("subscribed") } });
		expect(decide(input({ state: s, topic: kids }))).toEqual({ allowed: true, reason: "ok" });
	});

	it("no status for a topic without double opt-in is ok", () => {
		expect(decide(input({ topic: newsletter }))).toEqual({ allowed: true, reason: "ok" });
	});

	it("a contact with no state at all is ok", () => {
		expect(decide(input())).toEqual({ allowed: true, reason: "ok" });
	});
});

describe("decide: channels are separate", () => {
	it("an sms opt out does not stop email", () => {
		const s = state({ channels: { sms: channel(true, true) } });
		expect(decide(input({ state: s, channel: "email" }))).toEqual({ allowed: true, reason: "ok" });
		expect(decide(input({ state: s, channel: "sms" }))).toEqual({ allowed: false, reason: "bounced" });
	});
});

describe("decide: precedence (first match wins)", () => {
	const everything = state({
		blocked: true,
		channels: { email: channel(true, true) },
		topics: { kids: topic("unsubscribed") },
	});

	it("blocked beats suppressed, bounced, opted out and topic status", () => {
		expect(decide(input({ state: everything, suppression: ["opted_out"], topic: kids }))).toEqual({
			allowed: false,
			reason: "blocked",
		});
	});

	it("blocked beats transactional", () => {
		expect(decide(input({ state: state({ blocked: true }), kind: "transactional" }))).toEqual({
			allowed: false,
			reason: "blocked",
		});
	});

	it("a blocked address beats transactional", () => {
		expect(decide(input({ addressBlocked: true, kind: "transactional" }))).toEqual({
			allowed: false,
			reason: "blocked",
		});
	});

	it("blocks an unknown recipient by address", () => {
		expect(decide(input({ state: null, addressBlocked: true }))).toEqual({ allowed: false, reason: "blocked" });
	});

	it("a suppression for a bounce or a block beats bounced and transactional", () => {
		const s = state({ channels: { email: channel(true, true) } });
		for (const reason of ["bounced", "blocked"]) {
			expect(decide(input({ state: s, suppression: ["opted_out", reason], kind: "transactional" }))).toEqual({
				allowed: false,
				reason: "suppressed",
			});
		}
	});

	it("a suppression for an opt-out or complaint lets transactional mail through (the confirmation mail)", () => {
		for (const reasons of [["opted_out"], ["complaint"], ["opted_out", "complaint"]]) {
			expect(decide(input({ state: null, suppression: reasons, kind: "transactional" }))).toEqual({
				allowed: true,
				reason: "ok",
			});
		}
	});

	it("a suppression holds over a contact that is subscribed and opted in", () => {
		const s = state({ channels: { email: channel(false, false) }, topics: { kids: topic("subscribed") } });
		expect(decide(input({ state: s, suppression: ["opted_out"], topic: kids }))).toEqual({
			allowed: false,
			reason: "suppressed",
		});
	});

	it("bounced beats transactional", () => {
		const s = state({ channels: { email: channel(false, true) } });
		expect(decide(input({ state: s, kind: "transactional" }))).toEqual({ allowed: false, reason: "bounced" });
	});

	it("bounced beats opted out", () => {
		const s = state({ channels: { email: channel(true, true) } });
		expect(decide(input({ state: s }))).toEqual({ allowed: false, reason: "bounced" });
	});

	it("transactional ignores the opt out", () => {
		const s = state({ channels: { email: channel(true, false) } });
		expect(decide(input({ state: s, kind: "transactional" }))).toEqual({ allowed: true, reason: "ok" });
	});

	it("transactional ignores topic status", () => {
		const s = state({ topics: { kids: topic("unsubscribed") } });
		expect(decide(input({ state: s, topic: kids, kind: "transactional" }))).toEqual({ allowed: true, reason: "ok" });
	});

	it("transactional to an unknown recipient and a double opt-in topic is ok", () => {
		expect(decide(input({ state: null, topic: kids, kind: "transactional" }))).toEqual({
			allowed: true,
			reason: "ok",
		});
	});

	it("opted out beats the topic's unsubscribed status", () => {
		const s = state({ channels: { email: channel(true, false) }, topics: { news: topic("unsubscribed") } });
		expect(decide(input({ state: s, topic: newsletter }))).toEqual({ allowed: false, reason: "opted_out" });
	});

	it("opted out beats a subscribed topic", () => {
		const s = state({ channels: { email: channel(true, false) }, topics: { kids: topic("subscribed") } });
		expect(decide(input({ state: s, topic: kids }))).toEqual({ allowed: false, reason: "opted_out" });
	});
});

describe("decide: unknown recipients", () => {
	it("are allowed", () => {
		expect(decide(input({ state: null }))).toEqual({ allowed: true, reason: "ok" });
	});

	it("are allowed for a topic without double opt-in", () => {
		expect(decide(input({ state: null, topic: newsletter }))).toEqual({ allowed: true, reason: "ok" });
	});

	it("are not subscribed to a double opt-in topic", () => {
		expect(decide(input({ state: null, topic: kids }))).toEqual({ allowed: false, reason: "not_subscribed" });
	});

	it("are suppressed after erasure", () => {
		expect(decide(input({ state: null, suppression: ["opted_out"] }))).toEqual({
			allowed: false,
			reason: "suppressed",
		});
	});
});

describe("effectiveTopicStatus", () => {
	it("is null for a topic without status", () => {
		expect(effectiveTopicStatus(state(), "news")).toBeNull();
	});

	it.each(["pending", "subscribed", "unsubscribed"] as const)(
		"is the stored %s while the channel is open",
		(status) => {
			const s = state({ channels: { email: channel(false, false) }, topics: { news: topic(status) } });
			expect(effectiveTopicStatus(s, "news")).toBe(status);
		},
	);

	it("is unsubscribed while the topic's channel is opted out", () => {
		const s = state({ channels: { email: channel(true, false) }, topics: { news: topic("subscribed") } });
		expect(effectiveTopicStatus(s, "news")).toBe("unsubscribed");
	});

	it("turns pending into unsubscribed while the channel is opted out", () => {
		const s = state({ channels: { email: channel(true, false) }, topics: { kids: topic("pending") } });
		expect(effectiveTopicStatus(s, "kids")).toBe("unsubscribed");
	});

	it("follows the topic's own channel, not another one", () => {
		const s = state({
			channels: { sms: channel(true, false) },
			topics: { news: topic("subscribed"), deals: { status: "subscribed", channel: "sms", changedAt: AT } },
		});
		expect(effectiveTopicStatus(s, "news")).toBe("subscribed");
		expect(effectiveTopicStatus(s, "deals")).toBe("unsubscribed");
	});

	it("ignores a bounce", () => {
		const s = state({ channels: { email: channel(false, true) }, topics: { news: topic("subscribed") } });
		expect(effectiveTopicStatus(s, "news")).toBe("subscribed");
	});
});
