/**
 * CrossEngage's subscription and consent guide, call by call: every request body it shows
 * (fixtures/, see its README) through /crossengage, and the native state, consent decisions and
 * ledger rows each leaves.
 */
import { describe, expect, it } from "vitest";
import { api, json, putTopic, unique, uniqueEmail } from "../../helpers";
import {
	decision,
	fill,
	leadLedger,
	nativeUser,
	newsletterTopics,
	postEvents,
	putUser,
	userLedger,
} from "./ce-helpers";
import byEmailConfirmed from "./fixtures/by-email-confirmed.events.json";
import reverseOptOut from "./fixtures/known-issue-reverse-opt-out.events.json";
import multiSignup from "./fixtures/multi-1-signup.user.json";
import multiSubscribeNewsletter from "./fixtures/multi-2-subscribe-newsletter.events.json";
import multiUnsubscribe from "./fixtures/multi-3-unsubscribe.user.json";
import singleSignup from "./fixtures/single-1-signup.user.json";
import singleSubscribeNewsletter from "./fixtures/single-2-subscribe-newsletter.events.json";
import singleConfirmed from "./fixtures/single-3-confirmed.user.json";
import singleConfirmedEvents from "./fixtures/single-4-confirmed.events.json";

const CSV_HEADER = 1;

/** The externalIds in a contacts export (the second column of each row). */
async function exportedIds(query: Record<string, string>): Promise<string[]> {
	const response = await api("GET", `/v1/exports/contacts.csv?${new URLSearchParams(query)}`);
	expect(response.status, await response.clone().text()).toBe(200);
	const lines = (await response.text()).split("\r\n").filter(Boolean);
	return lines.slice(CSV_HEADER).map((line) => line.split(",")[1] ?? "");
}

describe("the single subscription of the guide (custom trait and events only)", () => {
	it("stores the doi trait and records the custom events with their properties, then the Opt In of email", async () => {
		const id = unique("ce-single");

		// Step 2: the sign-up form. No topic names the trait `doi`: it is a trait and nothing else.
		const signup = await putUser(id, fill(singleSignup, { id }));
		expect(signup.status).toBe(201);
		const created = await json(signup);
		expect(created).toMatchObject({ externalId: id, email: null, businessUnit: "de", traits: { doi: "pending" } });
		expect(created.consent).toMatchObject({ blocked: false, channels: {}, topics: {} });
		expect(created.confirmations).toEqual([]);

		const subscribed = await postEvents(fill(singleSubscribeNewsletter, { id }));
		expect(subscribed.status).toBe(200);
		let ledger = await userLedger(id);
		expect(ledger).toHaveLength(1);
		expect(ledger[0]).toMatchObject({
			event: "Subscribe Newsletter",
			channel: null,
			topic: null,
			changed: false,
			changes: [],
			source: "api",
			properties: { doiLink: `https://subdomain.domain.tld?id=${id}` },
		});

		// Step 4: the confirmation page.
		const confirmed = await putUser(id, fill(singleConfirmed, { id }));
		expect(confirmed.status).toBe(200);
		expect((await json(confirmed)).traits).toEqual({ doi: "confirmed" });
		expect((await postEvents(fill(singleConfirmedEvents, { id }))).status).toBe(200);

		ledger = await userLedger(id);
		expect(ledger.map((row) => [row.event, row.channel])).toEqual([
			["Subscribe Newsletter", null],
			["Confirmed Subscription", null],
			["Opt In", "email"],
		]);
		const user = await nativeUser(id);
		expect(user.traits).toEqual({ doi: "confirmed" });
		expect(user.consent.channels.email).toMatchObject({ optedOut: false, bounced: false });
		expect(user.consent.channels.sms).toBeUndefined();
		expect(await decision({ externalId: id, channel: "email" })).toEqual({ allowed: true, reason: "ok" });
	});

	it("reverses an earlier system opt-out of email with the Opt In of the confirmation step", async () => {
		const id = unique("ce-single");
		await putUser(id, fill(singleSignup, { id }));
		await postEvents({ id, events: [{ event: "mail.unsubscribe" }] });
		expect(await decision({ externalId: id, channel: "email" })).toEqual({ allowed: false, reason: "opted_out" });

		await putUser(id, fill(singleConfirmed, { id }));
		await postEvents(fill(singleConfirmedEvents, { id }));
		expect(await decision({ externalId: id, channel: "email" })).toEqual({ allowed: true, reason: "ok" });
		const optIn = (await userLedger(id)).at(-1);
		expect(optIn).toMatchObject({
			event: "Opt In",
			channel: "email",
			changed: true,
			changes: [{ field: "channels.email.optedOut", from: true, to: false }],
		});
	});

	it("makes the doi trait real consent once a double-opt-in topic maps it", async () => {
		const id = unique("ce-single");
		const businessUnit = unique("ce");
		const topic = unique("newsletter");
		await putTopic(topic, { businessUnit, doubleOptIn: true, providerRefs: { crossengage: "doi" } });

		expect((await putUser(id, fill(singleSignup, { id, businessUnit }))).status).toBe(201);
		expect(await decision({ externalId: id, businessUnit, channel: "email", topic })).toEqual({
			allowed: false,
			reason: "pending_confirmation",
		});
		await postEvents(fill(singleSubscribeNewsletter, { id }));
		// "confirmed" is a status CrossEngage senders use for it, as "subscribed".
		const confirmed = await json(await putUser(id, fill(singleConfirmed, { id, businessUnit })));
		expect(confirmed.consent.topics[topic]).toMatchObject({ status: "subscribed", channel: "email" });
		expect(confirmed.traits).toEqual({ doi: "confirmed" });
		await postEvents(fill(singleConfirmedEvents, { id }));
		expect(await decision({ externalId: id, businessUnit, channel: "email", topic })).toEqual({
			allowed: true,
			reason: "ok",
		});
		// The Subscribe carries the confirmation link the service signed for it (for the outbound webhook).
		expect((await userLedger(id)).map((row) => [row.event, row.topic, row.properties])).toEqual([
			["Subscribe", topic, { trait: "doi", value: "pending", confirmUrl: expect.stringContaining("/c/") }],
			["Subscribe Newsletter", null, { doiLink: `https://subdomain.domain.tld?id=${id}` }],
			["Confirm Subscription", topic, { trait: "doi", value: "confirmed" }],
			["Confirmed Subscription", null, {}],
			["Opt In", null, {}],
		]);
	});
});

