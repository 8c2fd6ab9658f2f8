import { describe, expect, it } from "vitest";
import { type MappingContext, mapWebhookEvent } from "../../src/consent/provider-events";
import type { WebhookEvent } from "../../src/webhooks/provider";
import { testTopic as topic } from "../topics";

const TOPICS = [
	topic("kids", { providerRefs: { sendgrid: "42", ses: "Kids" } }),
	topic("pets", { providerRefs: { sendgrid: "43", ses: "Pets" } }),
	topic("de-only", { businessUnit: "de", providerRefs: { sendgrid: "44" } }),
	topic("sms-alerts", { channel: "sms", providerRefs: { sendgrid: "45" } }),
];

const event = (action: WebhookEvent["action"], extra: Partial<WebhookEvent> = {}): WebhookEvent => ({
	id: "e1",
	channel: "email",
	recipient: "ann@example.de",
	action,
	occurredAt: "2026-11-20T10:00:00.000Z",
	businessUnit: null,
	campaign: null,
	properties: { event: "x" },
	...extra,
});

const context = (extra: Partial<MappingContext> = {}): MappingContext => ({
	provider: "sendgrid",
	topics: TOPICS,
	businessUnit: "at",
	policy: "channel",
	...extra,
});

/** The mapped events without the parts every case shares. */
const mapped = (e: WebhookEvent, c: MappingContext = context()) =>
	mapWebhookEvent(e, c).map(({ event, channel, topic, idempotencyKey }) => ({ event, channel, topic, idempotencyKey }));

describe("mapWebhookEvent", () => {
	it("maps a list unsubscribe to the topic naming it in providerRefs", () => {
		expect(mapped(event({ kind: "unsubscribe", list: "43" }))).toEqual([
			{ event: "Unsubscribe", channel: "email", topic: "pets", idempotencyKey: "sendgrid:e1" },
		]);
	});

	it("applies ESP_UNSUBSCRIBE_POLICY to unsubscribes without a mapped topic", () => {
		for (const list of [null, "999", "44", "45"]) {
			// 44 is a topic of another business unit, 45 one of another channel: neither maps here.
			expect(mapped(event({ kind: "unsubscribe", list }))).toEqual([
				{ event: "Opt Out", channel: "email", topic: undefined, idempotencyKey: "sendgrid:e1" },
			]);
		}
		expect(mapped(event({ kind: "unsubscribe", list: null }), context({ policy: "topics" }))).toEqual([
			{ event: "Unsubscribe", channel: "email", topic: "kids", idempotencyKey: "sendgrid:e1" },
			{ event: "Unsubscribe", channel: "email", topic: "pets", idempotencyKey: "sendgrid:e1#2" },
		]);
		// With no topic on the channel, "topics" still opts out: an unsubscribe is never dropped.
		expect(mapped(event({ kind: "unsubscribe", list: null }), context({ policy: "topics", topics: [] }))).toEqual([
			{ event: "Opt Out", channel: "email", topic: undefined, idempotencyKey: "sendgrid:e1" },
		]);
	});

	it("uses topics of the contact's business unit", () => {
		expect(mapped(event({ kind: "unsubscribe", list: "44" }), context({ businessUnit: "de" }))[0]?.topic).toBe(
			"de-only",
		);
	});

	it("reverses unsubscribes: a mapped list back to subscribed, a provider-wide one opts the channel in", () => {
		expect(mapped(event({ kind: "resubscribe", list: "42" }))).toEqual([
			{ event: "Confirm Subscription", channel: "email", topic: "kids", idempotencyKey: "sendgrid:e1" },
		]);
		expect(mapped(event({ kind: "resubscribe", list: null }))).toEqual([
			{ event: "Opt In", channel: "email", topic: undefined, idempotencyKey: "sendgrid:e1" },
		]);
		expect(mapped(event({ kind: "resubscribe", list: "999" }))).toEqual([]);
	});

	it("maps complaints, hard bounces and SMS keywords", () => {
		expect(mapWebhookEvent(event({ kind: "complaint" }), context())).toEqual([
			{
				event: "Complaint",
				channel: "email",
				properties: { provider: "sendgrid", event: "x" },
				timestamp: "2026-11-20T10:00:00.000Z",
				idempotencyKey: "sendgrid:e1",
			},
		]);
		expect(mapWebhookEvent(event({ kind: "hard_bounce" }), context())[0]).toMatchObject({
			event: "Bounce",
			properties: { type: "hard", provider: "sendgrid" },
		});
		const sms = { channel: "sms" as const, recipient: "+4917612345678", occurredAt: null };
		expect(mapped(event({ kind: "opt_out" }, sms), context({ provider: "twilio" }))).toEqual([
			{ event: "Opt Out", channel: "sms", topic: undefined, idempotencyKey: "twilio:e1" },
		]);
		expect(mapped(event({ kind: "opt_in" }, sms), context({ provider: "twilio" }))[0]?.event).toBe("Opt In");
		expect(mapWebhookEvent(event({ kind: "opt_in" }, sms), context()).map((e) => e.timestamp)).toEqual([undefined]);
	});

	it("maps SES topic preferences to topic statuses, and unsubscribeAll by policy", () => {
		const ses = context({ provider: "ses" });
		const lists = [
			{ list: "Kids", subscribed: false },
			{ list: "Pets", subscribed: true },
			{ list: "Unknown", subscribed: false },
		];
		expect(mapped(event({ kind: "topic_preferences", unsubscribeAll: false, lists }), ses)).toEqual([
			{ event: "Unsubscribe", channel: "email", topic: "kids", idempotencyKey: "ses:e1" },
			{ event: "Confirm Subscription", channel: "email", topic: "pets", idempotencyKey: "ses:e1#2" },
		]);
		expect(mapped(event({ kind: "topic_preferences", unsubscribeAll: true, lists }), ses)).toEqual([
			{ event: "Opt Out", channel: "email", topic: undefined, idempotencyKey: "ses:e1" },
			{ event: "Unsubscribe", channel: "email", topic: "kids", idempotencyKey: "ses:e1#2" },
		]);
	});
});
