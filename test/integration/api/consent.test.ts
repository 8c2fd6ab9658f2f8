import { describe, expect, it } from "vitest";
import { api, json, postEvents, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";

const check = async (query: Record<string, string>) =>
	json(await api("GET", `/v1/consent?${new URLSearchParams(query)}`));

describe("GET /v1/consent", () => {
	it("answers every reason of the decision", async () => {
		const topic = unique("news");
		const doi = unique("doi");
		await putTopic(topic, { channel: "email" });
		await putTopic(doi, { channel: "email", doubleOptIn: true });

		const unknown = uniqueEmail();
		expect(await check({ email: unknown, channel: "email" })).toEqual({ allowed: true, reason: "ok", contactId: null });
		expect(await check({ email: unknown, channel: "email", topic: doi })).toMatchObject({
			allowed: false,
			reason: "not_subscribed",
		});

		const optedOut = uniqueEmail();
		const contact = await json(await postEvents({ email: optedOut }, [{ event: "Opt Out", channel: "email" }]));
		expect(await check({ email: optedOut, channel: "email" })).toEqual({
			allowed: false,
			reason: "opted_out",
			contactId: contact.id,
		});
		expect(await check({ email: optedOut, channel: "sms" })).toMatchObject({ allowed: true, reason: "ok" });
		expect(await check({ email: optedOut, channel: "email", kind: "transactional" })).toMatchObject({
			allowed: true,
			reason: "ok",
		});

		const bounced = uniqueEmail();
		await postEvents({ email: bounced }, [{ event: "Bounce", channel: "email", properties: { type: "hard" } }]);
		expect(await check({ email: bounced, channel: "email", kind: "transactional" })).toMatchObject({
			allowed: false,
			reason: "bounced",
		});

		const blocked = uniqueEmail();
		await postEvents({ email: blocked }, [{ event: "Block" }]);
		expect(await check({ email: blocked, channel: "email", kind: "transactional" })).toMatchObject({
			allowed: false,
			reason: "blocked",
		});

		const pending = uniqueEmail();
		await postEvents({ email: pending }, [{ event: "Subscribe", topic: doi }]);
		expect(await check({ email: pending, channel: "email", topic: doi })).toMatchObject({
			reason: "pending_confirmation",
		});

		const unsubscribed = uniqueEmail();
		await postEvents({ email: unsubscribed }, [{ event: "Unsubscribe", topic }]);
		expect(await check({ email: unsubscribed, channel: "email", topic })).toMatchObject({ reason: "unsubscribed" });
		expect(await check({ email: unsubscribed, channel: "email" })).toMatchObject({ reason: "ok" });
	});

	it("looks users up by externalId and phones by E.164", async () => {
		const id = unique("user");
		const phone = uniquePhone();
		await api("PUT", `/v1/users/${id}`, { body: { phone, businessUnit: "de" } });
		await postEvents({ id }, [{ event: "Opt Out", channel: "sms" }]);
		expect(await check({ externalId: id, channel: "sms" })).toMatchObject({ reason: "opted_out" });
		expect(await check({ phone, businessUnit: "de", channel: "sms" })).toMatchObject({ reason: "opted_out" });
		expect(await check({ phone, businessUnit: "at", channel: "sms" })).toMatchObject({ reason: "ok", contactId: null });
	});

	it("blocks bare addresses before any contact exists", async () => {
		const email = uniqueEmail();
		expect((await api("PUT", `/v1/blocklist/${encodeURIComponent(email.toUpperCase())}`)).status).toBe(201);
		expect((await api("PUT", `/v1/blocklist/${encodeURIComponent(email)}`)).status).toBe(200);
		expect(await check({ email, channel: "email", kind: "transactional" })).toMatchObject({
			allowed: false,
			reason: "blocked",
			contactId: null,
		});
		// Blocked in every business unit, also once the address becomes a contact.
		await postEvents({ email, businessUnit: "at" }, [{ event: "Opt In" }]);
		expect(await check({ email, businessUnit: "at", channel: "email" })).toMatchObject({ reason: "blocked" });
		expect((await api("DELETE", `/v1/blocklist/${encodeURIComponent(email)}`)).status).toBe(204);
		expect(await check({ email, channel: "email" })).toMatchObject({ allowed: true, reason: "ok" });
		expect((await api("DELETE", `/v1/blocklist/${encodeURIComponent(email)}`)).status).toBe(404);

		const phone = uniquePhone();
		await api("PUT", `/v1/blocklist/${encodeURIComponent(phone)}`);
		expect(await check({ phone, channel: "sms" })).toMatchObject({ reason: "blocked" });
		expect((await api("PUT", "/v1/blocklist/not-an-address")).status).toBe(400);
	});

	it("finds a blocked address whichever way the recipient is named", async () => {
		const id = unique("user");
		const email = uniqueEmail();
		const phone = uniquePhone();
		await api("PUT", `/v1/users/${id}`, { body: { email, phone } });
		await api("PUT", `/v1/blocklist/${encodeURIComponent(phone)}`);
		// The phone is blocked: the contact is blocked when named by externalId or by its email too.
		expect(await check({ externalId: id, channel: "email" })).toMatchObject({ reason: "blocked" });
		expect(await check({ email, channel: "email" })).toMatchObject({ reason: "blocked" });
		const batch = await json(
			await api("POST", "/v1/consent/check", {
				body: { channel: "email", recipients: [{ externalId: id }, { email }, { phone }, { email: uniqueEmail() }] },
			}),
		);
		expect(batch.results.map((r: { reason: string }) => r.reason)).toEqual(["blocked", "blocked", "blocked", "ok"]);
	});

	it("rejects an unknown topic, a topic of another channel and a missing channel", async () => {
		const smsTopic = unique("sms");
		await putTopic(smsTopic, { channel: "sms" });
		const email = uniqueEmail();
		const queries: Array<Record<string, string>> = [
			{ email, channel: "email", topic: unique("nope") },
			{ email, channel: "email", topic: smsTopic },
			{ email },
			{ email, channel: "fax" },
			{ email, externalId: "x", channel: "email" },
			{ email: "not-an-email", channel: "email" },
		];
		for (const query of queries) {
			const response = await api("GET", `/v1/consent?${new URLSearchParams(query)}`);
			expect(response.status, JSON.stringify(query)).toBe(400);
			expect((await json(response)).code).toBe("VALIDATION_FAILED");
		}
	});
});

describe("POST /v1/consent/check", () => {
	it("answers 10,000 mixed recipients in input order", async () => {
		const topic = unique("news");
		await putTopic(topic, { channel: "email" });
		const optedOut = uniqueEmail();
		const unsubscribed = uniqueEmail();
		const id = unique("user");
		const phone = uniquePhone();
		await postEvents({ email: optedOut }, [{ event: "Opt Out", channel: "email" }]);
		await postEvents({ email: unsubscribed }, [{ event: "Unsubscribe", topic }]);
		await api("PUT", `/v1/users/${id}`, { body: { email: uniqueEmail() } });
		await postEvents({ id }, [{ event: "Block" }]);
		await api("PUT", `/v1/blocklist/${encodeURIComponent(phone)}`);

		const special: Array<Record<string, string>> = [
			{ email: optedOut },
			{ email: unsubscribed },
			{ externalId: id },
			{ phone },
		];
		const recipients: Array<Record<string, string>> = [];
		for (let i = 0; i < 10_000; i++) {
			recipients.push(i % 2500 === 7 ? (special[Math.floor(i / 2500)] ?? {}) : { email: `bulk-${i}@example.org` });
		}
		const response = await api("POST", "/v1/consent/check", { body: { channel: "email", topic, recipients } });
		expect(response.status).toBe(200);
		const { results, allowedCount } = await json(response);
		expect(results).toHaveLength(10_000);
		expect(results[7]).toEqual({ allowed: false, reason: "opted_out" });
		expect(results[2507]).toEqual({ allowed: false, reason: "unsubscribed" });
		expect(results[5007]).toEqual({ allowed: false, reason: "blocked" });
		expect(results[7507]).toEqual({ allowed: false, reason: "blocked" });
		expect(results[0]).toEqual({ allowed: true, reason: "ok" });
		expect(allowedCount).toBe(10_000 - 4);
	});

	it("rejects more than 10,000 recipients, an invalid one, and unknown fields", async () => {
		const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ email: `r${i}@example.org` }));
		expect((await api("POST", "/v1/consent/check", { body: { channel: "email", recipients: tooMany } })).status).toBe(
			400,
		);
		const invalid = await api("POST", "/v1/consent/check", {
			body: { channel: "email", recipients: [{ email: "ok@example.org" }, { email: "nope" }] },
		});
		expect(invalid.status).toBe(400);
		expect(JSON.stringify(await json(invalid))).toContain("recipients.1");
		const extra = await api("POST", "/v1/consent/check", {
			body: { channel: "email", recipients: [{ email: "a@example.org", name: "Ann" }] },
		});
		expect(extra.status).toBe(400);
	});
});

