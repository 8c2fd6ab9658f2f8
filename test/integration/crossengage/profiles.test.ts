/** PUT /crossengage/users/{id} and /crossengage/leads: traits, optOut, topics from traits, identity. */
import { describe, expect, it } from "vitest";
import { api, json, putTopic, unique, uniqueEmail } from "../../helpers";
import { decision, leadLedger, nativeUser, newsletterTopics, putLead, putUser, userLedger } from "./ce-helpers";

const CHANNELS = ["email", "sms", "whatsapp", "push"];

describe("traits", () => {
	it("takes every key but id, email, businessUnit, phone and optOut as a trait, and merges them: null removes", async () => {
		const id = unique("ce-traits");
		const email = uniqueEmail();
		const created = await putUser(id, {
			id,
			email,
			businessUnit: "de",
			firstName: "Ann",
			tier: { level: 1 },
			vip: true,
		});
		expect(created.status).toBe(201);
		expect(await json(created)).toMatchObject({
			externalId: id,
			email,
			businessUnit: "de",
			traits: { firstName: "Ann", tier: { level: 1 }, vip: true },
		});

		const updated = await putUser(id, { email: "", businessUnit: "de", firstName: null, city: "Berlin" });
		expect(updated.status).toBe(200);
		const user = await json(updated);
		// "" is CrossEngage's placeholder: the email stays.
		expect(user.email).toBe(email);
		expect(user.traits).toEqual({ tier: { level: 1 }, vip: true, city: "Berlin" });
		expect((await nativeUser(id)).traits).toEqual({ tier: { level: 1 }, vip: true, city: "Berlin" });
	});

	it("refuses a body id that is not the path's, naming both", async () => {
		const id = unique("ce-id");
		const response = await putUser(id, { id: "someone-else", email: "", firstName: "Ann" });
		expect(response.status).toBe(400);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		const problem = await json(response);
		expect(problem.code).toBe("VALIDATION_FAILED");
		expect(problem.detail).toContain('"someone-else"');
		expect(problem.detail).toContain(`"${id}"`);
		expect((await api("GET", `/v1/users/${id}`)).status).toBe(404);
	});

	it("refuses traits over the native limits, and invalid addresses, as problem+json", async () => {
		const id = unique("ce-limits");
		const deep = { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } };
		for (const body of [{ deep }, { big: "x".repeat(17 * 1024) }, { email: "not-an-email" }, { phone: "12" }]) {
			const response = await putUser(id, body);
			expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
			expect((await json(response)).code).toBe("VALIDATION_FAILED");
		}
		expect((await api("GET", `/v1/users/${id}`)).status).toBe(404);
	});
});

describe("optOut: the system opt-out", () => {
	it("records true as an Opt Out of every channel and false as an Opt In, never as a trait", async () => {
		const id = unique("ce-optout");
		const email = uniqueEmail();
		const out = await putUser(id, { id, email, businessUnit: "de", optOut: true, firstName: "Ann" });
		expect(out.status).toBe(201);
		const optedOut = await json(out);
		expect(optedOut.traits).toEqual({ firstName: "Ann" });
		for (const channel of CHANNELS) expect(optedOut.consent.channels[channel].optedOut, channel).toBe(true);
		expect(await decision({ externalId: id, channel: "email" })).toEqual({ allowed: false, reason: "opted_out" });
		expect(await decision({ externalId: id, channel: "sms" })).toEqual({ allowed: false, reason: "opted_out" });

		// The re-subscribe of CrossEngage's opt-out guide: "traits.optOut": "false" (a string, any case).
		const back = await putUser(id, { optOut: "FALSE" });
		expect(back.status).toBe(200);
		const optedIn = await json(back);
		expect(optedIn.traits).toEqual({ firstName: "Ann" });
		for (const channel of CHANNELS) expect(optedIn.consent.channels[channel].optedOut, channel).toBe(false);
		expect(await decision({ externalId: id, channel: "email" })).toEqual({ allowed: true, reason: "ok" });

		expect((await userLedger(id)).map((row) => [row.event, row.channel, row.properties, row.source])).toEqual([
			["Opt Out", null, { trait: "optOut", value: true }, "api"],
			["Opt In", null, { trait: "optOut", value: false }, "api"],
		]);
		// "true" as a string, as well.
		const again = await json(await putUser(id, { optOut: "true" }));
		expect(again.consent.channels.email.optedOut).toBe(true);
	});

	it("refuses any other value and writes nothing", async () => {
		const id = unique("ce-optout");
		await putUser(id, { email: uniqueEmail(), businessUnit: "de", firstName: "Ann" });
		const before = await nativeUser(id);
		for (const optOut of ["yes", 1, null, "", { value: true }]) {
			const response = await putUser(id, { optOut, firstName: "Bob" });
			expect(response.status, JSON.stringify(optOut)).toBe(400);
			const problem = await json(response);
			expect(problem.detail).toContain("json.optOut");
			expect(problem.detail).toContain('"true" or "false"');
		}
		expect(await nativeUser(id)).toEqual(before);
		expect(await userLedger(id)).toEqual([]);
	});
});

