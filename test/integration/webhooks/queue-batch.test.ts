/**
 * A queue batch of provider events is applied as a set: one lookup for all its addresses, one D1
 * batch that creates all missing leads with their events applied, one actor call per existing
 * contact. Exactly once, however often it is delivered, and within the per-invocation budget at
 * the queue's largest batch.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../../src/env";
import worker from "../../../src/index";
import type { QueueMessage } from "../../../src/queues";
import { MAX_ACTOR_CALLS, type WebhookEventMessage } from "../../../src/webhooks/consumer";
import { countingEnv, INVOCATION_BUDGET } from "../../budget";
import { api, unique } from "../../helpers";
import { providerEvent, queuedEvent } from "./webhook-helpers";

const event = providerEvent;
const asMessage = queuedEvent;

/** Runs one queue invocation of these messages through the worker's own handler. */
async function deliver(bodies: WebhookEventMessage[], bindings: Bindings = env as unknown as Bindings) {
	const batch = createMessageBatch<QueueMessage>(
		"consent-edge-webhook-events",
		bodies.map((body, index) => ({ id: `m${index}`, timestamp: new Date(), attempts: 1, body })),
	);
	await worker.queue(batch, bindings);
	return getQueueResult(batch, createExecutionContext());
}

/** Ledger rows of contacts with addresses under this run's domain, by address. */
async function rowsByAddress(domain: string) {
	const { results } = await env.DB.prepare(
		`SELECT c.email, c.business_unit, l.event, l.campaign FROM ledger l JOIN contacts c ON c.id = l.contact_id
		 WHERE c.email LIKE ? AND l.source = 'webhook:sendgrid' ORDER BY l.id`,
	)
		.bind(`%@${domain}`)
		.all<{ email: string; business_unit: string; event: string; campaign: string | null }>();
	const rows = new Map<string, typeof results>();
	for (const row of results) rows.set(row.email, [...(rows.get(row.email) ?? []), row]);
	return rows;
}

