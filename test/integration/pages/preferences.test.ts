import { describe, expect, it } from "vitest";
import { putTopic, unique, uniqueEmail } from "../../helpers";
import {
	consentOf,
	contactIdByEmail,
	countH1,
	expectPageHeaders,
	isChecked,
	ledgerOf,
	manageToken,
	seedLead,
	submit,
	visit,
} from "./page-helpers";

/**
 * Email topics: kids and pets subscribed, digest (double opt-in) never subscribed, news (no double
 * opt-in, no status: received in an opt-out system); an sms topic subscribed; a topic of another
 * business unit that must not show.
 */
async function seedPreferences(businessUnit = "default") {
	const email = uniqueEmail();
	const topics = {
		kids: unique("kids"),
		pets: unique("pets"),
		digest: unique("digest"),
		news: unique("news"),
		alerts: unique("alerts"),
		foreign: unique("foreign"),
	};
	await putTopic(topics.kids, { channel: "email" });
	await putTopic(topics.pets, { channel: "email" });
	await putTopic(topics.digest, { channel: "email", doubleOptIn: true });
	await putTopic(topics.news, { channel: "email" });
	await putTopic(topics.alerts, { channel: "sms" });
	await putTopic(topics.foreign, { channel: "email", businessUnit: "zz-other" });
	const { id } = await seedLead(
		email,
		[
			{ event: "Subscribe", topic: topics.kids },
			{ event: "Subscribe", topic: topics.pets },
			{ event: "Subscribe", topic: topics.alerts },
		],
		businessUnit,
	);
	return { email, id, topics };
}

describe("GET /p/{token}", () => {
	it("shows every topic of the business unit with its effective status, and the channel opt-outs", async () => {
		const { id, topics } = await seedPreferences();
		const token = await manageToken({ contactId: id });
		let response = await visit("GET", `/p/${token}`);
		expect(response.status).toBe(200);
		expectPageHeaders(response);
		let html = await response.text();
		expect(countH1(html)).toBe(1);
		expect(html).toContain("<legend>Email</legend>");
		expect(html).toContain("<legend>SMS</legend>");
		expect(isChecked(html, "topic", topics.kids)).toBe(true);
		expect(isChecked(html, "topic", topics.pets)).toBe(true);
		expect(isChecked(html, "topic", topics.digest)).toBe(false);
		expect(isChecked(html, "topic", topics.news)).toBe(true);
		expect(isChecked(html, "topic", topics.alerts)).toBe(true);
		expect(isChecked(html, "stop", "email")).toBe(false);
		expect(html).not.toContain(topics.foreign);
		expect(html).toContain(`<label for="topic-email-${topics.kids}">${topics.kids}</label>`);
		expect(html).toContain("Unsubscribe from everything");

		// An email opt-out makes every email topic unsubscribed (effective status), sms untouched.
		const before = (await ledgerOf(id)).length;
		await visit("POST", `/u/${await manageToken({ contactId: id }, { channel: "email" })}`, {
			body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
		});
		response = await visit("GET", `/p/${token}`);
		html = await response.text();
		expect(isChecked(html, "topic", topics.kids)).toBe(false);
		expect(isChecked(html, "topic", topics.pets)).toBe(false);
		expect(isChecked(html, "topic", topics.news)).toBe(false);
		expect(isChecked(html, "topic", topics.alerts)).toBe(true);
		expect(isChecked(html, "stop", "email")).toBe(true);
		expect(html).toContain("You currently receive no emails, so the topics below are paused.");
		expect((await ledgerOf(id)).length).toBe(before + 1);
		expect((await visit("HEAD", `/p/${token}`)).status).toBe(200);
		expect((await ledgerOf(id)).length).toBe(before + 1);
	});

	it("a channel link shows that channel only and marks pending topics", async () => {
		const email = uniqueEmail();
		const digest = unique("digest");
		const alerts = unique("alerts");
		await putTopic(digest, { channel: "email", doubleOptIn: true });
		await putTopic(alerts, { channel: "sms" });
		const { id } = await seedLead(email, [{ event: "Subscribe", topic: digest }]);
		const token = await manageToken({ contactId: id }, { channel: "email" });
		const html = await (await visit("GET", `/p/${token}`)).text();
		expect(html).toContain(digest);
		expect(html).not.toContain(alerts);
		expect(html).not.toContain("<legend>SMS</legend>");
		expect(isChecked(html, "topic", digest)).toBe(false);
		expect(html).toContain("awaiting your confirmation");
		expect(html).toContain("Unsubscribe from all emails");
	});
});