describe("the multi-newsletter subscription of the guide, end to end", () => {
	it("subscribes kids, pets and shoes pending, confirms all, unsubscribes kids and shoes: pets stays subscribed", async () => {
		const id = unique("ce-multi");
		const { businessUnit, topics } = await newsletterTopics();
		const check = (topic: string) => decision({ externalId: id, businessUnit, channel: "email", topic });

		// The sign-up form: three traits "pending" → three Subscribes to double-opt-in topics.
		const signup = await putUser(id, fill(multiSignup, { id, businessUnit }));
		expect(signup.status).toBe(201);
		const pending = await json(signup);
		expect(pending.traits).toEqual({
			newsletterKids: "pending",
			newsletterPets: "pending",
			newsletterShoes: "pending",
		});
		// The service's own confirmation link per topic, for the DOI mail (the sender may keep its doiLink).
		expect(pending.confirmations).toEqual(
			Object.values(topics).map((topic) => ({ topic, confirmUrl: expect.stringMatching(/^https:\/\/.+\/c\/.+/) })),
		);
		for (const topic of Object.values(topics)) {
			expect(pending.consent.topics[topic]).toMatchObject({ status: "pending", channel: "email" });
			expect(await check(topic)).toEqual({ allowed: false, reason: "pending_confirmation" });
		}
		const subscribeNewsletter = await postEvents(fill(multiSubscribeNewsletter, { id }));
		expect(subscribeNewsletter.status).toBe(200);

		// The confirmation page: every trait "subscribed" → Confirm Subscription of each pending topic.
		const confirm = {
			id,
			email: "",
			businessUnit,
			newsletterKids: "subscribed",
			newsletterPets: "subscribed",
			newsletterShoes: "subscribed",
		};
		const confirmed = await putUser(id, confirm);
		expect(confirmed.status).toBe(200);
		const confirmedUser = await json(confirmed);
		expect(confirmedUser.confirmations).toEqual([]);
		for (const topic of Object.values(topics)) {
			expect(confirmedUser.consent.topics[topic].status).toBe("subscribed");
			expect(await check(topic)).toEqual({ allowed: true, reason: "ok" });
		}

		// The custom unsubscribe: kids and shoes "unsubscribed"; pets is not named and keeps trait and topic.
		const unsubscribe = await putUser(id, fill(multiUnsubscribe, { id, businessUnit }));
		expect(unsubscribe.status).toBe(200);
		const user = await nativeUser(id);
		expect(user.traits).toEqual({
			newsletterKids: "unsubscribed",
			newsletterPets: "subscribed",
			newsletterShoes: "unsubscribed",
		});
		expect(user.consent.topics[topics.kids].status).toBe("unsubscribed");
		expect(user.consent.topics[topics.pets].status).toBe("subscribed");
		expect(user.consent.topics[topics.shoes].status).toBe("unsubscribed");
		expect(await check(topics.kids)).toEqual({ allowed: false, reason: "unsubscribed" });
		expect(await check(topics.pets)).toEqual({ allowed: true, reason: "ok" });
		expect(await check(topics.shoes)).toEqual({ allowed: false, reason: "unsubscribed" });
		// The channel itself stays open: it was never a system opt-out.
		expect(await decision({ externalId: id, businessUnit, channel: "email" })).toEqual({ allowed: true, reason: "ok" });

		// The export agrees with the checks.
		expect(await exportedIds({ status: "subscribed", topic: topics.pets, businessUnit })).toEqual([id]);
		expect(await exportedIds({ status: "subscribed", topic: topics.kids, businessUnit })).toEqual([]);
		expect(await exportedIds({ status: "unsubscribed", topic: topics.shoes, businessUnit })).toEqual([id]);

		// The ledger: what each call asked for, and where it came from.
		const ledger = await userLedger(id);
		expect(ledger.map((row) => [row.event, row.topic, row.properties.trait ?? null])).toEqual([
			["Subscribe", topics.kids, "newsletterKids"],
			["Subscribe", topics.pets, "newsletterPets"],
			["Subscribe", topics.shoes, "newsletterShoes"],
			["Subscribe Newsletter", null, null],
			["Confirm Subscription", topics.kids, "newsletterKids"],
			["Confirm Subscription", topics.pets, "newsletterPets"],
			["Confirm Subscription", topics.shoes, "newsletterShoes"],
			["Unsubscribe", topics.kids, "newsletterKids"],
			["Unsubscribe", topics.shoes, "newsletterShoes"],
		]);
		expect(ledger[3]?.properties).toEqual({
			doiLink: `https://subdomain.domain.tld?id=${id}&kids=1&pets=1&shoes=1`,
		});
		expect(ledger.every((row) => row.source === "api")).toBe(true);
		expect(ledger.filter((row) => !row.changed).map((row) => row.event)).toEqual(["Subscribe Newsletter"]);
	});

	it("the known issue: a system opt-out, the traits set to unsubscribed, then the Opt In the guide sends", async () => {
		const id = unique("ce-known-issue");
		const email = uniqueEmail();
		const { businessUnit, topics } = await newsletterTopics();
		await putUser(id, { ...fill(multiSignup, { id, businessUnit }), email });
		await putUser(id, {
			id,
			newsletterKids: "subscribed",
			newsletterPets: "subscribed",
			newsletterShoes: "subscribed",
		});
		const check = (topic?: string) => decision({ email, businessUnit, channel: "email", ...(topic ? { topic } : {}) });
		expect(await check(topics.pets)).toEqual({ allowed: true, reason: "ok" });

		// The mailbox's unsubscribe button: the ESP reports mail.unsubscribe, a system opt-out of email.
		// The effective status of every email topic is unsubscribed now, not "subscribed" as the traits say.
		await postEvents({ email, businessUnit, events: [{ event: "mail.unsubscribe" }] });
		const optedOut = await nativeUser(id);
		expect(optedOut.consent.channels.email.optedOut).toBe(true);
		for (const topic of Object.values(topics)) expect(optedOut.consent.topics[topic].status).toBe("unsubscribed");

		// The guide's remedy: every trait "unsubscribed", then Opt In to reverse the system opt-out.
		await putUser(id, {
			id,
			email: "",
			businessUnit,
			newsletterKids: "unsubscribed",
			newsletterPets: "unsubscribed",
			newsletterShoes: "unsubscribed",
		});
		const optIn = await postEvents(fill(reverseOptOut, { id }));
		expect(optIn.status).toBe(200);
		const after = await json(optIn);
		expect(after.consent.channels.email.optedOut).toBe(false);
		for (const topic of Object.values(topics)) {
			expect(after.consent.topics[topic].status).toBe("unsubscribed");
			expect(await check(topic)).toEqual({ allowed: false, reason: "unsubscribed" });
		}
		expect(await check()).toEqual({ allowed: true, reason: "ok" });
		expect((await userLedger(id)).at(-1)).toMatchObject({
			event: "Opt In",
			channel: "email",
			changed: true,
			properties: { status: "opt out via traits" },
		});
	});
});

