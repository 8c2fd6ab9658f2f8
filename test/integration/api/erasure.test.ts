import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { suppressionHash } from "../../../src/db/suppressions";
import type { Bindings } from "../../../src/env";
import type { WebhookEventMessage } from "../../../src/webhooks/consumer";
import { api, eventually, json, ledgerOf, postEvents, unique, uniqueEmail, uniquePhone } from "../../helpers";

const check = async (query: string) => json(await api("GET", `/v1/consent?${query}`));

async function suppressed(address: string) {
	const hash = await suppressionHash(env as unknown as Bindings, address);
	const row = await env.DB.prepare("SELECT kind, reasons FROM suppressions WHERE hash = ?")
		.bind(hash)
		.first<{ kind: string; reasons: string }>();
	return row ? { kind: row.kind, reasons: JSON.parse(row.reasons) } : null;
}

describe("erasure (DELETE /v1/users/{externalId}, DELETE /v1/leads)", () => {
	it("removes a user who opted out, scrubs the ledger, and keeps the addresses suppressed", async () => {
		const externalId = unique("erase");
		const [email, phone] = [uniqueEmail(), uniquePhone()];
		expect((await api("PUT", `/v1/users/${externalId}`, { body: { email, phone, businessUnit: "de" } })).status).toBe(
			201,
		);
		const events = await api("POST", "/v1/events", {
			body: {
				id: externalId,
				events: [{ event: "Opt Out", properties: { comment: "Ann's words" } }],
			},
			headers: { "cf-connecting-ip": "203.0.113.9", "user-agent": "Ann's browser" },
		});
		expect(events.status).toBe(200);
		const { id: contactId } = await json(events);
		expect((await ledgerOf(contactId))[0]).toMatchObject({ ip: "203.0.113.9", user_agent: "Ann's browser" });

		expect((await api("DELETE", `/v1/users/${externalId}`)).status).toBe(204);
		expect((await api("GET", `/v1/users/${externalId}`)).status).toBe(404);
		expect((await api("DELETE", `/v1/users/${externalId}`)).status).toBe(404);

		const ledger = await ledgerOf(contactId);
		expect(ledger.map((row) => [row.event, row.source])).toEqual([
			["Opt Out", "api"],
			["Erase", "erasure"],
		]);
		for (const row of ledger) {
			expect(row).toMatchObject({ ip: null, user_agent: null, feedback: null });
			expect(JSON.stringify(row)).not.toContain(email);
			expect(JSON.stringify(row)).not.toContain("Ann");
		}
		expect(JSON.parse(ledger[1]?.properties as string)).toEqual({ suppressed: true });
		const rows = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE email = ? OR phone = ?")
			.bind(email, phone)
			.first<{ n: number }>();
		expect(rows?.n).toBe(0);

		// Neither address is stored, but both answer `suppressed`, in every business unit.
		expect(await suppressed(email)).toEqual({ kind: "email", reasons: ["opted_out"] });
		expect(await suppressed(phone)).toEqual({ kind: "phone", reasons: ["opted_out"] });
		const suppressions = await env.DB.prepare("SELECT * FROM suppressions").all();
		expect(JSON.stringify(suppressions.results)).not.toContain(email);
		expect(await check(`email=${email}&businessUnit=at&channel=email`)).toMatchObject({
			allowed: false,
			reason: "suppressed",
		});
		expect(await check(`phone=${encodeURIComponent(phone)}&businessUnit=de&channel=sms`)).toMatchObject({
			allowed: false,
			reason: "suppressed",
		});
		// An opt-out does not stop transactional messages: the person may sign up again and must get the confirmation.
		expect(
			await check(`phone=${encodeURIComponent(phone)}&businessUnit=de&channel=sms&kind=transactional`),
		).toMatchObject({ allowed: true, reason: "ok" });
		const batch = await json(
			await api("POST", "/v1/consent/check", {
				body: { channel: "email", businessUnit: "de", recipients: [{ email }, { email: uniqueEmail() }] },
			}),
		);
		expect(batch.results.map((r: { reason: string }) => r.reason)).toEqual(["suppressed", "ok"]);
	});

	it("forgets an address that never opted out completely", async () => {
		const email = uniqueEmail();
		expect((await api("PUT", "/v1/leads", { body: { email, businessUnit: "at" } })).status).toBe(201);
		expect((await api("DELETE", `/v1/leads?email=${email}&businessUnit=at`)).status).toBe(204);
		expect((await api("GET", `/v1/leads?email=${email}&businessUnit=at`)).status).toBe(404);
		expect(await suppressed(email)).toBeNull();
		expect(await check(`email=${email}&businessUnit=at&channel=email`)).toMatchObject({ allowed: true, reason: "ok" });
	});

	it("does not let a provider webhook or an API Opt In bring a suppressed address back", async () => {
		const email = uniqueEmail();
		expect(
			(
				await postEvents({ email, businessUnit: "de" }, [
					{ event: "Bounce", channel: "email", properties: { type: "hard" } },
				])
			).status,
		).toBe(200);
		expect((await api("DELETE", `/v1/leads?email=${email}&businessUnit=de`)).status).toBe(204);
		expect(await suppressed(email)).toEqual({ kind: "email", reasons: ["bounced"] });

		// A late ESP event for the address is applied to nobody: no lead is made for it.
		const message: WebhookEventMessage = {
			kind: "webhook-event",
			provider: "sendgrid",
			event: {
				id: unique("late"),
				channel: "email",
				recipient: email,
				action: { kind: "complaint" },
				occurredAt: null,
				businessUnit: null,
				campaign: null,
				properties: {},
			},
			receivedAt: new Date().toISOString(),
		};
		const { applyWebhookEvent } = await import("../../../src/webhooks/consumer");
		await applyWebhookEvent(env as unknown as Bindings, message, new Map());
		const count = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE email = ?")
			.bind(email)
			.first<{ n: number }>();
		expect(count?.n).toBe(0);

		// A new contact for the address through the API: the suppression still holds.
		expect((await postEvents({ email, businessUnit: "de" }, [{ event: "Opt In", channel: "email" }])).status).toBe(200);
		expect(await check(`email=${email}&businessUnit=de&channel=email`)).toMatchObject({
			allowed: false,
			reason: "suppressed",
		});
		// A bounce also stops transactional mail.
		expect(await check(`email=${email}&businessUnit=de&channel=email&kind=transactional`)).toMatchObject({
			allowed: false,
			reason: "suppressed",
		});
	});

	it("checks scopes, business units and the user/lead distinction", async () => {
		const externalId = unique("erase");
		const email = uniqueEmail();
		await api("PUT", `/v1/users/${externalId}`, { body: { email, businessUnit: "de" } });
		expect((await api("DELETE", `/v1/leads?email=${email}&businessUnit=de`)).status).toBe(409);
		const reader = await json(
			await api("POST", "/v1/api-keys", { body: { name: unique("k"), scopes: ["contacts:read"] } }),
		);
		expect((await api("DELETE", `/v1/users/${externalId}`, { key: reader.key })).status).toBe(403);
		const atOnly = await json(
			await api("POST", "/v1/api-keys", {
				body: { name: unique("k"), scopes: ["contacts:write"], businessUnits: ["at"] },
			}),
		);
		expect((await api("DELETE", `/v1/users/${externalId}`, { key: atOnly.key })).status).toBe(403);
		expect((await api("DELETE", `/v1/users/${externalId}`, { key: null })).status).toBe(401);
		expect((await api("GET", `/v1/users/${externalId}`)).status).toBe(200);
		expect((await api("DELETE", "/v1/leads?email=not-an-email&businessUnit=de")).status).toBe(400);
	});

	it("tells the outbound webhook, without the address", async () => {
		const externalId = unique("erase");
		const email = uniqueEmail();
		const { id } = await json(await api("PUT", `/v1/users/${externalId}`, { body: { email } }));
		expect((await api("DELETE", `/v1/users/${externalId}`)).status).toBe(204);
		const erase = await eventually(async () => {
			const received = await (await env.WEBHOOK_RECEIVER.fetch("https://receiver/__received")).json<
				Array<{ body: string }>
			>();
			return received.map((r) => JSON.parse(r.body)).find((e) => e.event === "Erase" && e.contact.id === id);
		}, "the outbound Erase event");
		expect(erase).toMatchObject({
			source: "erasure",
			contact: { id, externalId: null, email: null, phone: null },
			properties: { suppressed: false },
		});
	});
});