describe("topics", () => {
	it("creates, replaces, lists, reads and deletes", async () => {
		const key = unique("topic");
		const created = await api("PUT", `/v1/topics/${key}`, {
			body: { name: "Kids", channel: "email", doubleOptIn: true, providerRefs: { sendgrid: "42" } },
		});
		expect(created.status).toBe(201);
		expect(await json(created)).toMatchObject({
			key,
			name: "Kids",
			channel: "email",
			doubleOptIn: true,
			businessUnit: null,
			providerRefs: { sendgrid: "42" },
		});
		const replaced = await api("PUT", `/v1/topics/${key}`, {
			body: { name: "Kids!", channel: "email", businessUnit: "de" },
		});
		expect(replaced.status).toBe(200);
		expect(await json(replaced)).toMatchObject({ name: "Kids!", doubleOptIn: false, businessUnit: "de" });

		const channelChange = await api("PUT", `/v1/topics/${key}`, { body: { name: "Kids", channel: "sms" } });
		expect(channelChange.status).toBe(409);

		const inDe = await json(await api("GET", "/v1/topics?businessUnit=de"));
		expect(inDe.topics.map((t: { key: string }) => t.key)).toContain(key);
		const inAt = await json(await api("GET", "/v1/topics?businessUnit=at"));
		expect(inAt.topics.map((t: { key: string }) => t.key)).not.toContain(key);

		expect((await api("GET", `/v1/topics/${key}`)).status).toBe(200);
		expect((await api("DELETE", `/v1/topics/${key}`)).status).toBe(204);
		expect((await api("GET", `/v1/topics/${key}`)).status).toBe(404);
		expect((await api("DELETE", `/v1/topics/${key}`)).status).toBe(404);
	});

	it("rejects bad keys, channels and provider names", async () => {
		for (const [key, body] of [
			["Has Space", { name: "x", channel: "email" }],
			["ok-key", { name: "x", channel: "fax" }],
			["ok-key", { name: "x", channel: "email", providerRefs: { hotmail: "1" } }],
			["ok-key", { name: "", channel: "email" }],
		] as const) {
			const response = await api("PUT", `/v1/topics/${encodeURIComponent(key)}`, { body });
			expect(response.status, `${key} ${JSON.stringify(body)}`).toBe(400);
		}
	});
});
