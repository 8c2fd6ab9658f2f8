/**
 * What senders moving from marketing platforms rely on in the native API: traits merge (a null
 * removes a key), `externalId` names a user in POST /v1/events as `id` does, an unknown field is
 * refused with the fields that are accepted, and an ESP's `mail.unsubscribe` opts the person out.
 */
import { describe, expect, it } from "vitest";
import { api, json, postEvents, unique, uniqueEmail } from "../../helpers";

const history = async (path: string) => (await json(await api("GET", path))).events as Array<Record<string, unknown>>;

describe("traits merge on PUT /v1/users and /v1/leads", () => {
	it("sets the keys given, removes the keys given as null, keeps the others (users)", async () => {
		const id = unique("merge-user");
		const body = { email: uniqueEmail(), businessUnit: "de" };
		const created = await json(
			await api("PUT", `/v1/users/${id}`, {
				body: { ...body, traits: { newsletterKids: "pending", newsletterPets: "pending", firstName: "Ann" } },
			}),
		);
		expect(created.traits).toEqual({ newsletterKids: "pending", newsletterPets: "pending", firstName: "Ann" });

		const updated = await api("PUT", `/v1/users/${id}`, {
			body: { traits: { newsletterKids: "unsubscribed", firstName: null, tier: { level: 2 } } },
		});
		expect(updated.status).toBe(200);
		const expected = { newsletterKids: "unsubscribed", newsletterPets: "pending", tier: { level: 2 } };
		expect((await json(updated)).traits).toEqual(expected);
		expect((await json(await api("GET", `/v1/users/${id}`))).traits).toEqual(expected);

		// A nested object is a value: it is replaced whole, not merged key by key.
		const replaced = await json(await api("PUT", `/v1/users/${id}`, { body: { traits: { tier: { name: "gold" } } } }));
		expect(replaced.traits.tier).toEqual({ name: "gold" });
		// No traits at all leaves them as they are.
		const untouched = await json(await api("PUT", `/v1/users/${id}`, { body: { businessUnit: "de" } }));
		expect(untouched.traits).toEqual({ ...expected, tier: { name: "gold" } });
	});

	it("merges on leads the same way, and a null in a new contact's traits is just not stored", async () => {
		const email = uniqueEmail();
		const created = await json(
			await api("PUT", "/v1/leads", { body: { email, businessUnit: "at", traits: { a: 1, gone: null } } }),
		);
		expect(created.traits).toEqual({ a: 1 });
		const updated = await json(
			await api("PUT", "/v1/leads", { body: { email, businessUnit: "at", traits: { b: 2, a: null } } }),
		);
		expect(updated.traits).toEqual({ b: 2 });
	});

	it("refuses an update that would be over 16 KiB once merged, and writes nothing", async () => {
		const email = uniqueEmail();
		const half = "x".repeat(9 * 1024);
		await api("PUT", "/v1/leads", { body: { email, businessUnit: "de", traits: { first: half } } });
		const before = await json(await api("GET", `/v1/leads?email=${email}&businessUnit=de`));

		const response = await api("PUT", "/v1/leads", { body: { email, businessUnit: "de", traits: { second: half } } });
		expect(response.status).toBe(400);
		const problem = await json(response);
		expect(problem).toMatchObject({ code: "VALIDATION_FAILED" });
		expect(problem.detail).toMatch(/16 KiB.*merged/);
		expect(problem.errors).toEqual([expect.objectContaining({ path: "traits" })]);

		const after = await json(await api("GET", `/v1/leads?email=${email}&businessUnit=de`));
		expect(after.traits).toEqual({ first: half });
		expect(after.updatedAt).toBe(before.updatedAt);
		// Removing a key makes room again.
		const fits = await api("PUT", "/v1/leads", {
			body: { email, businessUnit: "de", traits: { first: null, second: half } },
		});
		expect(fits.status).toBe(200);
		expect((await json(fits)).traits).toEqual({ second: half });
	});
});

describe("POST /v1/events names a user by id or externalId", () => {
	it("accepts externalId as the same field as id", async () => {
		const id = unique("synonym");
		await api("PUT", `/v1/users/${id}`, { body: { email: uniqueEmail(), businessUnit: "de" } });
		const response = await api("POST", "/v1/events", {
			body: { externalId: id, events: [{ event: "Opt Out", channel: "email" }] },
		});
		expect(response.status).toBe(200);
		expect((await json(response)).consent.channels.email.optedOut).toBe(true);

		const unknown = await api("POST", "/v1/events", {
			body: { externalId: unique("nobody"), events: [{ event: "Opt Out" }] },
		});
		expect(unknown.status).toBe(404);
	});

	it("refuses both, or none, with a message that names the accepted fields", async () => {
		const id = unique("both");
		await api("PUT", `/v1/users/${id}`, { body: { email: uniqueEmail() } });
		const both = await api("POST", "/v1/events", { body: { id, externalId: id, events: [{ event: "Opt Out" }] } });
		expect(both.status).toBe(400);
		expect((await json(both)).detail).toMatch(/id and externalId are the same field/);

		const none = await api("POST", "/v1/events", { body: { businessUnit: "de", events: [{ event: "Opt Out" }] } });
		expect(none.status).toBe(400);
		expect((await json(none)).detail).toMatch(/id \(or externalId\).*email.*phone/);

		const misspelt = await api("POST", "/v1/events", { body: { userId: id, events: [{ event: "Opt Out" }] } });
		expect(misspelt.status).toBe(400);
		const problem = await json(misspelt);
		expect(problem.detail).toMatch(
			/unknown field userId; accepted: id, externalId, email, phone, businessUnit, events/,
		);
		expect((await json(await api("GET", `/v1/users/${id}`))).consent.channels).toEqual({});
	});

	it("names the accepted fields of a nested object too", async () => {
		const response = await api("POST", "/v1/events", {
			body: { email: uniqueEmail(), events: [{ event: "Opt In", "channel.type": "MAIL" }] },
		});
		expect(response.status).toBe(400);
		expect((await json(response)).errors[0]).toMatchObject({
			path: "json.events.0",
			message: expect.stringMatching(/unknown field channel\.type; accepted: event, channel, topic, properties/),
		});
	});
});

describe("mail.unsubscribe, an ESP's own unsubscribe, is an email opt-out", () => {
	it("opts the email channel out, whatever case or channel it comes with, and says so in the ledger", async () => {
		for (const [name, channel] of [
			["mail.unsubscribe", undefined],
			["Mail.Unsubscribe", "sms"],
		] as const) {
			const email = uniqueEmail();
			const response = await postEvents({ email, businessUnit: "de" }, [
				{ event: "Opt In", channel: "sms", timestamp: "2026-01-01T00:00:00Z" },
				{ event: name, ...(channel ? { channel } : {}), properties: { campaign: "c1" } },
			]);
			expect(response.status).toBe(200);
			const contact = await json(response);
			expect(contact.consent.channels.email.optedOut).toBe(true);
			expect(contact.consent.channels.sms?.optedOut ?? false).toBe(false);
			const check = await json(
				await api("GET", `/v1/consent?email=${email}&businessUnit=de&channel=email&kind=marketing`),
			);
			expect(check).toMatchObject({ allowed: false, reason: "opted_out" });
			const rows = await history(`/v1/leads/history?email=${email}&businessUnit=de`);
			expect(rows.at(-1)).toMatchObject({ event: "Opt Out", channel: "email", changed: true, source: "api" });
		}
	});
});
