/**
 * The queue side of webhooks, end to end in workerd with the real local queues: a queued provider
 * event changes the contact; a redelivery adds no ledger row; a failing message retries and ends
 * in the dead letters, which an operator lists and replays; every ledger row goes out signed to
 * the outbound receiver (vitest.config.ts).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { keyedHash } from "../../src/erasure/suppression";
import worker from "../../src/index";
import { type QueueMessage, retryDelaySeconds } from "../../src/queues";
import type { WebhookEventMessage } from "../../src/webhooks/consumer";
import type { WebhookEvent } from "../../src/webhooks/provider";
import { api, eventually, json, putTopic, unique, uniqueEmail } from "../helpers";

function providerEvent(
	recipient: string,
	action: WebhookEvent["action"],
	extra: Partial<WebhookEvent> = {},
): WebhookEvent {
	return {
		id: unique("evt"),
		channel: "email",
		recipient,
		action,
		occurredAt: null,
		businessUnit: null,
		campaign: null,
		properties: { event: "test" },
		...extra,
	};
}

const message = (event: WebhookEvent, provider: WebhookEventMessage["provider"] = "sendgrid"): WebhookEventMessage => ({
	kind: "webhook-event",
	provider,
	event,
	receivedAt: new Date().toISOString(),
});

async function ledgerRows(email: string) {
	const { results } = await env.DB.prepare(
		"SELECT l.* FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.email = ? ORDER BY l.id",
	)
		.bind(email)
		.all<{ event: string; source: string; idempotency_key: string; campaign: string | null; changed: number }>();
	return results;
}

async function contactsOf(email: string) {
	const { results } = await env.DB.prepare("SELECT * FROM contacts WHERE email = ? ORDER BY business_unit")
		.bind(email)
		.all<{ id: string; business_unit: string; consent: string }>();
	return results.map((row) => ({ ...row, consent: JSON.parse(row.consent) }));
}

async function deadLettersAbout(text: string) {
	const response = await api("GET", "/v1/dead-letters?limit=500");
	expect(response.status).toBe(200);
	const { deadLetters } = await json<{ deadLetters: Array<{ id: number; body: unknown; queue: string }> }>(response);
	return deadLetters.filter((letter) => JSON.stringify(letter.body).includes(text));
}

describe("queued provider events", () => {
	it("apply through the contact's actor, creating a lead for an unknown address", async () => {
		const email = uniqueEmail();
		await env.WEBHOOK_QUEUE.send(message(providerEvent(email, { kind: "unsubscribe", list: null })));
		const [row] = await eventually(
			async () => (await ledgerRows(email)).length > 0 && ledgerRows(email),
			"the ledger row",
		);
		expect(row).toMatchObject({ event: "Opt Out", source: "webhook:sendgrid", changed: 1 });
		const [contact] = await contactsOf(email);
		expect(contact?.business_unit).toBe("default");
		expect(contact?.consent.channels.email.optedOut).toBe(true);
	});

	it("apply to every business unit that has the address, unless the event names one", async () => {
		const email = uniqueEmail();
		for (const businessUnit of ["de", "at"]) {
			expect((await api("PUT", "/v1/leads", { body: { email, businessUnit } })).status).toBeLessThan(300);
		}
		await env.WEBHOOK_QUEUE.send(message(providerEvent(email, { kind: "complaint" })));
		await eventually(async () => (await ledgerRows(email)).length === 2, "two ledger rows");
		expect((await contactsOf(email)).map((c) => [c.business_unit, c.consent.channels.email.optedOut])).toEqual([
			["at", true],
			["de", true],
		]);

		await env.WEBHOOK_QUEUE.send(
			message(providerEvent(email, { kind: "hard_bounce" }, { businessUnit: "de", campaign: "nov" })),
		);
		await eventually(async () => (await ledgerRows(email)).length === 3, "the bounce");
		const contacts = await contactsOf(email);
		expect(contacts.map((c) => [c.business_unit, c.consent.channels.email.bounced])).toEqual([
			["at", false],
			["de", true],
		]);
		expect((await ledgerRows(email)).at(-1)).toMatchObject({ event: "Bounce", campaign: "nov" });
	});

	it("map a provider's list to the topic that names it in providerRefs", async () => {
		const topic = unique("grp");
		const group = String(Math.floor(Math.random() * 1e9));
		await putTopic(topic, { providerRefs: { sendgrid: group } });
		const email = uniqueEmail();
		await env.WEBHOOK_QUEUE.send(message(providerEvent(email, { kind: "unsubscribe", list: group })));
		const [contact] = await eventually(async () => {
			const found = await contactsOf(email);
			return found[0]?.consent.topics[topic] && found;
		}, "the topic unsubscribe");
		expect(contact?.consent.topics[topic].status).toBe("unsubscribed");
		expect(contact?.consent.channels.email?.optedOut ?? false).toBe(false);
	});

	it("change nothing twice when a batch is delivered again", async () => {
		const email = uniqueEmail();
		const event = providerEvent(email, { kind: "unsubscribe", list: null });
		await env.WEBHOOK_QUEUE.sendBatch([{ body: message(event) }, { body: message(event) }]);
		await eventually(async () => (await ledgerRows(email)).length === 1, "one ledger row");
		await env.WEBHOOK_QUEUE.send(message(event));
		// A later event for the same address shows the redelivery was processed before it.
		await env.WEBHOOK_QUEUE.send(message(providerEvent(email, { kind: "complaint" })));
		await eventually(async () => (await ledgerRows(email)).length === 2, "the complaint");
		// Stored as a keyed hash: provider ids often embed the recipient's address.
		expect((await ledgerRows(email)).map((row) => row.idempotency_key)).toEqual([
			`sendgrid:${await keyedHash(env as unknown as Bindings, event.id)}`,
			expect.any(String),
		]);
	});
});

describe("a failing message", () => {
	it("is retried with growing delays, and acked once it applies", async () => {
		const ctx = createExecutionContext();
		const good = message(providerEvent(uniqueEmail(), { kind: "opt_out" }));
		const bad = { kind: "webhook-event", provider: "sendgrid", event: null } as unknown as WebhookEventMessage;
		const batch = createMessageBatch<QueueMessage>("consent-edge-webhook-events", [
			{ id: "good", timestamp: new Date(), attempts: 1, body: good },
			{ id: "bad", timestamp: new Date(), attempts: 3, body: bad },
		]);
		await worker.queue(batch, env as unknown as Bindings);
		const result = await getQueueResult(batch, ctx);
		expect(result.explicitAcks).toEqual(["good"]);
		// QUEUE_RETRY_BASE_SECONDS is 0 in the tests (no delay); the delays themselves are checked below.
		expect(result.retryMessages.map((retry: { msgId: string }) => retry.msgId)).toEqual(["bad"]);
		const withBase = (base: string) => ({ ...env, QUEUE_RETRY_BASE_SECONDS: base }) as unknown as Bindings;
		expect([1, 2, 3, 8].map((attempts) => retryDelaySeconds(withBase("30"), attempts))).toEqual([30, 60, 120, 3600]);
		expect(retryDelaySeconds(withBase("nonsense"), 2)).toBe(60);
	});

	it("ends in the dead letters after max_retries; an operator lists, discards or replays it", async () => {
		const email = uniqueEmail();
		// A body the consumer throws on (no event) fails every attempt; `marker` lets the test find it.
		const broken = { kind: "webhook-event", provider: "sendgrid", event: null, marker: email };
		await env.WEBHOOK_QUEUE.send(broken);
		const [letter] = await eventually(
			async () => {
				const found = await deadLettersAbout(email);
				return found.length > 0 && found;
			},
			"the dead letter",
			30_000,
		);
		expect(letter).toMatchObject({ queue: "webhook-events", body: broken });
		expect(await ledgerRows(email)).toEqual([]);
		expect((await api("DELETE", `/v1/dead-letters/${letter?.id}`)).status).toBe(204);
		expect((await api("DELETE", `/v1/dead-letters/${letter?.id}`)).status).toBe(404);

		// A message that failed while its topic was missing applies when replayed after the fix.
		const topic = unique("late");
		const group = String(Math.floor(Math.random() * 1e9));
		await putTopic(topic, { providerRefs: { sendgrid: group } });
		await env.DB.prepare("INSERT INTO dead_letters (queue, body, attempts) VALUES ('webhook-events', ?, 6)")
			.bind(JSON.stringify(message(providerEvent(email, { kind: "unsubscribe", list: group }))))
			.run();
		const [stored] = await deadLettersAbout(email);
		expect((await api("POST", `/v1/dead-letters/${stored?.id}/replay`)).status).toBe(202);
		expect((await api("POST", `/v1/dead-letters/${stored?.id}/replay`)).status).toBe(404);
		await eventually(async () => (await ledgerRows(email)).length === 1, "the replayed event");
		expect((await contactsOf(email))[0]?.consent.topics[topic].status).toBe("unsubscribed");
	});

	it("that no retry can fix (an invalid address) goes to the dead letters at once", async () => {
		const ctx = createExecutionContext();
		const recipient = `${unique("not-an-address")}@`;
		const batch = createMessageBatch<QueueMessage>("consent-edge-webhook-events", [
			{
				id: "invalid",
				timestamp: new Date(),
				attempts: 1,
				body: message(providerEvent(recipient, { kind: "opt_out" })),
			},
		]);
		await worker.queue(batch, env as unknown as Bindings);
		const result = await getQueueResult(batch, ctx);
		expect(result.explicitAcks).toEqual(["invalid"]);
		expect(result.retryMessages).toEqual([]);
		expect(await deadLettersAbout(recipient)).toHaveLength(1);
	});

	it("needs the admin scope to be listed or replayed", async () => {
		const created = await api("POST", "/v1/api-keys", { body: { name: unique("k"), scopes: ["events:write"] } });
		const { key } = await json(created);
		expect((await api("GET", "/v1/dead-letters", { key })).status).toBe(403);
		expect((await api("POST", "/v1/dead-letters/1/replay", { key })).status).toBe(403);
		expect((await api("GET", "/v1/dead-letters", { key: null })).status).toBe(401);
	});
});

interface Received {
	url: string;
	headers: Record<string, string>;
	body: string;
}

async function receivedAbout(text: string): Promise<Received[]> {
	const all = await (await env.WEBHOOK_RECEIVER.fetch("https://receiver/__received")).json<Received[]>();
	return all.filter((request) => request.body.includes(text));
}

async function hmacHex(secret: string, text: string): Promise<string> {
	const key = await crypto.subtle.importKey(
		"raw",
		new TextEncoder().encode(secret),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
	return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

describe("outbound webhooks", () => {
	it("POST every ledger event as signed JSON, confirmation links included", async () => {
		const topic = unique("doi");
		await putTopic(topic, { doubleOptIn: true });
		const email = uniqueEmail();
		const response = await api("POST", "/v1/events", {
			body: {
				email,
				businessUnit: "de",
				events: [
					{ event: "Subscribe", topic },
					{ event: "Opt Out", channel: "sms" },
				],
			},
		});
		expect(response.status).toBe(200);
		const { confirmations } = await json(response);

		const requests = await eventually(async () => {
			const found = await receivedAbout(email);
			return found.length === 2 && found;
		}, "two outbound requests");
		const events = requests.map((request) => JSON.parse(request.body)).sort((a, b) => a.id - b.id);
		expect(events[0]).toMatchObject({
			event: "Subscribe",
			topic,
			changed: true,
			source: "api",
			contact: { email, businessUnit: "de", externalId: null },
			properties: { confirmUrl: confirmations[0].confirmUrl },
		});
		expect(events[1]).toMatchObject({ event: "Opt Out", channel: "sms" });

		for (const request of requests) {
			expect(request.url).toBe(env.OUTBOUND_WEBHOOK_URL);
			const timestamp = request.headers["x-consent-edge-timestamp"] as string;
			expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
			expect(request.headers["x-consent-edge-signature"]).toBe(
				`v1=${await hmacHex(env.OUTBOUND_WEBHOOK_SECRET, `${timestamp}.${request.body}`)}`,
			);
			expect(request.headers["x-consent-edge-signature"]).not.toBe(
				`v1=${await hmacHex("another-secret", `${timestamp}.${request.body}`)}`,
			);
			expect(request.headers["x-consent-edge-event-id"]).toBe(String(JSON.parse(request.body).id));
		}
	});

	it("retry a failing receiver and end in the dead letters", async () => {
		const email = uniqueEmail();
		// The receiver fails requests whose event has campaign "fail-outbound" (vitest.config.ts).
		const ctx = createExecutionContext();
		const failing = { kind: "outbound", event: { id: 1, campaign: "fail-outbound", contact: { email } } };
		const batch = createMessageBatch("consent-edge-outbound", [
			{ id: "out", timestamp: new Date(), attempts: 2, body: failing },
		]);
		await worker.queue(batch as never, env as unknown as Bindings);
		expect((await getQueueResult(batch, ctx)).retryMessages.map((retry: { msgId: string }) => retry.msgId)).toEqual([
			"out",
		]);

		await env.OUTBOUND_QUEUE.send(failing);
		const [letter] = await eventually(
			async () => {
				const found = await deadLettersAbout(email);
				return found.length > 0 && found;
			},
			"the outbound dead letter",
			30_000,
		);
		expect(letter?.queue).toBe("outbound");
		// The direct call above, then the first delivery and max_retries (8) retries from the queue.
		expect(await receivedAbout(email)).toHaveLength(1 + 1 + 8);
	});
});
