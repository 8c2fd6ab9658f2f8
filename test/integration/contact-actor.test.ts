import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EventContext, EventToApply } from "../../src/contacts/contact-actor";
import { actorFor } from "../../src/contacts/record-events";
import { findOrCreateLead } from "../../src/db/contacts";
import { loadTopics } from "../../src/db/topics";
import { api, json, postEvents, putTopic, unique, uniqueEmail } from "../helpers";

const context = (): EventContext => ({
	source: "api",
	ip: null,
	userAgent: null,
	campaign: null,
	receivedAt: new Date().toISOString(),
});

const subscribe = (topic: string): EventToApply => ({
	event: "Subscribe",
	channel: "email",
	topic,
	properties: {},
	occurredAt: new Date().toISOString(),
	idempotencyKey: null,
});

describe("ContactActor", () => {
	it("loses no change when many writes hit one contact at once (RPC)", async () => {
		const topics = Array.from({ length: 40 }, () => unique("c"));
		await Promise.all(topics.map((key) => putTopic(key)));
		const definitions = [...(await loadTopics(env)).values()];
		const contact = await findOrCreateLead(env, { email: uniqueEmail(), businessUnit: "default" });

		// Each call is a read-modify-write of the whole consent state; without the actor's lock the
		// D1 awaits interleave and later writes overwrite earlier topics.
		const actor = actorFor(env, contact.id);
		await Promise.all(topics.map((topic) => actor.applyEvents(contact.id, [subscribe(topic)], context(), definitions)));

		const row = await env.DB.prepare("SELECT consent FROM contacts WHERE id = ?")
			.bind(contact.id)
			.first<{ consent: string }>();
		const state = JSON.parse(row?.consent ?? "{}");
		expect(Object.keys(state.topics).sort()).toEqual([...topics].sort());
		const ledger = await env.DB.prepare("SELECT topic FROM ledger WHERE contact_id = ?")
			.bind(contact.id)
			.all<{ topic: string }>();
		expect(ledger.results.map((r) => r.topic).sort()).toEqual([...topics].sort());
	});

	it("loses no change when concurrent API requests and the same idempotency key race", async () => {
		const email = uniqueEmail();
		const topics = Array.from({ length: 20 }, () => unique("r"));
		await Promise.all(topics.map((key) => putTopic(key)));
		await postEvents({ email }, [{ event: "Opt In" }]); // one contact before the race
		const key = unique("same");
		const responses = await Promise.all([
			...topics.map((topic) => postEvents({ email }, [{ event: "Subscribe", topic }])),
			...Array.from({ length: 10 }, () =>
				postEvents({ email }, [{ event: "Opt Out", channel: "sms", idempotencyKey: key }]),
			),
		]);
		expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
		const contact = await json(await api("GET", `/v1/leads?email=${encodeURIComponent(email)}`));
		for (const topic of topics) expect(contact.consent.topics[topic]?.status).toBe("subscribed");
		const history = await json(await api("GET", `/v1/leads/history?email=${encodeURIComponent(email)}&limit=1000`));
		expect(history.events.filter((e: { event: string }) => e.event === "Subscribe")).toHaveLength(20);
		expect(history.events.filter((e: { idempotencyKey: string }) => e.idempotencyKey === key)).toHaveLength(1);
	});

	it("makes one contact of two first events for the same address", async () => {
		const email = uniqueEmail();
		const results = await Promise.all(
			Array.from({ length: 8 }, () => postEvents({ email }, [{ event: "Opt Out", channel: "email" }]).then(json)),
		);
		expect(new Set(results.map((r) => r.id)).size).toBe(1);
	});

	it("refuses to give a user a second externalId", async () => {
		const contact = await findOrCreateLead(env, { email: uniqueEmail(), businessUnit: "default" });
		const actor = actorFor(env, contact.id);
		expect(await actor.updateProfile(contact.id, { externalId: unique("a") })).toMatchObject({ ok: true });
		expect(await actor.updateProfile(contact.id, { externalId: unique("b") })).toEqual({
			ok: false,
			conflict: "external_id",
		});
	});
});