describe("traits that stand for topics (providerRefs.crossengage)", () => {
	it("translates each status into the events that reach it, by the topic's double opt-in and current status", async () => {
		const businessUnit = unique("ce");
		const [single, double] = [unique("single"), unique("double")];
		const [singleTrait, doubleTrait] = [unique("trait"), unique("trait")];
		await putTopic(single, { businessUnit, providerRefs: { crossengage: singleTrait } });
		await putTopic(double, { businessUnit, doubleOptIn: true, providerRefs: { crossengage: doubleTrait } });
		const id = unique("ce-map");

		// No status yet, "subscribed" (any case): Subscribe; Subscribe + Confirm Subscription for double opt-in.
		const first = await json(
			await putUser(id, { businessUnit, [singleTrait]: "Subscribed", [doubleTrait]: "confirmed" }),
		);
		expect(first.consent.topics[single].status).toBe("subscribed");
		expect(first.consent.topics[double].status).toBe("subscribed");
		expect(first.traits).toEqual({ [singleTrait]: "Subscribed", [doubleTrait]: "confirmed" });
		// Already subscribed: nothing to do.
		await putUser(id, { [singleTrait]: "subscribed", [doubleTrait]: "subscribed" });
		await putUser(id, { [singleTrait]: "unsubscribed", [doubleTrait]: "unsubscribed" });
		await putUser(id, { [doubleTrait]: "pending" });
		// Pending: Confirm Subscription.
		const last = await json(await putUser(id, { [doubleTrait]: "subscribed", [singleTrait]: null }));
		expect(last.consent.topics[double].status).toBe("subscribed");
		expect(last.consent.topics[single].status).toBe("unsubscribed");
		// A null removes the trait and says nothing about consent.
		expect(last.traits).toEqual({ [doubleTrait]: "subscribed" });

		expect((await userLedger(id)).map((row) => [row.event, row.topic])).toEqual([
			["Subscribe", single],
			["Subscribe", double],
			["Confirm Subscription", double],
			["Unsubscribe", single],
			["Unsubscribe", double],
			["Subscribe", double],
			["Confirm Subscription", double],
		]);
	});

	it("maps only topics of the contact's business unit or global ones", async () => {
		const [own, other] = [unique("ce"), unique("ce")];
		const trait = unique("trait");
		const topic = unique("other-unit");
		await putTopic(topic, { businessUnit: other, providerRefs: { crossengage: trait } });
		const id = unique("ce-unit");
		// In another unit the trait is just a trait: any value, no event.
		const plain = await putUser(id, { businessUnit: own, [trait]: "whatever" });
		expect(plain.status).toBe(201);
		expect((await json(plain)).consent.topics).toEqual({});
		expect(await userLedger(id)).toEqual([]);

		const globalTrait = unique("trait");
		const global = unique("global");
		await putTopic(global, { providerRefs: { crossengage: globalTrait } });
		const mapped = await json(await putUser(id, { [globalTrait]: "pending" }));
		expect(mapped.consent.topics[global].status).toBe("subscribed");
	});

	it("works for leads too", async () => {
		const { businessUnit, topics } = await newsletterTopics({ doubleOptIn: false });
		const email = uniqueEmail();
		const response = await putLead({ email, businessUnit, newsletterPets: "subscribed", optOut: false });
		expect(response.status).toBe(201);
		const lead = await json(response);
		expect(lead).toMatchObject({ externalId: null, email, businessUnit, traits: { newsletterPets: "subscribed" } });
		expect(lead.consent.topics[topics.pets].status).toBe("subscribed");
		expect(await decision({ email, businessUnit, channel: "email", topic: topics.pets })).toEqual({
			allowed: true,
			reason: "ok",
		});
		expect((await leadLedger(email, businessUnit)).map((row) => [row.event, row.topic])).toEqual([
			["Subscribe", topics.pets],
			["Opt In", null],
		]);
		const updated = await putLead({ email, businessUnit, newsletterPets: "unsubscribed", newsletterKids: "pending" });
		expect(updated.status).toBe(200);
		const after = await json(updated);
		expect(after.consent.topics[topics.pets].status).toBe("unsubscribed");
		expect(after.consent.topics[topics.kids].status).toBe("subscribed");
	});

	it("refuses another value of a mapped trait before anything is written", async () => {
		const { businessUnit, topics } = await newsletterTopics();
		const id = unique("ce-partial");
		const email = uniqueEmail();
		await putUser(id, { id, email, businessUnit, newsletterKids: "pending", firstName: "Ann" });
		const before = await nativeUser(id);
		const ledgerBefore = await userLedger(id);

		const response = await putUser(id, {
			id,
			email: uniqueEmail(),
			businessUnit,
			newsletterPets: "pending",
			newsletterKids: "maybe",
			firstName: "Bob",
			optOut: true,
		});
		expect(response.status).toBe(400);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		const problem = await json(response);
		expect(problem.code).toBe("VALIDATION_FAILED");
		expect(problem.detail).toContain("newsletterKids");
		expect(problem.detail).toContain(topics.kids);
		expect(problem.detail).toContain('"pending", "subscribed", "confirmed", "unsubscribed"');
		expect(problem.errors).toEqual([{ path: "json.newsletterKids", message: expect.stringContaining('"maybe"') }]);

		// Neither the profile (email, traits) nor any consent event was written.
		expect(await nativeUser(id)).toEqual(before);
		expect(await userLedger(id)).toEqual(ledgerBefore);

		// A new user is not created either; a lead neither.
		const fresh = unique("ce-partial");
		expect((await putUser(fresh, { businessUnit, newsletterShoes: 42 })).status).toBe(400);
		expect((await api("GET", `/v1/users/${fresh}`)).status).toBe(404);
		const leadEmail = uniqueEmail();
		expect((await putLead({ email: leadEmail, businessUnit, newsletterShoes: "yes" })).status).toBe(400);
		expect((await api("GET", `/v1/leads?${new URLSearchParams({ email: leadEmail, businessUnit })}`)).status).toBe(404);
	});
});

