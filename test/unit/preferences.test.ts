import { describe, expect, it } from "vitest";
import { preferenceChoices, preferenceEvents } from "../../src/consent/preferences";
import type { ConsentState, TopicDefinition } from "../../src/consent/types";
import { topicDefinition } from "../topics";

const AT = "2026-01-01T00:00:00.000Z";
const topic = (key: string, doubleOptIn = false, channel: TopicDefinition["channel"] = "email") =>
	topicDefinition(key, channel, doubleOptIn);
const TOPICS = [topic("a"), topic("b"), topic("doi", true), topic("sms-news", false, "sms")];
const BY_KEY = new Map(TOPICS.map((t) => [t.key, t]));

function state(
	emailOptedOut: boolean,
	topics: Record<string, "subscribed" | "pending" | "unsubscribed">,
): ConsentState {
	return {
		blocked: false,
		channels: {
			email: { optedOut: emailOptedOut, bounced: false, changedAt: AT, optedOutAt: AT, bouncedAt: null },
		},
		topics: Object.fromEntries(
			Object.entries(topics).map(([key, status]) => [
				key,
				{ status, channel: BY_KEY.get(key)?.channel ?? "email", changedAt: AT },
			]),
		),
	};
}

describe("preferenceChoices", () => {
	it("ticks what the person receives: subscribed, or no status without double opt-in, never behind an opt-out", () => {
		const open = preferenceChoices(state(false, { a: "subscribed", doi: "pending" }), TOPICS, null, ["email"]);
		expect(open.map((group) => group.channel)).toEqual(["email", "sms"]);
		expect(open[0]?.topics.map((t) => [t.key, t.receiving, t.status])).toEqual([
			["a", true, "subscribed"],
			["b", true, null],
			["doi", false, "pending"],
		]);
		const stopped = preferenceChoices(state(true, { a: "subscribed" }), TOPICS, "email", []);
		expect(stopped).toHaveLength(1);
		expect(stopped[0]?.optedOut).toBe(true);
		expect(stopped[0]?.topics.map((t) => [t.key, t.receiving, t.status])).toEqual([
			["a", false, "unsubscribed"],
			["b", false, null],
			["doi", false, null],
		]);
	});
});

describe("preferenceEvents", () => {
	const submit = (s: ConsentState, topics: string[], stopped: Array<"email" | "sms"> = []) =>
		preferenceEvents(s, preferenceChoices(s, TOPICS, null, ["email"]), BY_KEY, {
			topics: new Set(topics),
			stopped: new Set(stopped),
		}).events;
	const conflictsOf = (s: ConsentState, topics: string[], stopped: Array<"email" | "sms"> = []) =>
		preferenceEvents(s, preferenceChoices(s, TOPICS, null, ["email"]), BY_KEY, {
			topics: new Set(topics),
			stopped: new Set(stopped),
		}).conflicts;

	it("an unchanged form makes no events", () => {
		const s = state(false, { a: "subscribed", doi: "pending" });
		expect(submit(s, ["a", "b", "sms-news"])).toEqual([]);
		const stopped = state(true, { a: "subscribed" });
		expect(submit(stopped, ["sms-news"], ["email"])).toEqual([]);
	});

	it("ticking a double-opt-in topic confirms it; unticking a received topic unsubscribes it", () => {
		const s = state(false, { a: "subscribed", doi: "pending" });
		expect(submit(s, ["b", "doi", "sms-news"])).toEqual([
			{ event: "Unsubscribe", topic: "a" },
			{ event: "Confirm Subscription", topic: "doi" },
		]);
	});

	it("stopping a channel keeps the topics that were left as they were", () => {
		const s = state(false, { a: "subscribed" });
		expect(submit(s, ["a", "b", "sms-news"], ["email"])).toEqual([{ event: "Opt Out", channel: "email" }]);
	});

	it("a topic ticked under a channel that stays stopped is a conflict: nothing applied, and it is reported", () => {
		const s = state(true, { b: "unsubscribed" });
		expect(submit(s, ["doi", "b", "sms-news"], ["email"])).toEqual([]);
		expect(conflictsOf(s, ["doi", "b", "sms-news"], ["email"])).toEqual([
			{ channel: "email", topic: "b" },
			{ channel: "email", topic: "doi" },
		]);
	});

	it("stopping a channel while ticking a new topic of it: the opt-out applies, the topic is a conflict", () => {
		const s = state(false, { a: "subscribed" });
		expect(submit(s, ["a", "b", "doi", "sms-news"], ["email"])).toEqual([{ event: "Opt Out", channel: "email" }]);
		expect(conflictsOf(s, ["a", "b", "doi", "sms-news"], ["email"])).toEqual([{ channel: "email", topic: "doi" }]);
	});

	it("reopening a channel makes the topics what the form showed", () => {
		const s = state(true, { a: "subscribed" });
		expect(submit(s, ["b", "sms-news"])).toEqual([
			{ event: "Opt In", channel: "email" },
			{ event: "Unsubscribe", topic: "a" },
		]);
	});
});
