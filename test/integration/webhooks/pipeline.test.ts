/**
 * The queue side of webhooks, end to end in workerd with the real local queues: a queued provider
 * event changes the contact; a redelivery adds no ledger row; a failing message retries and ends
 * in the dead letters, which an operator lists and replays; every ledger row goes out signed to
 * the outbound receiver (vitest.config.ts).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { base64Encode, keyedHash } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import worker from "../../../src/index";
import { deliverOutbound, type OutboundEvent } from "../../../src/outbound/outbound";
import { type QueueMessage, retryDelaySeconds } from "../../../src/queues";
import type { WebhookEventMessage } from "../../../src/webhooks/consumer";
import { api, eventually, json, putTopic, unique, uniqueEmail } from "../../helpers";
import { providerEvent, queuedEvent } from "./webhook-helpers";

const message = queuedEvent;

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
	it("make an unknown address a lead, with the event applied", async () => {
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

/**
 * Verifies a delivery as a receiver would, with the Standard Webhooks library: the payload it
 * returns, or the error it throws.
 */
function verifyDelivery(webhook: Webhook, request: Received): unknown {
	try {
		return webhook.verify(request.body, request.headers);
	} catch (error) {
		return error;
	}
}

describe("outbound webhooks", () => {
	it("POST the events of a lead a provider event made, as for a stored contact", async () => {
		const email = uniqueEmail();
		await env.WEBHOOK_QUEUE.send(
			message(providerEvent(email, { kind: "unsubscribe", list: null }, { campaign: "spring" })),
		);
		const [request] = await eventually(async () => {
			const found = await receivedAbout(email);
			return found.length === 1 && found;
		}, "the outbound request");
		const [contact] = await contactsOf(email);
		expect(JSON.parse(request?.body ?? "{}")).toMatchObject({
			event: "Opt Out",
			channel: "email",
			changed: true,
			source: "webhook:sendgrid",
			campaign: "spring",
			contact: { id: contact?.id, email, businessUnit: "default", externalId: null },
		});
	});

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

		// The test's secret is a raw one (not whsec_): its UTF-8 bytes are the key, a raw secret to the library.
		const receiver = new Webhook(env.OUTBOUND_WEBHOOK_SECRET, { format: "raw" });
		const impostor = new Webhook("another-secret", { format: "raw" });
		for (const request of requests) {
			expect(request.url).toBe(env.OUTBOUND_WEBHOOK_URL);
			expect(verifyDelivery(receiver, request)).toEqual(JSON.parse(request.body));
			expect(verifyDelivery(impostor, request)).toBeInstanceOf(WebhookVerificationError);
			// webhook-id is the ledger id: the same on every retry, for receivers to deduplicate.
			expect(request.headers["webhook-id"]).toBe(String(JSON.parse(request.body).id));
			expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
			expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
			const tampered = { ...request, body: request.body.replace('"changed":true', '"changed":false') };
			expect(verifyDelivery(receiver, tampered)).toBeInstanceOf(WebhookVerificationError);
		}
	});

	it("sign with the bytes of a whsec_ secret (Standard Webhooks), the same id on every retry", async () => {
		const keyBytes = crypto.getRandomValues(new Uint8Array(32));
		const secret = `whsec_${base64Encode(keyBytes)}`;
		const email = uniqueEmail();
		const event = {
			id: 987_654_321,
			event: "Opt Out",
			contact: { id: unique("c"), externalId: null, email, phone: null, businessUnit: "de" },
			channel: "email",
			topic: null,
			changed: true,
			changes: [],
			properties: {},
			source: "api",
			reason: null,
			feedback: null,
			campaign: null,
			occurredAt: new Date().toISOString(),
			receivedAt: new Date().toISOString(),
		} satisfies OutboundEvent;
		const bindings = { ...env, OUTBOUND_WEBHOOK_SECRET: secret } as unknown as Bindings;
		await deliverOutbound(bindings, { kind: "outbound", event });
		await deliverOutbound(bindings, { kind: "outbound", event });
		const requests = await receivedAbout(email);
		expect(requests).toHaveLength(2);
		for (const request of requests) {
			expect(verifyDelivery(new Webhook(secret), request)).toEqual(event);
			// The library's raw form of the same key bytes verifies too; the secret's text as a raw key does not.
			expect(verifyDelivery(new Webhook(keyBytes, { format: "raw" }), request)).toEqual(event);
			expect(verifyDelivery(new Webhook(secret, { format: "raw" }), request)).toBeInstanceOf(WebhookVerificationError);
			expect(request.headers["webhook-id"]).toBe("987654321");
		}
		const bad = { ...env, OUTBOUND_WEBHOOK_SECRET: "whsec_not base64!" } as unknown as Bindings;
		await expect(deliverOutbound(bad, { kind: "outbound", event })).rejects.toThrow("whsec_");
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