describe("leads", () => {
	it("answers 409 EXTERNAL_IDS_MISMATCH once the lead became a user", async () => {
		const email = uniqueEmail();
		const lead = await putLead({ email, businessUnit: "de", source: "shop" });
		expect(lead.status).toBe(201);
		const { id: contactId } = await json(lead);
		expect((await putLead({ email, businessUnit: "de", source: "app" })).status).toBe(200);

		const id = unique("ce-adopt");
		const user = await putUser(id, { id, email, businessUnit: "de", tier: "gold" });
		expect(user.status).toBe(201);
		expect(await json(user)).toMatchObject({ id: contactId, externalId: id, traits: { source: "app", tier: "gold" } });

		const refused = await putLead({ email, businessUnit: "de", source: "again" });
		expect(refused.status).toBe(409);
		expect(refused.headers.get("content-type")).toBe("application/problem+json");
		expect((await json(refused)).code).toBe("EXTERNAL_IDS_MISMATCH");
		expect((await nativeUser(id)).traits).toEqual({ source: "app", tier: "gold" });
	});

	it("needs an email and takes no id", async () => {
		for (const body of [{ businessUnit: "de" }, { email: "", businessUnit: "de" }]) {
			const response = await putLead(body);
			expect(response.status).toBe(400);
			expect((await json(response)).detail).toContain("json.email");
		}
		const withId = await putLead({ id: unique("ce"), email: uniqueEmail(), businessUnit: "de" });
		expect(withId.status).toBe(400);
		expect((await json(withId)).detail).toContain("PUT /crossengage/users/{id}");
	});
});

describe("read-your-write", () => {
	it("every compatible write answers with the consent bookmark, and a check that sends it back sees the write", async () => {
		const id = unique("ce-bookmark");
		const email = uniqueEmail();
		const user = await putUser(id, { email, businessUnit: "de" });
		expect(user.status).toBe(201);
		expect(user.headers.get("x-consent-bookmark")).toBeTruthy();
		const lead = await putLead({ email: uniqueEmail(), businessUnit: "de" });
		expect(lead.headers.get("x-consent-bookmark")).toBeTruthy();

		const optedOut = await api("POST", "/crossengage/events", {
			body: { id, events: [{ event: "Opt Out", "channel.type": "MAIL" }] },
		});
		expect(optedOut.status).toBe(200);
		const bookmark = optedOut.headers.get("x-consent-bookmark");
		expect(bookmark).toBeTruthy();
		const check = await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&businessUnit=de&channel=email`, {
			headers: { "x-consent-bookmark": bookmark as string },
		});
		expect(await json(check)).toMatchObject({ allowed: false, reason: "opted_out" });
	});
});
