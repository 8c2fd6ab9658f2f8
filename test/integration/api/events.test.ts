import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LinkSigner } from "../../../src/links/token";
import { api, BASE, json, postEvents, putTopic, unique, uniqueEmail } from "../../helpers";

const historyOf = async (email: string, businessUnit = "default") =>
	(
		await json(
			await api("GET", `/v1/leads/history?email=${encodeURIComponent(email)}&businessUnit=${businessUnit}&limit=1000`),
		)
	).events;

describe("POST /v1/events", () => {
	it("creates a lead for an unknown email and records who, when and from where", async () => {
		const email = uniqueEmail();
		const response = await api("POST", "/v1/events", {
			body: {
				email,
				businessUnit: "de",
				events: [
					{
						event: "OPT OUT",
						channel: "email",
						properties: { reason: "too_many", comment: "weekly is enough" },
						timestamp: "2026-01-02T03:04:05+01:00",
					},
				],
			},
			headers: { "cf-connecting-ip": "203.0.113.7", "user-agent": "test-agent/1.0" },
		});
		expect(response.status).toBe(200);
		const contact = await json(response);
		expect(contact).toMatchObject({ email, businessUnit: "de", externalId: null, confirmations: [], duplicates: 0 });
		expect(contact.consent.channels.email).toEqual({
			optedOut: true,
			bounced: false,
			changedAt: "2026-01-02T02:04:05.000Z",
			optedOutAt: "2026-01-02T02:04:05.000Z",
			bouncedAt: null,
			lastOptedOutAt: "2026-01-02T02:04:05.000Z",
			returnedAt: null,
		});

		const [row] = await historyOf(email, "de");
		expect(row).toMatchObject({
			contactId: contact.id,
			event: "Opt Out",
			channel: "email",
			topic: null,
			changes: [{ field: "channels.email.optedOut", from: false, to: true }],
			changed: true,
			source: "api",
			reason: "too_many",
			feedback: "weekly is enough",
			ip: "203.0.113.7",
			userAgent: "test-agent/1.0",
			occurredAt: "2026-01-02T02:04:05.000Z",
		});
		expect(Date.parse(row.receivedAt)).toBeGreaterThan(Date.parse(row.occurredAt));
	});

	it("applies every system event in order", async () => {
		const email = uniqueEmail();
		const topic = unique("topic");
		await putTopic(topic, { channel: "email" });
		const body = await json(
			await postEvents({ email }, [
				{ event: "Opt Out" },
				{ event: "Opt In", channel: "sms" },
				{ event: "Subscribe", topic },
				{ event: "Bounce", channel: "email", properties: { type: "soft" } },
				{ event: "Bounce", channel: "push", properties: { type: "hard" } },
				{ event: "Complaint", channel: "whatsapp" },
				{ event: "Block" },
			]),
		);
		expect(body.consent.blocked).toBe(true);
		expect(body.consent.channels.email.optedOut).toBe(true);
		expect(body.consent.channels.sms.optedOut).toBe(false);
		expect(body.consent.channels.push).toMatchObject({ optedOut: true, bounced: true });
		// Effective status: the topic is unsubscribed while its channel is opted out.
		expect(body.consent.topics[topic].status).toBe("unsubscribed");

		const after = await json(
			await postEvents({ email }, [
				{ event: "Unblock" },
				{ event: "Opt In", channel: "email" },
				{ event: "Opt In", channel: "push", properties: { clearBounce: true } },
			]),
		);
		expect(after.consent.blocked).toBe(false);
		expect(after.consent.topics[topic].status).toBe("subscribed");
		expect(after.consent.channels.push).toMatchObject({ optedOut: false, bounced: false });

		const unsubscribed = await json(await postEvents({ email }, [{ event: "Unsubscribe", topic }]));
		expect(unsubscribed.consent.topics[topic].status).toBe("unsubscribed");

		const rows = await historyOf(email);
		expect(rows.map((r: { event: string }) => r.event)).toEqual([
			"Opt Out",
			"Opt In",
			"Subscribe",
			"Bounce",
			"Bounce",
			"Complaint",
			"Block",
			"Unblock",
			"Opt In",
			"Opt In",
			"Unsubscribe",
		]);
		const softBounce = rows[3];
		expect(softBounce.changed).toBe(false);
		expect(rows[5].reason).toBe("complaint");
	});

	it("answers with a signed confirmation link for a double-opt-in topic and confirms through Confirm Subscription", async () => {
		const email = uniqueEmail();
		const topic = unique("doi");
		await putTopic(topic, { channel: "email", doubleOptIn: true });
		const body = await json(await postEvents({ email }, [{ event: "Subscribe", topic }]));
		expect(body.consent.topics[topic].status).toBe("pending");
		expect(body.confirmations).toHaveLength(1);
		const [{ topic: confirmedTopic, confirmUrl }] = body.confirmations;
		expect(confirmedTopic).toBe(topic);
		expect(confirmUrl.startsWith(`${BASE}/c/`)).toBe(true);

		const signer = await LinkSigner.fromJson(env.LINK_SIGNING_KEYS);
		const verified = await signer.verify(confirmUrl.slice(`${BASE}/c/`.length));
		expect(verified.ok && verified.claims).toMatchObject({
			purpose: "confirm",
			subject: { contactId: body.id },
			topic,
			channel: "email",
		});
		if (verified.ok) expect((verified.claims.expiresAt ?? 0) - verified.claims.issuedAt).toBe(7 * 24 * 3600);

		const [row] = await historyOf(email);
		expect(row.properties.confirmUrl).toBe(confirmUrl);

		const confirmed = await json(await postEvents({ email }, [{ event: "Confirm Subscription", topic }]));
		expect(confirmed.consent.topics[topic].status).toBe("subscribed");
		expect(confirmed.confirmations).toEqual([]);
		// Subscribing again to a confirmed topic asks for nothing.
		const again = await json(await postEvents({ email }, [{ event: "Subscribe", topic }]));
		expect(again.consent.topics[topic].status).toBe("subscribed");
		expect(again.confirmations).toEqual([]);
	});

	it("applies an idempotency key once, also across requests and within one request", async () => {
		const email = uniqueEmail();
		const key = unique("idem");
		const first = await json(
			await postEvents({ email }, [
				{ event: "Opt Out", channel: "email", idempotencyKey: key },
				{ event: "Opt Out", channel: "email", idempotencyKey: key },
			]),
		);
		expect(first.duplicates).toBe(1);
		const second = await json(
			await postEvents({ email }, [{ event: "Opt Out", channel: "email", idempotencyKey: key }]),
		);
		expect(second.duplicates).toBe(1);
		expect(await historyOf(email)).toHaveLength(1);
	});

	it("lets a stale unsubscribe, delivered late, not undo a later re-subscribe", async () => {
		const email = uniqueEmail();
		await postEvents({ email }, [{ event: "Opt Out", channel: "email", timestamp: "2026-03-01T10:00:00Z" }]);
		await postEvents({ email }, [{ event: "Opt In", channel: "email", timestamp: "2026-03-01T12:00:00Z" }]);
		// An ESP retries a day-old delivery of an unsubscribe from before the opt in.
		const late = await json(
			await postEvents({ email }, [{ event: "Opt Out", channel: "email", timestamp: "2026-03-01T11:00:00Z" }]),
		);
		expect(late.consent.channels.email.optedOut).toBe(false);
		const rows = await historyOf(email);
		expect(rows.map((r: { changed: boolean }) => r.changed)).toEqual([true, true, false]);
	});

	it("records custom events without changing consent", async () => {
		const email = uniqueEmail();
		const body = await json(await postEvents({ email }, [{ event: "Newsletter Opened", properties: { issue: 42 } }]));
		expect(body.consent).toEqual({ blocked: false, channels: {}, topics: {} });
		const [row] = await historyOf(email);
		expect(row).toMatchObject({ event: "Newsletter Opened", changed: false, properties: { issue: 42 }, changes: [] });
	});

	it("answers 404 for an unknown externalId and applies events to a known one", async () => {
		const missing = await postEvents({ id: unique("nobody") }, [{ event: "Opt Out" }]);
		expect(missing.status).toBe(404);
		const id = unique("user");
		await api("PUT", `/v1/users/${id}`, { body: { email: uniqueEmail(), businessUnit: "de" } });
		const body = await json(await postEvents({ id }, [{ event: "Opt Out", channel: "sms" }]));
		expect(body.consent.channels.sms.optedOut).toBe(true);
		expect(body.businessUnit).toBe("de");
	});

	it("writes nothing when one event of a batch is invalid (no lead, no ledger row)", async () => {
		const email = uniqueEmail();
		const response = await postEvents({ email }, [
			{ event: "Opt Out", channel: "email" },
			{ event: "Subscribe", topic: unique("no-such-topic") },
		]);
		expect(response.status).toBe(400);
		const problem = await json(response);
		expect(problem.code).toBe("VALIDATION_FAILED");
		expect(problem.errors[0].path).toBe("events.1");
		expect((await api("GET", `/v1/leads?email=${encodeURIComponent(email)}`)).status).toBe(404);
	});

	it("rejects rule violations with a clear message", async () => {
		const email = uniqueEmail();
		const smsTopic = unique("sms");
		await putTopic(smsTopic, { channel: "sms" });
		const cases: Array<[Record<string, unknown>, RegExp]> = [
			[{ event: "Subscribe" }, /needs a topic/],
			[{ event: "Opt Out", topic: smsTopic }, /Unsubscribe/],
			[{ event: "Subscribe", topic: smsTopic, channel: "email" }, /belongs to channel "sms"/],
			[{ event: "Bounce", channel: "email" }, /hard" or "soft/],
			[{ event: "Block", channel: "email" }, /whole contact/],
		];
		for (const [event, message] of cases) {
			const response = await postEvents({ email }, [event]);
			expect(response.status, JSON.stringify(event)).toBe(400);
			expect((await json(response)).detail).toMatch(message);
		}
	});

	it("keeps a business unit's topics to that business unit", async () => {
		const topic = unique("de-only");
		await putTopic(topic, { channel: "email", businessUnit: "de" });
		expect(
			(await postEvents({ email: uniqueEmail(), businessUnit: "at" }, [{ event: "Subscribe", topic }])).status,
		).toBe(400);
		expect(
			(await postEvents({ email: uniqueEmail(), businessUnit: "de" }, [{ event: "Subscribe", topic }])).status,
		).toBe(200);
	});
});
