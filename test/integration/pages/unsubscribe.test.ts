import { describe, expect, it } from "vitest";
import { api, putTopic, unique, uniqueEmail } from "../../helpers";
import {
	consentOf,
	contactIdByEmail,
	countH1,
	expectPageHeaders,
	ledgerOf,
	manageToken,
	seedLead,
	submit,
	visit,
} from "./page-helpers";

const CLIENT = { "cf-connecting-ip": "198.51.100.23", "user-agent": "MailboxProvider/1.0 (one-click)" };

function oneClickBody(encoding: "urlencoded" | "multipart"): BodyInit {
	if (encoding === "urlencoded") return new URLSearchParams({ "List-Unsubscribe": "One-Click" });
	const form = new FormData();
	form.set("List-Unsubscribe", "One-Click");
	return form;
}

/** A lead subscribed to two email topics and nothing opted out. */
async function seedSubscriber() {
	const email = uniqueEmail();
	const kids = unique("kids");
	const pets = unique("pets");
	await putTopic(kids, { channel: "email" });
	await putTopic(pets, { channel: "email" });
	const { id } = await seedLead(email, [
		{ event: "Subscribe", topic: kids },
		{ event: "Subscribe", topic: pets },
		{ event: "Opt In", channel: "sms" },
	]);
	return { email, id, kids, pets };
}

describe("GET and HEAD /u/{token} never change anything", () => {
	it("renders the page for topic, channel and everything links and writes nothing", async () => {
		const { id, kids } = await seedSubscriber();
		const before = await ledgerOf(id);
		const cases = [
			{ scope: { topic: kids }, text: `You will no longer receive “${kids}”.` },
			{ scope: { channel: "email" as const }, text: "You will no longer receive any emails from us." },
			{ scope: {}, text: "You will no longer receive any messages from us, on any channel." },
		];
		for (const { scope, text } of cases) {
			const token = await manageToken({ contactId: id }, { ...scope, campaign: "c-1" });
			const response = await visit("GET", `/u/${token}`, { headers: CLIENT });
			expect(response.status).toBe(200);
			expect(response.headers.get("content-type")).toMatch(/^text\/html/);
			expectPageHeaders(response);
			const html = await response.text();
			expect(html).toContain(text);
			expect(html).toContain('<html lang="en">');
			expect(countH1(html)).toBe(1);
			expect(html).toContain(`<form method="post" action="/u/${token}"`);
			for (const reason of ["too_many", "not_relevant", "never_signed_up", "other"]) {
				expect(html).toContain(`value="${reason}" id="reason-${reason}"`);
				expect(html).toContain(`<label for="reason-${reason}">`);
			}
			expect(html).toContain('<label for="comment">');
			expect(html).toContain(`href="/p/${token}"`);
			expect(html).not.toContain("<script");

			const head = await visit("HEAD", `/u/${token}`, { headers: CLIENT });
			expect(head.status).toBe(200);
			expectPageHeaders(head);
			expect(await head.text()).toBe("");
		}
		expect(await ledgerOf(id)).toEqual(before);
		expect((await consentOf(id)).channels.email?.optedOut ?? false).toBe(false);
	});

	it("renders for an address with no contact yet and creates no lead", async () => {
		const email = uniqueEmail();
		const token = await manageToken({ email, businessUnit: "default" }, { channel: "email" });
		expect((await visit("GET", `/u/${token}`)).status).toBe(200);
		expect((await visit("HEAD", `/u/${token}`)).status).toBe(200);
		expect(await contactIdByEmail(email)).toBeNull();
	});

	it("says when the person is already unsubscribed", async () => {
		const { id } = await seedSubscriber();
		const token = await manageToken({ contactId: id }, { channel: "email" });
		expect(await (await visit("GET", `/u/${token}`)).text()).not.toContain("You are already unsubscribed.");
		await visit("POST", `/u/${token}`, { body: oneClickBody("urlencoded") });
		expect(await (await visit("GET", `/u/${token}`)).text()).toContain("You are already unsubscribed.");
	});
});