async function contactCount(domain: string) {
	const row = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE email LIKE ?")
		.bind(`%@${domain}`)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

describe("a queue batch of provider events", () => {
	it("applies 100 new and 20 known addresses exactly once; delivered again, it adds nothing", async () => {
		const domain = `${unique("q")}.example`;
		const fresh = Array.from({ length: 100 }, (_, i) => `new${i}@${domain}`);
		const known = Array.from({ length: 20 }, (_, i) => `known${i}@${domain}`);
		for (const email of known) {
			expect((await api("PUT", "/v1/leads", { body: { email, businessUnit: "de" } })).status).toBeLessThan(300);
		}
		// One known address is also in a second unit: a provider event without a unit reaches both.
		expect((await api("PUT", "/v1/leads", { body: { email: known[0], businessUnit: "at" } })).status).toBeLessThan(300);
		const bodies = [
			...fresh.map((email, i) => asMessage(event(email, { kind: "unsubscribe", list: null }, { campaign: `c${i}` }))),
			...known.map((email) => asMessage(event(email, { kind: "hard_bounce" }))),
			// Two events for one address in the batch: both apply, in arrival order.
			asMessage(event(fresh[0] as string, { kind: "complaint" }, { campaign: "second" })),
			// An address no retry can make valid: a dead letter, the rest of the batch unharmed.
			asMessage(event("not-an-address@", { kind: "complaint" })),
		];

		const first = await deliver(bodies);
		expect(first.retryMessages).toEqual([]);
		expect(first.explicitAcks).toHaveLength(bodies.length);

		const rows = await rowsByAddress(domain);
		expect(await contactCount(domain)).toBe(100 + 20 + 1);
		for (const [i, email] of fresh.entries()) {
			const expected = i === 0 ? ["Opt Out", "Complaint"] : ["Opt Out"];
			expect(rows.get(email)?.map((row) => row.event)).toEqual(expected);
			// Each row carries its own message's origin.
			expect(rows.get(email)?.[0]?.campaign).toBe(`c${i}`);
		}
		expect(rows.get(fresh[0] as string)?.[1]?.campaign).toBe("second");
		for (const email of known)
			expect(rows.get(email)?.map((row) => row.event)).toEqual(email === known[0] ? ["Bounce", "Bounce"] : ["Bounce"]);
		const total = [...rows.values()].flat().length;
		expect(total).toBe(100 + 1 + 21);

		const again = await deliver(bodies);
		expect(again.retryMessages).toEqual([]);
		expect([...(await rowsByAddress(domain)).values()].flat()).toHaveLength(total);
		expect(await contactCount(domain)).toBe(121);
	});

	it("stays within the invocation budget at the largest batch of distinct new addresses", async () => {
		const domain = `${unique("b")}.example`;
		const bodies = Array.from({ length: 100 }, (_, i) =>
			asMessage(event(`n${i}@${domain}`, { kind: "unsubscribe", list: null })),
		);
		const { env: counted, counts } = countingEnv(env as unknown as Bindings);
		const result = await deliver(bodies, counted as Bindings);
		expect(result.explicitAcks).toHaveLength(100);
		expect(await contactCount(domain)).toBe(100);
		// Topics, the addresses, their suppressions, the leads' batch with their events; no actor: a
		// new lead is written with its events applied.
		expect(counts.d1RoundTrips).toBeLessThanOrEqual(4);
		expect(counts.durableObjectCalls).toBe(0);
		expect([...(await rowsByAddress(domain)).values()].flat()).toHaveLength(100);
		expect(counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
	});

	it("stops at MAX_ACTOR_CALLS existing contacts and defers the rest; new leads take no actor call", async () => {
		const domain = `${unique("cap")}.example`;
		// Ten addresses with a contact in each of 100 business units: 100 actor calls per message.
		const addresses = Array.from({ length: 10 }, (_, i) => `wide${i}@${domain}`);
		const units = Array.from({ length: 100 }, (_, i) => `${domain.replace(/\W/g, "")}-${i}`);
		await env.DB.prepare(
			`INSERT INTO contacts (id, business_unit, email, consent)
			 SELECT lower(hex(randomblob(16))), u.value, a.value, '{"blocked":false,"channels":{},"topics":{}}'
			 FROM json_each(?1) a, json_each(?2) u`,
		)
			.bind(JSON.stringify(addresses), JSON.stringify(units))
			.run();
		const bodies = [
			...addresses.map((email) => asMessage(event(email, { kind: "hard_bounce" }))),
			// After the cap, so it waits too: one address's events keep their order.
			...Array.from({ length: 5 }, (_, i) => asMessage(event(`fresh${i}@${domain}`, { kind: "complaint" }))),
		];
		// New leads before the cap are written, and cost no actor call.
		bodies.unshift(asMessage(event(`early@${domain}`, { kind: "complaint" })));
		const { env: counted, counts } = countingEnv(env as unknown as Bindings);
		const result = await deliver(bodies, counted as Bindings);

		expect(MAX_ACTOR_CALLS).toBe(900);
		// The early lead and nine addresses fit (9 × 100 = 900 calls); the tenth and the rest wait.
		expect(result.explicitAcks).toHaveLength(10);
		// Retried without a delay (none given): m0 is the early lead, m1…m10 the addresses.
		expect(result.retryMessages).toEqual(["m10", "m11", "m12", "m13", "m14", "m15"].map((msgId) => ({ msgId })));
		expect(counts.durableObjectCalls).toBe(900);
		expect(counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
		const rows = await rowsByAddress(domain);
		expect(rows.get(`early@${domain}`)?.map((row) => row.event)).toEqual(["Complaint"]);
		expect(rows.get(addresses[9] as string)).toBeUndefined();
		expect(rows.get(`fresh0@${domain}`)).toBeUndefined();
	});

	it("defers an address whose lead another invocation made meanwhile, then applies it through its actor", async () => {
		const domain = `${unique("r")}.example`;
		const email = `raced@${domain}`;
		const bodies = [asMessage(event(email, { kind: "unsubscribe", list: null }))];
		// Another invocation makes the lead between this one's lookup and its insert.
		const raced = withWriteBeforeFirstBatch(() => api("PUT", "/v1/leads", { body: { email } }));
		const first = await deliver(bodies, raced);
		expect(first.retryMessages).toHaveLength(1);
		expect(await contactCount(domain)).toBe(1);
		expect((await rowsByAddress(domain)).get(email)).toBeUndefined();

		const second = await deliver(bodies);
		expect(second.retryMessages).toEqual([]);
		expect((await rowsByAddress(domain)).get(email)?.map((row) => row.event)).toEqual(["Opt Out"]);
		expect(await contactCount(domain)).toBe(1);
	});
});

/** The test env, with `write` run (once) just before the first D1 batch: a concurrent invocation. */
function withWriteBeforeFirstBatch(write: () => Promise<unknown>): Bindings {
	let pending: (() => Promise<unknown>) | null = write;
	const db = new Proxy(env.DB, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (property !== "batch") return typeof value === "function" ? value.bind(target) : value;
			return async (statements: D1PreparedStatement[]) => {
				const before = pending;
				pending = null;
				await before?.();
				return target.batch(statements);
			};
		},
	});
	return { ...(env as unknown as Bindings), DB: db };
}
