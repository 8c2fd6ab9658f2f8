import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyedHash } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import { applyWebhookEvent } from "../../../src/webhooks/consumer";
import { api, BASE, json, postEvents, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";
import { manageToken, submit, visit } from "../pages/page-helpers";

const bindings = env as unknown as Bindings;

const decision = async (email: string, extra = "") =>
	json(await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&channel=email${extra}`));

/** An address whose contact opted out of email and was erased: what §8 must keep suppressed. */
async function erasedOptOut(businessUnit = "de") {
	const email = uniqueEmail();
	expect((await postEvents({ email, businessUnit }, [{ event: "Opt Out", channel: "email" }])).status).toBe(200);
	expect((await api("DELETE", `/v1/leads?email=${email}&businessUnit=${businessUnit}`)).status).toBe(204);
	expect(await decision(email, `&businessUnit=${businessUnit}`)).toMatchObject({ reason: "suppressed" });
	return email;
}

const uniqueIp = () => `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}::1`;

function signup(email: string, topics: string[], businessUnit = "de") {
	return exports.default.fetch(
		new Request(`${BASE}/subscribe`, {
			method: "POST",
			headers: { "content-type": "application/json", "cf-connecting-ip": uniqueIp() },
			body: JSON.stringify({ email, businessUnit, topics }),
		}),
	);
}

async function confirmationUrlFromLedger(email: string, businessUnit: string, topic: string): Promise<string> {
	const row = await env.DB.prepare(
		`SELECT l.properties FROM ledger l JOIN contacts c ON c.id = l.contact_id
		 WHERE c.email = ? AND c.business_unit = ? AND l.topic = ? AND l.event = 'Subscribe' ORDER BY l.id DESC LIMIT 1`,
	)
		.bind(email, businessUnit, topic)
		.first<{ properties: string }>();
	const url = JSON.parse(row?.properties ?? "{}").confirmUrl;
	expect(url, "a confirmation link for the sign-up").toMatch(/\/c\//);
	return url;
}

describe("suppression holds on every path that makes or changes a contact", () => {
	it("PUT /v1/leads, PUT /v1/users (new and email change) and any event leave the address suppressed", async () => {
		const email = await erasedOptOut();
		expect((await api("PUT", "/v1/leads", { body: { email, businessUnit: "de" } })).status).toBe(201);
		expect(await decision(email, "&businessUnit=de")).toMatchObject({ allowed: false, reason: "suppressed" });

		const other = await erasedOptOut("at");
		expect(
			(await api("PUT", `/v1/users/${unique("new")}`, { body: { email: other, businessUnit: "at" } })).status,
		).toBe(201);
		expect(await decision(other, "&businessUnit=at")).toMatchObject({ reason: "suppressed" });

		const third = await erasedOptOut("ch");
		const moving = unique("mover");
		await api("PUT", `/v1/users/${moving}`, { body: { email: uniqueEmail(), businessUnit: "ch" } });
		expect((await api("PUT", `/v1/users/${moving}`, { body: { email: third } })).status).toBe(200);
		// Asked by externalId: the suppression is reached through the user's address.
		expect(await json(await api("GET", `/v1/consent?externalId=${moving}&channel=email`))).toMatchObject({
			reason: "suppressed",
		});

		await postEvents({ email, businessUnit: "de" }, [{ event: unique("custom") }, { event: "Opt In" }]);
		expect(await decision(email, "&businessUnit=de")).toMatchObject({ reason: "suppressed" });
		const batch = await json(
			await api("POST", "/v1/consent/check", {
				body: { channel: "email", recipients: [{ externalId: moving }, { email: third }, { email: uniqueEmail() }] },
			}),
		);
		expect(batch.results.map((r: { reason: string }) => r.reason)).toEqual(["suppressed", "suppressed", "ok"]);
	});

	it("a one-click of an old link (which makes a lead) leaves the address suppressed", async () => {
		const email = await erasedOptOut();
		const topic = unique("old");
		await putTopic(topic);
		const token = await manageToken({ email, businessUnit: "de" }, { topic, channel: "email" });
		const response = await submit(`/u/${token}`, [["List-Unsubscribe", "One-Click"]]);
		expect(response.status).toBe(200);
		expect(await decision(email, `&businessUnit=de&topic=${topic}`)).toMatchObject({ reason: "suppressed" });
	});

	it("a provider's resubscribe does not end it; only an operator's DELETE or a confirmation does", async () => {
		const email = await erasedOptOut("default");
		await applyWebhookEvent(
			bindings,
			{
				kind: "webhook-event",
				provider: "sendgrid",
				event: {
					id: unique("resub"),
					channel: "email",
					recipient: email,
					action: { kind: "resubscribe", list: null },
					occurredAt: null,
					businessUnit: null,
					campaign: null,
					properties: {},
				},
				receivedAt: new Date().toISOString(),
			},
			new Map(),
		);
		expect(await decision(email)).toMatchObject({ reason: "suppressed" });
		expect((await api("DELETE", `/v1/suppressions?email=${encodeURIComponent(email)}`)).status).toBe(204);
		expect(await decision(email)).toMatchObject({ allowed: true, reason: "ok" });
		expect((await api("DELETE", `/v1/suppressions?email=${encodeURIComponent(email)}`)).status).toBe(404);
	});

	it("a sign-up of a suppressed address goes through confirmation, even without double opt-in; the confirmation ends it", async () => {
		const email = await erasedOptOut();
		const news = unique("plain");
		await putTopic(news, { doubleOptIn: false });
		const known = await signup(uniqueEmail(), [news]);
		const answer = await signup(email, [news]);
		// The answer is the same as for any address: nothing tells who was suppressed.
		expect([answer.status, await answer.text()]).toEqual([known.status, await known.text()]);

		const lead = await json(await api("GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=de`));
		expect(lead.consent.topics[news].status).toBe("pending");
		expect(await decision(email, `&businessUnit=de&topic=${news}`)).toMatchObject({ reason: "suppressed" });
		// The confirmation mail itself may go out: an opt-out suppression allows transactional mail.
		expect(await decision(email, "&businessUnit=de&kind=transactional")).toMatchObject({ allowed: true });

		const confirmUrl = await confirmationUrlFromLedger(email, "de", news);
		expect((await visit("GET", new URL(confirmUrl).pathname)).status).toBe(200);
		expect(await decision(email, "&businessUnit=de")).toMatchObject({ reason: "suppressed" }); // GET changes nothing
		expect((await submit(new URL(confirmUrl).pathname, [])).status).toBe(200);
		expect(await decision(email, `&businessUnit=de&topic=${news}`)).toMatchObject({ allowed: true, reason: "ok" });

		// The end is recorded under the suppression's pseudonymous subject.
		const hash = await keyedHash(bindings, email);
		const rows = await env.DB.prepare("SELECT event, source FROM ledger WHERE contact_id = ? ORDER BY id")
			.bind(`suppression:${hash}`)
			.all<{ event: string; source: string }>();
		expect(rows.results).toEqual([
			{ event: "Suppress", source: "erasure" },
			{ event: "Unsuppress", source: "confirmation_page" },
		]);
	});

	it("a Subscribe event of a suppressed address answers a confirmation link even for a topic without double opt-in", async () => {
		const email = await erasedOptOut();
		const news = unique("plain");
		await putTopic(news);
		const body = await json(await postEvents({ email, businessUnit: "de" }, [{ event: "Subscribe", topic: news }]));
		expect(body.consent.topics[news].status).toBe("pending");
		expect(body.confirmations).toEqual([{ topic: news, confirmUrl: expect.stringMatching(/\/c\//) }]);
		// A caller cannot ask for that flag itself on an address that is not suppressed.
		const free = await json(
			await postEvents({ email: uniqueEmail(), businessUnit: "de" }, [
				{ event: "Subscribe", topic: news, properties: { confirmationRequired: true } },
			]),
		);
		expect(free.consent.topics[news].status).toBe("subscribed");
	});
});

describe("contacts written before they kept address hashes", () => {
	it("are still reached by the suppression, in single and large batch checks, and get their hash on the next write", async () => {
		const email = uniqueEmail();
		const id = crypto.randomUUID();
		// As a contact row was written before migration 0004: no email_hash.
		await env.DB.prepare(
			`INSERT INTO contacts (id, email, business_unit, consent) VALUES (?, ?, 'default', '{"blocked":false,"channels":{},"topics":{}}')`,
		)
			.bind(id, email)
			.run();
		await api("POST", "/v1/suppressions", { body: { addresses: [email], reason: "opted_out" } });
		expect(await decision(email)).toMatchObject({ reason: "suppressed", contactId: id });
		// Over 100 recipients the hashes are not made before the query: the row's missing hash is looked up after it.
		const others = Array.from({ length: 150 }, () => ({ email: uniqueEmail() }));
		const batch = await json(
			await api("POST", "/v1/consent/check", { body: { channel: "email", recipients: [...others, { email }] } }),
		);
		expect(batch.results.at(-1)).toEqual({ allowed: false, reason: "suppressed" });
		expect(batch.allowedCount).toBe(150);

		await postEvents({ email }, [{ event: unique("touch") }]);
		const row = await env.DB.prepare("SELECT email_hash FROM contacts WHERE id = ?")
			.bind(id)
			.first<{ email_hash: string }>();
		expect(row?.email_hash).toBe(await keyedHash(bindings, email));
	});
});

describe("GET, POST and DELETE /v1/suppressions", () => {
	it("adds an ESP's suppression list, answers for each address, merges reasons, and needs an unlimited admin key", async () => {
		const [a, b, phone] = [uniqueEmail(), uniqueEmail(), uniquePhone()];
		const added = await api("POST", "/v1/suppressions", {
			body: { addresses: [a, ` ${b.toUpperCase()} `, phone, a], reason: "bounced" },
		});
		expect(await json(added)).toEqual({ added: 3, extended: 0 });
		const again = await json(await api("POST", "/v1/suppressions", { body: { addresses: [a], reason: "complaint" } }));
		expect(again).toEqual({ added: 0, extended: 1 });
		expect(await json(await api("GET", `/v1/suppressions?email=${encodeURIComponent(a)}`))).toEqual({
			suppressed: true,
			reasons: ["complaint", "bounced"],
			since: expect.any(String),
		});
		expect(await json(await api("GET", `/v1/suppressions?phone=${encodeURIComponent(phone)}`))).toMatchObject({
			suppressed: true,
			reasons: ["bounced"],
		});
		expect(await json(await api("GET", `/v1/suppressions?email=${uniqueEmail()}`))).toEqual({
			suppressed: false,
			reasons: [],
			since: null,
		});
		// A bounce stops transactional messages too; SMS is reached through the phone.
		expect(await decision(b, "&kind=transactional")).toMatchObject({ reason: "suppressed" });
		expect(
			await json(await api("GET", `/v1/consent?phone=${encodeURIComponent(phone)}&channel=whatsapp`)),
		).toMatchObject({ reason: "suppressed" });

		const limited = await json(
			await api("POST", "/v1/api-keys", { body: { name: unique("k"), scopes: ["admin"], businessUnits: ["de"] } }),
		);
		expect((await api("GET", `/v1/suppressions?email=${a}`, { key: limited.key })).status).toBe(403);
		expect(
			(await api("POST", "/v1/suppressions", { body: { addresses: [a], reason: "blocked" }, key: limited.key })).status,
		).toBe(403);
		expect((await api("DELETE", `/v1/suppressions?email=${a}`, { key: limited.key })).status).toBe(403);
	});

	it("refuses the whole list when one address is invalid, writing nothing", async () => {
		const good = uniqueEmail();
		const response = await api("POST", "/v1/suppressions", {
			body: { addresses: [good, "not an address"], reason: "opted_out" },
		});
		expect(response.status).toBe(400);
		expect((await json(response)).errors).toEqual([{ path: "addresses.1", message: expect.any(String) }]);
		expect(await json(await api("GET", `/v1/suppressions?email=${good}`))).toMatchObject({ suppressed: false });
		expect((await api("GET", "/v1/suppressions?email=a@b.de&phone=%2B4917612345678")).status).toBe(400);
		expect((await api("POST", "/v1/suppressions", { body: { addresses: [good], reason: "spam" } })).status).toBe(400);
	});
});

describe("property: an erased address stays suppressed through any chain of operations", () => {
	type Op =
		| "lead"
		| "user"
		| "moveUser"
		| "optIn"
		| "custom"
		| "subscribe"
		| "signup"
		| "oneClick"
		| "import"
		| "webhookResubscribe"
		| "preferences"
		| "confirm"
		| "operatorDelete";
	const ENDS: ReadonlySet<Op> = new Set(["confirm", "operatorDelete"]);

	it("only a confirmation or an operator's DELETE ends it", async () => {
		const topic = unique("chain");
		await putTopic(topic, { doubleOptIn: false });
		const op = fc.constantFrom<Op>(
			"lead",
			"user",
			"moveUser",
			"optIn",
			"custom",
			"subscribe",
			"signup",
			"oneClick",
			"import",
			"webhookResubscribe",
			"preferences",
			"confirm",
			"operatorDelete",
		);
		const businessUnit = fc.constantFrom("de", "at", "default");

		await fc.assert(
			fc.asyncProperty(fc.array(fc.tuple(op, businessUnit), { minLength: 1, maxLength: 6 }), async (chain) => {
				const email = await erasedOptOut("default");
				let ended = false;
				for (const [op, unit] of chain) {
					await apply(op, email, unit, topic, ended);
					ended ||= ENDS.has(op);
					const answer = await decision(email, `&businessUnit=${unit}`);
					if (!ended)
						expect(answer, `${op} in ${unit} after ${JSON.stringify(chain)}`).toMatchObject({ reason: "suppressed" });
				}
			}),
			{ numRuns: 12, seed: 9001 },
		);
	});

	async function apply(op: Op, email: string, businessUnit: string, topic: string, ended: boolean): Promise<void> {
		const ok = (response: Response) => expect(response.status, op).toBeLessThan(500);
		switch (op) {
			case "lead":
				ok(await api("PUT", "/v1/leads", { body: { email, businessUnit, traits: { n: 1 } } }));
				return;
			case "user":
				ok(await api("PUT", `/v1/users/${unique("u")}`, { body: { email, businessUnit } }));
				return;
			case "moveUser": {
				const id = unique("m");
				await api("PUT", `/v1/users/${id}`, { body: { email: uniqueEmail(), businessUnit } });
				ok(await api("PUT", `/v1/users/${id}`, { body: { email } }));
				return;
			}
			case "optIn":
				ok(await postEvents({ email, businessUnit }, [{ event: "Opt In" }, { event: "Opt In", channel: "email" }]));
				return;
			case "custom":
				ok(await postEvents({ email, businessUnit }, [{ event: unique("Custom") }]));
				return;
			case "subscribe":
				ok(await postEvents({ email, businessUnit }, [{ event: "Subscribe", topic }]));
				return;
			case "signup":
				ok(await signup(email, [topic], businessUnit));
				return;
			case "oneClick": {
				const token = await manageToken({ email, businessUnit }, { channel: "email" });
				ok(await submit(`/u/${token}`, [["List-Unsubscribe", "One-Click"]]));
				return;
			}
			case "import":
				ok(
					await api("POST", `/v1/imports/contacts?businessUnit=${businessUnit}`, {
						raw: `email,optedOut,topic:${topic}\n${email},false,subscribed\n`,
						headers: { "content-type": "text/csv" },
					}),
				);
				return;
			case "webhookResubscribe":
				await applyWebhookEvent(
					bindings,
					{
						kind: "webhook-event",
						provider: "mailgun",
						event: {
							id: unique("w"),
							channel: "email",
							recipient: email,
							action: { kind: "resubscribe", list: null },
							occurredAt: null,
							businessUnit,
							campaign: null,
							properties: {},
						},
						receivedAt: new Date().toISOString(),
					},
					new Map(),
				);
				return;
			case "preferences": {
				const token = await manageToken({ email, businessUnit }, { channel: "email" });
				await visit("GET", `/p/${token}`);
				ok(
					await submit(`/p/${token}`, [
						["shown_channel", "email"],
						["shown_topic", topic],
						["topic", topic],
					]),
				);
				return;
			}
			case "confirm": {
				const body = await json(await postEvents({ email, businessUnit }, [{ event: "Subscribe", topic }]));
				const url = body.confirmations?.[0]?.confirmUrl;
				if (ended) return; // no longer suppressed: the topic needs no confirmation
				expect(url, "a suppressed sign-up gets a confirmation link").toBeTruthy();
				ok(await submit(new URL(url).pathname, []));
				return;
			}
			case "operatorDelete":
				ok(await api("DELETE", `/v1/suppressions?email=${encodeURIComponent(email)}`));
				return;
		}
	}
});