describe("POST /u/{token} with List-Unsubscribe=One-Click (RFC 8058)", () => {
	for (const encoding of ["urlencoded", "multipart"] as const) {
		it(`a topic link unsubscribes that topic only (${encoding})`, async () => {
			const { id, kids, pets } = await seedSubscriber();
			const campaign = unique("campaign");
			const token = await manageToken({ contactId: id }, { topic: kids, campaign });
			const response = await visit("POST", `/u/${token}`, { body: oneClickBody(encoding), headers: CLIENT });
			expect(response.status).toBe(200);
			expect(response.headers.get("location")).toBeNull();
			// A short page (a person who ever sees it gets a titled page), never a redirect.
			expect(response.headers.get("content-type")).toMatch(/^text\/html/);
			expectPageHeaders(response);
			const html = await response.text();
			expect(html).toContain("<h1>You are unsubscribed</h1>");
			expect(html).toContain(`You will no longer receive “${kids}”.`);
			expect(html).not.toContain("<form");

			const consent = await consentOf(id);
			expect(consent.topics[kids].status).toBe("unsubscribed");
			expect(consent.topics[pets].status).toBe("subscribed");
			expect(consent.channels.email?.optedOut ?? false).toBe(false);
			const last = (await ledgerOf(id)).at(-1);
			expect(last).toMatchObject({
				event: "Unsubscribe",
				topic: kids,
				channel: "email",
				changed: 1,
				source: "one_click",
				campaign,
				ip: "198.51.100.23",
				user_agent: "MailboxProvider/1.0 (one-click)",
			});
		});

		it(`a channel link opts out that channel only (${encoding})`, async () => {
			const { id, kids } = await seedSubscriber();
			const token = await manageToken({ contactId: id }, { channel: "email", campaign: "spring-sale" });
			const response = await visit("POST", `/u/${token}`, { body: oneClickBody(encoding), headers: CLIENT });
			expect(response.status).toBe(200);
			expect(response.headers.get("location")).toBeNull();
			const consent = await consentOf(id);
			expect(consent.channels.email.optedOut).toBe(true);
			expect(consent.channels.sms?.optedOut ?? false).toBe(false);
			expect(consent.topics[kids].status).toBe("subscribed");
			expect((await ledgerOf(id)).at(-1)).toMatchObject({
				event: "Opt Out",
				channel: "email",
				topic: null,
				source: "one_click",
				campaign: "spring-sale",
				ip: "198.51.100.23",
				user_agent: "MailboxProvider/1.0 (one-click)",
			});
		});

		it(`a link without topic or channel opts out of every channel (${encoding})`, async () => {
			const { id } = await seedSubscriber();
			const token = await manageToken({ contactId: id }, { campaign: "weekly-42" });
			const response = await visit("POST", `/u/${token}`, { body: oneClickBody(encoding), headers: CLIENT });
			expect(response.status).toBe(200);
			expect(response.headers.get("location")).toBeNull();
			const consent = await consentOf(id);
			for (const channel of ["email", "sms", "whatsapp", "push"]) expect(consent.channels[channel].optedOut).toBe(true);
			expect((await ledgerOf(id)).at(-1)).toMatchObject({
				event: "Opt Out",
				channel: null,
				source: "one_click",
				campaign: "weekly-42",
				ip: "198.51.100.23",
				user_agent: "MailboxProvider/1.0 (one-click)",
			});
		});
	}

	it("repeats are harmless", async () => {
		const { id } = await seedSubscriber();
		const token = await manageToken({ contactId: id }, { channel: "email" });
		for (let i = 0; i < 3; i++) {
			const response = await visit("POST", `/u/${token}`, { body: oneClickBody("multipart") });
			expect(response.status).toBe(200);
		}
		const rows = (await ledgerOf(id)).filter((row) => row.source === "one_click");
		expect(rows.map((row) => row.changed)).toEqual([1, 0, 0]);
		expect((await consentOf(id)).channels.email.optedOut).toBe(true);
	});

	it("creates the lead for an address without a contact, so the opt-out holds", async () => {
		const email = uniqueEmail();
		const token = await manageToken({ email: email.toUpperCase(), businessUnit: "at" }, { channel: "email" });
		const response = await visit("POST", `/u/${token}`, { body: oneClickBody("urlencoded") });
		expect(response.status).toBe(200);
		const id = await contactIdByEmail(email, "at");
		expect(id).not.toBeNull();
		expect((await consentOf(id as string)).channels.email.optedOut).toBe(true);
	});

	it("works for an externalId link", async () => {
		const email = uniqueEmail();
		const { id } = await seedLead(email, [{ event: "Opt In", channel: "email" }]);
		const externalId = unique("user");
		expect((await api("PUT", `/v1/users/${externalId}`, { body: { email } })).status).toBe(201);
		const token = await manageToken({ externalId }, { channel: "email" });
		expect((await visit("POST", `/u/${token}`, { body: oneClickBody("urlencoded") })).status).toBe(200);
		expect((await consentOf(id)).channels.email.optedOut).toBe(true);
	});
});

