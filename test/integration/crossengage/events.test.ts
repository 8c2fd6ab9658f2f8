/** POST /crossengage/events: channel.type, the system events, custom events, contacts by id or address. */
import { describe, expect, it } from "vitest";
import { api, json, unique, uniqueEmail, uniquePhone } from "../../helpers";
import { decision, leadLedger, postEvents, putUser, userLedger } from "./ce-helpers";

const CHANNEL_TYPES = { MAIL: "email", sms: "sms", WhatsApp: "whatsapp", PUSH: "push" } as const;
const ALL = ["email", "sms", "whatsapp", "push"] as const;

/** A user in "de" with an email and a phone, so every channel has an address. */
async function newUser() {
	const id = unique("ce-events");
	const response = await putUser(id, { id, email: uniqueEmail(), phone: uniquePhone(), businessUnit: "de" });
	expect(response.status).toBe(201);
	return id;
}

const optedOut = async (id: string) => {
	const user = await json(await api("GET", `/v1/users/${id}`));
	return Object.fromEntries(ALL.map((channel) => [channel, user.consent.channels[channel]?.optedOut ?? false]));
};

describe("channel.type", () => {
	it("names the channel of Opt Out and Opt In, in any case", async () => {
		for (const [type, channel] of Object.entries(CHANNEL_TYPES)) {
			const id = await newUser();
			const out = await postEvents({ id, events: [{ event: "Opt Out", "channel.type": type }] });
			expect(out.status, type).toBe(200);
			expect(await optedOut(id)).toEqual(Object.fromEntries(ALL.map((c) => [c, c === channel])));
			expect(await decision({ externalId: id, channel })).toEqual({ allowed: false, reason: "opted_out" });

			const back = await postEvents({ id, events: [{ event: "opt in", "channel.type": type }] });
			expect(back.status, type).toBe(200);
			expect(await optedOut(id)).toEqual(Object.fromEntries(ALL.map((c) => [c, false])));
			expect((await userLedger(id)).map((row) => [row.event, row.channel, row.changed])).toEqual([
				["Opt Out", channel, true],
				["Opt In", channel, true],
			]);
		}
	});

	it("Opt Out and Opt In without channel.type (or null) cover every channel", async () => {
		const id = await newUser();
		await postEvents({ id, events: [{ event: "Opt Out" }] });
		expect(await optedOut(id)).toEqual({ email: true, sms: true, whatsapp: true, push: true });
		await postEvents({ id, events: [{ event: "Opt In", "channel.type": null }] });
		expect(await optedOut(id)).toEqual({ email: false, sms: false, whatsapp: false, push: false });
		expect((await userLedger(id)).map((row) => [row.event, row.channel])).toEqual([
			["Opt Out", null],
			["Opt In", null],
		]);
	});

	it("mail.unsubscribe, the ESP's system opt-out, is an Opt Out of email whatever channel.type says; Opt In reverses it per channel", async () => {
		for (const [type, channel] of Object.entries(CHANNEL_TYPES)) {
			const id = await newUser();
			const response = await postEvents({
				id,
				events: [{ event: "mail.unsubscribe", "channel.type": type, properties: { reason: "list_unsubscribe" } }],
			});
			expect(response.status, type).toBe(200);
			expect(await optedOut(id), type).toEqual({ email: true, sms: false, whatsapp: false, push: false });
			expect(await decision({ externalId: id, channel: "email" })).toEqual({ allowed: false, reason: "opted_out" });

			await postEvents({ id, events: [{ event: "Opt In", "channel.type": type }] });
			// Only the channel the Opt In names opens again.
			expect(await optedOut(id), type).toEqual({
				email: channel !== "email",
				sms: false,
				whatsapp: false,
				push: false,
			});
			const [unsubscribe] = await userLedger(id);
			expect(unsubscribe).toMatchObject({
				event: "Opt Out",
				channel: "email",
				changed: true,
				changes: [{ field: "channels.email.optedOut", from: false, to: true }],
				source: "api",
			});
		}
		// Without channel.type too, and by email and business unit.
		const email = uniqueEmail();
		expect((await postEvents({ email, businessUnit: "at", events: [{ event: "MAIL.UNSUBSCRIBE" }] })).status).toBe(200);
		expect(await decision({ email, businessUnit: "at", channel: "email" })).toEqual({
			allowed: false,
			reason: "opted_out",
		});
		expect(await decision({ email, businessUnit: "at", channel: "sms" })).toEqual({ allowed: true, reason: "ok" });
	});

	it("refuses any other channel.type with a problem naming the allowed values, and writes nothing", async () => {
		const email = uniqueEmail();
		for (const type of ["EMAIL", "", "mail ", "FAX"]) {
			const response = await postEvents({
				email,
				businessUnit: "de",
				events: [
					{ event: "Opt In", "channel.type": "MAIL" },
					{ event: "Opt Out", "channel.type": type },
				],
			});
			if (type === "mail ") {
				// Surrounding blanks are forgiven, as for event names.
				expect(response.status).toBe(200);
				continue;
			}
			expect(response.status, type).toBe(400);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
			const problem = await json(response);
			expect(problem.code).toBe("VALIDATION_FAILED");
			expect(problem.detail).toContain("json.events.1.channel.type");
			expect(problem.detail).toContain("MAIL, SMS, WHATSAPP, PUSH");
		}
		// Only the accepted call left a lead and rows.
		expect((await leadLedger(email, "de")).map((row) => row.event)).toEqual(["Opt In", "Opt Out"]);

		const untouched = uniqueEmail();
		await postEvents({ email: untouched, businessUnit: "de", events: [{ event: "Opt Out", "channel.type": "FAX" }] });
		expect(
			(await api("GET", `/v1/leads?${new URLSearchParams({ email: untouched, businessUnit: "de" })}`)).status,
		).toBe(404);
	});
});

