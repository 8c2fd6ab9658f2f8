import { describe, expect, it } from "vitest";
import type { TopicLookup } from "../../src/consent/reducer";
import type { Channel, ConsentEvent, TopicDefinition } from "../../src/consent/types";
import { resolveEvent } from "../../src/consent/validate-event";

function topic(key: string, channel: Channel, businessUnit: string | null): TopicDefinition {
	return { key, name: key, description: null, channel, doubleOptIn: true, businessUnit, providerRefs: {} };
}

const TOPICS = [topic("kids", "email", "de"), topic("global", "email", null), topic("sms-deals", "sms", "de")];
const topicOf: TopicLookup = (key) => TOPICS.find((t) => t.key === key);

function event(name: string, fields: Partial<ConsentEvent> = {}): ConsentEvent {
	return { event: name, channel: null, topic: null, properties: {}, occurredAt: "2026-11-22T10:00:00.000Z", ...fields };
}

const resolve = (e: ConsentEvent, businessUnit = "de") => resolveEvent(e, topicOf, businessUnit);

describe("resolveEvent: topics", () => {
	it.each(["Subscribe", "Unsubscribe"])("%s needs a topic", (name) => {
		expect(resolve(event(name))).toEqual({ error: `"${name}" needs a topic` });
	});

	it.each(["Opt In", "Block", "Unblock", "Complaint"])("%s takes no topic", (name) => {
		expect(resolve(event(name, { topic: "kids" }))).toEqual({ error: `"${name}" takes no topic` });
	});

	it("Opt Out with a topic points to Unsubscribe", () => {
		expect(resolve(event("Opt Out", { channel: "email", topic: "kids" }))).toEqual({
			error: '"Opt Out" takes no topic (use "Unsubscribe" for a topic)',
		});
	});

	it("Bounce takes no topic", () => {
		expect(resolve(event("Bounce", { topic: "kids", properties: { type: "hard" } }))).toEqual({
			error: '"Bounce" takes no topic',
		});
	});

	it("Confirm Subscription may go without a topic", () => {
		const e = event("Confirm Subscription");
		expect(resolve(e)).toEqual({ event: e });
	});

	it("rejects an unknown topic", () => {
		expect(resolve(event("Subscribe", { topic: "nope" }))).toEqual({
			error: 'unknown topic "nope" for business unit "de"',
		});
	});

	it("rejects a topic of another business unit", () => {
		expect(resolve(event("Subscribe", { topic: "kids" }), "at")).toEqual({
			error: 'unknown topic "kids" for business unit "at"',
		});
	});

	it("accepts a topic without business unit from any business unit", () => {
		const result = resolve(event("Subscribe", { topic: "global" }), "at");
		expect(result).toEqual({ event: event("Subscribe", { topic: "global", channel: "email" }) });
	});

	it("rejects a channel that is not the topic's channel", () => {
		expect(resolve(event("Unsubscribe", { topic: "kids", channel: "sms" }))).toEqual({
			error: 'topic "kids" belongs to channel "email", not "sms"',
		});
	});

	it("fills in the topic's channel", () => {
		const result = resolve(event("Subscribe", { topic: "sms-deals" }));
		expect(result).toEqual({ event: event("Subscribe", { topic: "sms-deals", channel: "sms" }) });
	});

	it("keeps a matching channel", () => {
		const result = resolve(event("Confirm Subscription", { topic: "kids", channel: "email" }));
		expect(result).toEqual({ event: event("Confirm Subscription", { topic: "kids", channel: "email" }) });
	});

	it("does not mutate the input event", () => {
		const input = event("Subscribe", { topic: "sms-deals" });
		resolve(input);
		expect(input.channel).toBeNull();
	});
});

describe("resolveEvent: channels and properties", () => {
	it.each(["Block", "Unblock"])("%s takes no channel", (name) => {
		expect(resolve(event(name, { channel: "email" }))).toEqual({
			error: `"${name}" applies to the whole contact and takes no channel`,
		});
	});

	it("Block without a channel passes", () => {
		const e = event("Block");
		expect(resolve(e)).toEqual({ event: e });
	});

	it("Bounce needs properties.type", () => {
		expect(resolve(event("Bounce", { channel: "email" }))).toEqual({
			error: '"Bounce" needs properties.type "hard" or "soft"',
		});
	});

	it("Bounce rejects another type", () => {
		expect(resolve(event("Bounce", { properties: { type: "HARD" } }))).toEqual({
			error: '"Bounce" needs properties.type "hard" or "soft"',
		});
	});

	it.each(["hard", "soft"])("Bounce %s passes", (type) => {
		const e = event("Bounce", { channel: "email", properties: { type } });
		expect(resolve(e)).toEqual({ event: e });
	});

	it("Opt Out with a channel passes unchanged", () => {
		const e = event("Opt Out", { channel: "sms" });
		expect(resolve(e)).toEqual({ event: e });
	});
});

describe("resolveEvent: custom events", () => {
	it("pass through with any topic, channel and properties", () => {
		const e = event("Order Placed", { topic: "no-such-topic", channel: "push", properties: { total: 1 } });
		const result = resolve(e);
		expect(result).toEqual({ event: e });
	});

	it("a lower-case system name is custom here (names are canonical before)", () => {
		const e = event("subscribe");
		expect(resolve(e)).toEqual({ event: e });
	});
});