describe("events by email and business unit (external id unknown)", () => {
	it("creates a lead for an unknown address, and reaches a user by its address too", async () => {
		// The guide's body names the person by `"email": ""` (an address it does not show): a unique one here.
		const email = uniqueEmail();
		const body = fill(byEmailConfirmed, { email });
		expect(body).toEqual({
			email,
			businessUnit: "de",
			events: [{ event: "Confirmed Subscription" }, { event: "Opt In", "channel.type": "MAIL" }],
		});
		const response = await postEvents(body);
		expect(response.status).toBe(200);
		const lead = await json(response);
		expect(lead).toMatchObject({ externalId: null, email, businessUnit: "de" });
		expect((await api("GET", `/v1/leads?${new URLSearchParams({ email, businessUnit: "de" })}`)).status).toBe(200);
		expect((await leadLedger(email, "de")).map((row) => [row.event, row.channel])).toEqual([
			["Confirmed Subscription", null],
			["Opt In", "email"],
		]);

		// Once a user upsert names the address, the same body reaches that user (the same contact).
		const id = unique("ce-by-email");
		const adopted = await putUser(id, { id, email, businessUnit: "de" });
		expect(adopted.status).toBe(201);
		expect((await json(adopted)).id).toBe(lead.id);
		expect((await postEvents(body)).status).toBe(200);
		expect((await userLedger(id)).map((row) => row.event)).toEqual([
			"Confirmed Subscription",
			"Opt In",
			"Confirmed Subscription",
			"Opt In",
		]);
	});

	it("answers 400 when the placeholder is all that names the contact", async () => {
		const response = await postEvents(byEmailConfirmed);
		expect(response.status).toBe(400);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect((await json(response)).detail).toMatch(/exactly one of id.*email or phone/);
	});
});
