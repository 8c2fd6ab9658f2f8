import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ContactActor, EventContext, EventToApply } from "../../src/contacts/contact-actor";
import { actorFor } from "../../src/contacts/record-events";
import { findOrCreateLead } from "../../src/db/contacts";
import { loadTopics } from "../../src/db/topics";
import { countingEnv } from "../budget";
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

	it("writes warm: one D1 batch per call and no read, from the caller's copy or its own", async () => {
		const [first, second] = [unique("w"), unique("w")];
		await Promise.all([putTopic(first), putTopic(second)]);
		const definitions = [...(await loadTopics(env)).values()];
		const contact = await findOrCreateLead(env, { email: uniqueEmail(), businessUnit: "default" });
		const stub = env.CONTACT_ACTOR.get(env.CONTACT_ACTOR.idFromName(contact.id));
		const perCall = await runInDurableObject(stub, async (instance: ContactActor) => {
			// The actor's own bindings, counted.
			const counted = countingEnv((instance as unknown as { env: Cloudflare.Env }).env);
			(instance as unknown as { env: Cloudflare.Env }).env = counted.env;
			const counts: number[][] = [];
			// Cold, with the contact the caller has just read.
			await instance.applyEvents(contact, [subscribe(first)], context(), definitions);
			counts.push([counted.counts.d1RoundTrips, counted.counts.durableObjectCalls]);
			// Warm, with only the id.
			await instance.applyEvents(contact.id, [subscribe(second)], context(), definitions);
			counts.push([counted.counts.d1RoundTrips, counted.counts.durableObjectCalls]);
			return counts;
		});
		expect(perCall).toEqual([
			[1, 0],
			[2, 0],
		]);
		const row = await env.DB.prepare("SELECT consent, version FROM contacts WHERE id = ?")
			.bind(contact.id)
			.first<{ consent: string; version: number }>();
		expect(Object.keys(JSON.parse(row?.consent ?? "{}").topics).sort()).toEqual([first, second].sort());
		expect(row?.version).toBe(contact.version + 2);
	});

	it("notices a write around it by the version, reloads and loses nothing", async () => {
		const topic = unique("v");
		await putTopic(topic);
		const definitions = [...(await loadTopics(env)).values()];
		const contact = await findOrCreateLead(env, { email: uniqueEmail(), businessUnit: "default" });
		const actor = actorFor(env, contact.id);
		await actor.applyEvents(contact, [{ ...subscribe(topic), event: "Opt Out", topic: null }], context(), definitions);

		// A change that does not go through the actor (a migration, an operator's SQL), bumping the version.
		await env.DB.prepare(
			"UPDATE contacts SET consent = json_set(consent, '$.blocked', json('true')), version = version + 1 WHERE id = ?",
		)
			.bind(contact.id)
			.run();
		// An update that does not bump the version is refused by the database.
		await expect(
			env.DB.prepare("UPDATE contacts SET traits = '{}' WHERE id = ?").bind(contact.id).run(),
		).rejects.toThrow(/contact version conflict/);

		// The warm actor's copy is stale now: its write is refused, it reloads and applies over the new state.
		const result = await actor.applyEvents(contact.id, [subscribe(topic)], context(), definitions);
		expect(result.contact.consent.blocked).toBe(true);
		expect(result.contact.consent.topics[topic]?.status).toBe("subscribed");
		expect(result.contact.consent.channels.email?.optedOut).toBe(true);
		const row = await env.DB.prepare("SELECT consent, version FROM contacts WHERE id = ?")
			.bind(contact.id)
			.first<{ consent: string; version: number }>();
		const state = JSON.parse(row?.consent ?? "{}");
		expect(state.blocked).toBe(true);
		expect(state.topics[topic]?.status).toBe("subscribed");
		expect(row?.version).toBe(contact.version + 3);
		const ledger = await env.DB.prepare("SELECT event FROM ledger WHERE contact_id = ? ORDER BY id")
			.bind(contact.id)
			.all<{ event: string }>();
		expect(ledger.results.map((r) => r.event)).toEqual(["Opt Out", "Subscribe"]);
	});

	it("applies a redelivered event once, even when warm", async () => {
		const contact = await findOrCreateLead(env, { email: uniqueEmail(), businessUnit: "default" });
		const actor = actorFor(env, contact.id);
		const key = unique("k");
		const optOut: EventToApply = { ...subscribe("x"), event: "Opt Out", topic: null, idempotencyKey: key };
		const firstResult = await actor.applyEvents(contact, [optOut], context(), []);
		const again = await actor.applyEvents(contact.id, [optOut], context(), []);
		expect([firstResult.duplicates, again.duplicates]).toEqual([0, 1]);
		expect(again.ledgerIds).toEqual([]);
		const ledger = await env.DB.prepare("SELECT count(*) AS n FROM ledger WHERE contact_id = ?")
			.bind(contact.id)
			.first<{ n: number }>();
		expect(ledger?.n).toBe(1);
	});
});