describe("the unsubscribe page's own form", () => {
	it("records reason and comment, then offers an undo that opts the channel in again", async () => {
		const { id } = await seedSubscriber();
		const token = await manageToken({ contactId: id }, { channel: "email", campaign: "nl-7" });
		const response = await submit(
			`/u/${token}`,
			[
				["reason", "too_many"],
				["comment", "  Once a month would be fine.  "],
				["action", "unsubscribe"],
			],
			CLIENT,
		);
		expect(response.status).toBe(200);
		expectPageHeaders(response);
		const html = await response.text();
		expect(html).toContain("You are unsubscribed");
		expect(html).toContain('name="action" value="undo"');
		expect(html).toContain('<input type="hidden" name="channel" value="email"');
		expect(html).toContain(`href="/p/${token}"`);
		expect((await consentOf(id)).channels.email.optedOut).toBe(true);
		const row = (await ledgerOf(id)).at(-1);
		expect(row).toMatchObject({
			event: "Opt Out",
			channel: "email",
			source: "unsubscribe_page",
			reason: "too_many",
			feedback: "Once a month would be fine.",
			campaign: "nl-7",
			ip: "198.51.100.23",
		});
		expect(JSON.parse(row?.properties ?? "{}")).toEqual({ reason: "too_many", comment: "Once a month would be fine." });

		const undo = await submit(
			`/u/${token}`,
			[
				["channel", "email"],
				["action", "undo"],
			],
			CLIENT,
		);
		expect(undo.status).toBe(200);
		expect(await undo.text()).toContain("You are subscribed again");
		expect((await consentOf(id)).channels.email.optedOut).toBe(false);
		expect((await ledgerOf(id)).at(-1)).toMatchObject({
			event: "Opt In",
			channel: "email",
			source: "unsubscribe_page",
			changed: 1,
		});
	});

	it("ignores an unknown reason, and an undo of a topic makes it subscribed again", async () => {
		const { id, kids } = await seedSubscriber();
		const token = await manageToken({ contactId: id }, { topic: kids });
		const response = await submit(`/u/${token}`, [
			["reason", "<script>"],
			["comment", ""],
		]);
		expect(response.status).toBe(200);
		expect((await consentOf(id)).topics[kids].status).toBe("unsubscribed");
		const row = (await ledgerOf(id)).at(-1);
		expect(row).toMatchObject({ event: "Unsubscribe", topic: kids, reason: null, feedback: null });

		await submit(`/u/${token}`, [["action", "undo"]]);
		expect((await consentOf(id)).topics[kids].status).toBe("subscribed");
		expect((await ledgerOf(id)).at(-1)).toMatchObject({
			event: "Confirm Subscription",
			topic: kids,
			source: "unsubscribe_page",
		});
	});

	it("an undo of everything opts in only the channels that this unsubscribe opted out", async () => {
		const email = uniqueEmail();
		const { id } = await seedLead(email, [
			{ event: "Opt In", channel: "email" },
			{ event: "Opt Out", channel: "sms" },
		]);
		const token = await manageToken({ contactId: id });
		const html = await (await submit(`/u/${token}`, [["reason", "not_relevant"]])).text();
		for (const channel of ["email", "whatsapp", "push"]) {
			expect(html).toContain(`<input type="hidden" name="channel" value="${channel}"`);
		}
		expect(html).not.toContain('<input type="hidden" name="channel" value="sms"');

		await submit(`/u/${token}`, [
			["channel", "email"],
			["channel", "whatsapp"],
			["channel", "push"],
			["action", "undo"],
		]);
		const consent = await consentOf(id);
		expect(consent.channels.email.optedOut).toBe(false);
		expect(consent.channels.whatsapp.optedOut).toBe(false);
		expect(consent.channels.sms.optedOut).toBe(true);
	});

	it("offers no undo when nothing changed", async () => {
		const email = uniqueEmail();
		const { id } = await seedLead(email, [{ event: "Opt Out", channel: "email" }]);
		const token = await manageToken({ contactId: id }, { channel: "email" });
		const html = await (await submit(`/u/${token}`, [["action", "unsubscribe"]])).text();
		expect(html).toContain("You were already unsubscribed, so nothing changed.");
		expect(html).not.toContain('value="undo"');
	});
});