describe("POST /p/{token}", () => {
	it("applies only the changed choices as events from the preference center", async () => {
		const { id, topics } = await seedPreferences();
		const token = await manageToken({ contactId: id }, { campaign: "prefs-1" });
		const before = (await ledgerOf(id)).length;
		const shown: Array<[string, string]> = [
			["shown_channel", "email"],
			["shown_channel", "sms"],
			...[topics.kids, topics.pets, topics.digest, topics.news, topics.alerts].map(
				(key) => ["shown_topic", key] as [string, string],
			),
		];
		// kids off, digest on; pets, news and alerts as they were.
		const response = await submit(`/p/${token}`, [
			...shown,
			["topic", topics.pets],
			["topic", topics.digest],
			["topic", topics.news],
			["topic", topics.alerts],
			["action", "save"],
		]);
		expect(response.status).toBe(200);
		expectPageHeaders(response);
		const html = await response.text();
		expect(html).toContain("Your choices have been saved.");
		expect(isChecked(html, "topic", topics.kids)).toBe(false);
		expect(isChecked(html, "topic", topics.digest)).toBe(true);

		const consent = await consentOf(id);
		expect(consent.topics[topics.kids].status).toBe("unsubscribed");
		expect(consent.topics[topics.digest].status).toBe("subscribed");
		expect(consent.topics[topics.pets].status).toBe("subscribed");
		expect(consent.topics[topics.news]).toBeUndefined();
		const rows = (await ledgerOf(id)).slice(before);
		expect(rows.map((row) => [row.event, row.topic, row.source, row.campaign])).toEqual([
			["Confirm Subscription", topics.digest, "preference_center", "prefs-1"],
			["Unsubscribe", topics.kids, "preference_center", "prefs-1"],
		]);

		// The same form again changes nothing and writes nothing.
		await submit(`/p/${token}`, [
			...shown,
			["topic", topics.pets],
			["topic", topics.digest],
			["topic", topics.news],
			["topic", topics.alerts],
		]);
		expect((await ledgerOf(id)).length).toBe(before + 2);
	});

	it("stops and reopens a channel; topics shown unticked under a stopped channel stay off", async () => {
		const { id, topics } = await seedPreferences();
		const token = await manageToken({ contactId: id }, { channel: "email" });
		const shown: Array<[string, string]> = [
			["shown_channel", "email"],
			...[topics.kids, topics.pets, topics.digest, topics.news].map((key) => ["shown_topic", key] as [string, string]),
		];
		await submit(`/p/${token}`, [...shown, ["topic", topics.kids], ["topic", topics.pets], ["stop", "email"]]);
		let consent = await consentOf(id);
		expect(consent.channels.email.optedOut).toBe(true);
		// Statuses behind the opt-out are kept.
		expect(consent.topics[topics.kids].status).toBe("subscribed");

		// Reopened with only pets ticked: kids (shown unticked) is unsubscribed, news too.
		await submit(`/p/${token}`, [...shown, ["topic", topics.pets]]);
		consent = await consentOf(id);
		expect(consent.channels.email.optedOut).toBe(false);
		expect(consent.topics[topics.kids].status).toBe("unsubscribed");
		expect(consent.topics[topics.pets].status).toBe("subscribed");
		expect(consent.topics[topics.news].status).toBe("unsubscribed");
	});

	it("ignores topics the form did not show", async () => {
		const { id, topics } = await seedPreferences();
		const token = await manageToken({ contactId: id });
		const before = (await ledgerOf(id)).length;
		await submit(`/p/${token}`, [["shown_channel", "email"]]);
		expect((await consentOf(id)).topics[topics.kids].status).toBe("subscribed");
		expect((await ledgerOf(id)).length).toBe(before);
	});

	it("unsubscribes from everything", async () => {
		const { id } = await seedPreferences();
		const token = await manageToken({ contactId: id });
		const html = await (await submit(`/p/${token}`, [["action", "unsubscribe_all"]])).text();
		expect(html).toContain("You have been unsubscribed from everything.");
		const consent = await consentOf(id);
		for (const channel of ["email", "sms", "whatsapp", "push"]) expect(consent.channels[channel].optedOut).toBe(true);
		expect((await ledgerOf(id)).at(-1)).toMatchObject({ event: "Opt Out", channel: null, source: "preference_center" });
		expect(isChecked(html, "stop", "email")).toBe(true);
	});

	it("makes a lead for an address link only when something changes", async () => {
		const email = uniqueEmail();
		const news = unique("news");
		await putTopic(news, { channel: "email", businessUnit: "at" });
		const token = await manageToken({ email, businessUnit: "at" });
		const html = await (await visit("GET", `/p/${token}`)).text();
		expect(isChecked(html, "topic", news)).toBe(true);
		await submit(`/p/${token}`, [
			["shown_channel", "email"],
			["shown_topic", news],
			["topic", news],
		]);
		expect(await contactIdByEmail(email, "at")).toBeNull();
		await submit(`/p/${token}`, [
			["shown_channel", "email"],
			["shown_topic", news],
		]);
		const id = await contactIdByEmail(email, "at");
		expect(id).not.toBeNull();
		expect((await consentOf(id as string)).topics[news].status).toBe("unsubscribed");
	});
});

describe("page language", () => {
	it("follows Accept-Language", async () => {
		const { id } = await seedPreferences();
		const token = await manageToken({ contactId: id });
		const response = await visit("GET", `/p/${token}`, { headers: { "accept-language": "de-DE,de;q=0.9,en;q=0.5" } });
		const html = await response.text();
		expect(html).toContain('<html lang="de">');
		expect(html).toContain("Ihre Abonnements");
		expect(html).toContain("<legend>E-Mail</legend>");
		expect(html).toContain("Von allem abmelden");
	});

	it("follows the business unit's locale over Accept-Language", async () => {
		const { id } = await seedPreferences("de");
		for (const path of ["/p/", "/u/"]) {
			const token = await manageToken({ contactId: id }, { channel: "email" });
			const response = await visit("GET", `${path}${token}`, { headers: { "accept-language": "en-US" } });
			const html = await response.text();
			expect(html).toContain('<html lang="de">');
		}
		const token = await manageToken({ contactId: id }, { channel: "email" });
		const unsubscribe = await (await visit("GET", `/u/${token}`)).text();
		expect(unsubscribe).toContain("Sie erhalten dann keine E-Mails mehr von uns.");
		expect(unsubscribe).toContain("Warum melden Sie sich ab? (optional)");
		const oneClick = await visit("POST", `/u/${token}`, {
			body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
		});
		const answer = await oneClick.text();
		expect(answer).toContain('<html lang="de">');
		expect(answer).toContain("<h1>Sie wurden abgemeldet</h1>");
	});
});