describe("custom events and contacts", () => {
	it("keeps custom events with their properties, channel and timestamp", async () => {
		const id = await newUser();
		const timestamp = "2026-01-05T10:00:00.000Z";
		const response = await postEvents({
			id,
			events: [
				{ event: "Confirmed Subscription", properties: { doiLink: "https://subdomain.domain.tld?id=1" }, timestamp },
				{ event: "Clicked Banner", "channel.type": "push", properties: { banner: "winter" } },
			],
		});
		expect(response.status).toBe(200);
		const body = await json(response);
		expect(body.externalId).toBe(id);
		expect(body.consent.channels).toEqual({});
		const ledger = await userLedger(id);
		expect(ledger.map((row) => [row.event, row.channel, row.properties, row.changed])).toEqual([
			["Confirmed Subscription", null, { doiLink: "https://subdomain.domain.tld?id=1" }, false],
			["Clicked Banner", "push", { banner: "winter" }, false],
		]);
		expect((ledger[0] as unknown as { occurredAt: string }).occurredAt).toBe(timestamp);
	});

	it("answers 404 for an unknown id, creates a lead for an unknown phone, and refuses what natively needs a topic", async () => {
		const unknown = await postEvents({ id: unique("nobody"), events: [{ event: "Opt Out" }] });
		expect(unknown.status).toBe(404);
		expect((await json(unknown)).code).toBe("NOT_FOUND");

		const phone = uniquePhone();
		const byPhone = await postEvents({
			phone,
			email: "",
			businessUnit: "at",
			events: [{ event: "Opt Out", "channel.type": "SMS" }],
		});
		expect(byPhone.status).toBe(200);
		expect(await json(byPhone)).toMatchObject({ externalId: null, email: null, phone, businessUnit: "at" });
		expect(await decision({ phone, businessUnit: "at", channel: "sms" })).toEqual({
			allowed: false,
			reason: "opted_out",
		});

		const id = await newUser();
		const subscribe = await postEvents({ id, events: [{ event: "Subscribe" }] });
		expect(subscribe.status).toBe(400);
		expect((await json(subscribe)).detail).toContain("needs a topic");
		expect(await userLedger(id)).toEqual([]);
	});

	it("refuses fields CrossEngage events do not have, and more than one way of naming the contact", async () => {
		const id = await newUser();
		const unknownField = await postEvents({ id, events: [{ event: "Opt Out", channel: "email" }] });
		expect(unknownField.status).toBe(400);
		expect((await json(unknownField)).detail).toContain("channel.type");
		const both = await postEvents({ id, email: uniqueEmail(), events: [{ event: "Opt Out" }] });
		expect(both.status).toBe(400);
		expect(await userLedger(id)).toEqual([]);
	});
});
