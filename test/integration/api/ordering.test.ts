import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { effectiveTopicStatus } from "../../../src/consent/decision";
import { applyEvent } from "../../../src/consent/reducer";
import { CHANNELS, type ConsentEvent, emptyConsentState, type TopicDefinition } from "../../../src/consent/types";
import { api, json, postEvents, putTopic, unique, uniqueEmail } from "../../helpers";

describe("newest intent wins, through the API", () => {
	it("an Opt In of a channel never opted out beats a late, older Opt Out", async () => {
		const email = uniqueEmail();
		await postEvents({ email }, [{ event: "Opt In", channel: "email", timestamp: "2026-11-02T10:00:00Z" }]);
		const late = await json(
			await postEvents({ email }, [{ event: "Opt Out", channel: "email", timestamp: "2026-11-01T10:00:00Z" }]),
		);
		expect(late.consent.channels.email.optedOut).toBe(false);
		const decision = await json(await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&channel=email`));
		expect(decision).toMatchObject({ allowed: true, reason: "ok" });
	});

	it("concurrent out-of-order writes at each contact end in the state of the time order", async () => {
		const topics: TopicDefinition[] = [
			{ key: unique("o-news"), channel: "email" as const, doubleOptIn: false },
			{ key: unique("o-kids"), channel: "email" as const, doubleOptIn: true },
			{ key: unique("o-sms"), channel: "sms" as const, doubleOptIn: false },
		].map((t) => ({ ...t, name: t.key, description: null, businessUnit: null, providerRefs: {} }));
		for (const topic of topics) await putTopic(topic.key, { channel: topic.channel, doubleOptIn: topic.doubleOptIn });
		const topicOf = (key: string) => topics.find((t) => t.key === key);

		const event = fc.oneof(
			fc.record({
				event: fc.constantFrom("Opt Out", "Opt In"),
				channel: fc.constantFrom(null, "email", "sms"),
				topic: fc.constant(null),
			}),
			fc.record({
				event: fc.constantFrom("Subscribe", "Unsubscribe", "Confirm Subscription"),
				channel: fc.constant(null),
				topic: fc.constantFrom(...topics.map((t) => t.key)),
			}),
		);
		// 20 contacts, 8 events each, sent at once in a shuffled order, each event its own request.
		const plans = fc.sample(
			fc.array(event, { minLength: 8, maxLength: 8 }).chain((events) => {
				const timed = events.map((e, i) => ({ ...e, timestamp: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }));
				return fc.tuple(fc.constant(timed), fc.shuffledSubarray(timed, { minLength: timed.length }));
			}),
			{ numRuns: 20, seed: 4242 },
		);
		const contacts = plans.map(([timeline, arrival]) => ({ email: uniqueEmail(), timeline, arrival }));
		const requests = contacts.flatMap(({ email, arrival }) => arrival.map((e) => ({ email, e })));
		const shuffled = fc.sample(fc.shuffledSubarray(requests, { minLength: requests.length }), {
			numRuns: 1,
			seed: 7,
		})[0];
		const statuses = await Promise.all(
			(shuffled ?? requests).map(async ({ email, e }) => (await postEvents({ email }, [e])).status),
		);
		expect(new Set(statuses)).toEqual(new Set([200]));

		for (const { email, timeline } of contacts) {
			const expected = timeline
				.map(
					(e): ConsentEvent => ({
						event: e.event,
						channel: e.topic ? (topicOf(e.topic)?.channel ?? null) : e.channel,
						topic: e.topic,
						properties: {},
						occurredAt: new Date(e.timestamp).toISOString(),
					}),
				)
				.reduce((state, e) => applyEvent(state, e, topicOf).state, emptyConsentState());
			const contact = await json(await api("GET", `/v1/leads?email=${encodeURIComponent(email)}`));
			for (const channel of CHANNELS) {
				expect(contact.consent.channels[channel]?.optedOut ?? false, `${email} ${channel}`).toBe(
					expected.channels[channel]?.optedOut ?? false,
				);
			}
			for (const topic of topics) {
				expect(contact.consent.topics[topic.key]?.status ?? null, `${email} ${topic.key}`).toBe(
					effectiveTopicStatus(expected, topic.key),
				);
			}
		}
	});
});
