import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyedHash } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import { api, BASE, json, postEvents, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";
import {
	confirmToken,
	consentOf,
	contactIdByEmail,
	countH1,
	expectPageHeaders,
	ledgerOf,
	manageToken,
	submit,
	visit,
} from "./page-helpers";

/** What a browser sends with a form posted from one of our own pages. */
const OWN_PAGE = { origin: BASE, "sec-fetch-site": "same-origin" };
const CONFIRM: Array<[string, string]> = [["confirm", "erase"]];

/** The token with one character of its signature changed. */
function tamper(token: string): string {
	const index = token.length - 5;
	const replacement = token[index] === "A" ? "B" : "A";
	return token.slice(0, index) + replacement + token.slice(index + 1);
}

const decision = async (email: string, businessUnit: string) =>
	json(await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&businessUnit=${businessUnit}&channel=email`));

/** A user with an email, a phone, traits, a topic, an SMS opt-out and a custom event. */
async function seedUser(businessUnit = "default") {
	const externalId = unique("self");
	const [email, phone] = [uniqueEmail(), uniquePhone()];
	const topic = unique("news");
	await putTopic(topic);
	const put = await api("PUT", `/v1/users/${externalId}`, {
		body: { email, phone, businessUnit, traits: { firstName: "Ann", tier: { level: 2 } } },
	});
	expect(put.status).toBe(201);
	const events = await api("POST", "/v1/events", {
		body: {
			id: externalId,
			events: [
				{ event: "Subscribe", topic },
				{ event: "Opt Out", channel: "sms", properties: { comment: "too many texts" } },
				{ event: unique("Visited") },
			],
		},
		headers: { "cf-connecting-ip": "203.0.113.7", "user-agent": "Ann's browser" },
	});
	expect(events.status).toBe(200);
	const { id } = await json(events);
	return { externalId, email, phone, topic, id: id as string };
}

/** Everything the API shows about a user: its contact and its whole ledger. */
async function apiRecord(externalId: string) {
	const contact = await api("GET", `/v1/users/${externalId}`);
	const events: unknown[] = [];
	let cursor: string | null = null;
	do {
		const page: { events: unknown[]; nextCursor: string | null } = await json(
			await api("GET", `/v1/users/${externalId}/history?limit=1000${cursor ? `&cursor=${cursor}` : ""}`),
		);
		events.push(...page.events);
		cursor = page.nextCursor;
	} while (cursor);
	return { status: contact.status, contact: contact.status === 200 ? await json(contact) : null, events };
}

async function download(token: string, query = "") {
	const response = await visit("GET", `/p/${token}/download${query}`);
	expect(response.status).toBe(200);
	expectPageHeaders(response);
	expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
	expect(response.headers.get("content-disposition")).toMatch(
		/^attachment; filename="consent-record-\d{4}-\d{2}-\d{2}\.json"$/,
	);
	return json(response);
}

async function expectErrorPage(response: Response, status: number, text: string) {
	expect(response.status).toBe(status);
	expect(response.headers.get("content-type")).toMatch(/^text\/html/);
	expectPageHeaders(response);
	const html = await response.text();
	expect(html).toContain(text);
	expect(countH1(html)).toBe(1);
}

describe("the preference center's self-service section", () => {
	it("links to the download and the erasure page, keeping the chosen language", async () => {
		const { externalId } = await seedUser();
		const token = await manageToken({ externalId });
		const html = await (await visit("GET", `/p/${token}`)).text();
		expect(html).toContain('<h2 id="your-data">Your data</h2>');
		expect(html).toContain(`href="/p/${token}/download"`);
		expect(html).toContain(`href="/p/${token}/erase"`);
		const german = await (await visit("GET", `/p/${token}?lang=de`)).text();
		// A download link: the browser saves the file and stays on the page.
		expect(german).toContain(`href="/p/${token}/download?lang=de" download="">Meine Daten herunterladen</a>`);
		expect(german).toContain(`href="/p/${token}/erase?lang=de">Meine Daten löschen</a>`);
	});
});

describe("GET /p/{token}/download", () => {
	it("is the contact as the API shows it and its whole ledger, as a file; reading changes nothing", async () => {
		const user = await seedUser();
		// More than one page of the API's history (1,000 rows).
		for (let batch = 0; batch < 10; batch++) {
			const events = Array.from({ length: 100 }, (_, i) => ({
				event: "Page View",
				properties: { n: batch * 100 + i },
			}));
			expect((await postEvents({ id: user.externalId }, events)).status).toBe(200);
		}
		const before = await ledgerOf(user.id);
		expect(before.length).toBeGreaterThan(1000);
		const token = await manageToken({ externalId: user.externalId }, { channel: "email", campaign: "nov" });

		const record = await download(token);
		const expected = await apiRecord(user.externalId);
		expect(Object.keys(record).sort()).toEqual(["contact", "exportedAt", "ledger"]);
		expect(record.contact).toEqual(expected.contact);
		expect(record.contact).toMatchObject({
			externalId: user.externalId,
			email: user.email,
			phone: user.phone,
			businessUnit: "default",
			traits: { firstName: "Ann", tier: { level: 2 } },
			consent: { channels: { sms: { optedOut: true } }, topics: { [user.topic]: { status: "subscribed" } } },
		});
		expect(record.contact).not.toHaveProperty("version");
		expect(record.ledger).toEqual(expected.events);
		expect(record.ledger).toHaveLength(before.length);
		expect(record.ledger[1]).toMatchObject({ event: "Opt Out", ip: "203.0.113.7", feedback: "too many texts" });

		// Effective statuses, as the API shows them: an email opt-out shows the topic unsubscribed.
		await postEvents({ id: user.externalId }, [{ event: "Opt Out", channel: "email" }]);
		const after = await download(token);
		expect(after.contact.consent.topics[user.topic].status).toBe("unsubscribed");
		expect(after.contact).toEqual((await apiRecord(user.externalId)).contact);

		// A read: no ledger row, no change; HEAD neither.
		const rows = (await ledgerOf(user.id)).length;
		expect((await visit("HEAD", `/p/${token}/download`)).status).toBe(200);
		await download(token);
		expect((await ledgerOf(user.id)).length).toBe(rows);
	});

	it("for an address without a contact states there is none, and makes no lead", async () => {
		const email = uniqueEmail();
		const byEmail = await download(await manageToken({ email, businessUnit: "eu" }));
		expect(byEmail).toEqual({
			exportedAt: expect.any(String),
			contact: null,
			ledger: [],
			note: "We hold no personal data for this link.",
		});
		expect(JSON.stringify(byEmail)).not.toContain(email);
		expect(await contactIdByEmail(email, "eu")).toBeNull();
		expect((await api("GET", `/v1/leads?email=${email}&businessUnit=eu`)).status).toBe(404);
		// The page's language; a contact id without a contact answers the same.
		const missing = await download(await manageToken({ contactId: crypto.randomUUID() }), "?lang=de");
		expect(missing).toEqual({ ...byEmail, exportedAt: missing.exportedAt, note: expect.stringContaining("keine") });
	});
});

describe("the erasure confirmation", () => {
	it("GET and HEAD only render it: nothing is erased or written", async () => {
		const user = await seedUser();
		const token = await manageToken({ externalId: user.externalId });
		const ledger = await ledgerOf(user.id);
		const consent = await consentOf(user.id);

		const response = await visit("GET", `/p/${token}/erase`);
		expect(response.status).toBe(200);
		expectPageHeaders(response);
		// Its own POST must carry our origin (no `Origin: null`), and the token goes to no one else.
		expect(response.headers.get("referrer-policy")).toBe("same-origin");
		const html = await response.text();
		expect(countH1(html)).toBe(1);
		expect(html).toContain("<title>Erase your data?</title>");
		expect(html).toContain('<meta name="referrer" content="same-origin"/>');
		expect(html).toContain("your address stays on our suppression list");
		expect(html).toContain(`<form method="post" action="/p/${token}/erase">`);
		expect(html).toContain('<button type="submit" name="confirm" value="erase">Yes, erase my data</button>');
		expect(html).toContain(`href="/p/${token}/download"`);
		expect(html).not.toMatch(/<script|style=/);
		expect((await visit("HEAD", `/p/${token}/erase`)).status).toBe(200);
		expect((await visit("GET", `/p/${token}/erase?lang=pl`)).status).toBe(200);

		expect(await ledgerOf(user.id)).toEqual(ledger);
		expect(await consentOf(user.id)).toEqual(consent);
		expect((await api("GET", `/v1/users/${user.externalId}`)).status).toBe(200);
		// The preference center's own pages keep sending no referrer at all.
		expect((await visit("GET", `/p/${token}`)).headers.get("referrer-policy")).toBe("no-referrer");
	});

	it("a POST without the confirm field erases nothing and shows the confirmation again", async () => {
		const user = await seedUser();
		const token = await manageToken({ externalId: user.externalId });
		const ledger = await ledgerOf(user.id);
		for (const fields of [[], [["confirm", "yes"]], [["action", "erase"]]] as Array<Array<[string, string]>>) {
			const response = await submit(`/p/${token}/erase`, fields, OWN_PAGE);
			expect(response.status).toBe(200);
			expect(await response.text()).toContain("<title>Erase your data?</title>");
		}
		expect(await ledgerOf(user.id)).toEqual(ledger);
		expect((await api("GET", `/v1/users/${user.externalId}`)).status).toBe(200);
	});
});

describe("POST /p/{token}/erase with confirm=erase", () => {
	it("erases an opted-out lead as DELETE /v1/leads does, recorded as self-service; the address stays suppressed", async () => {
		const email = uniqueEmail();
		const seeded = await postEvents({ email, businessUnit: "eu" }, [{ event: "Opt Out", channel: "email" }]);
		const { id } = await json(seeded);
		const token = await manageToken({ email, businessUnit: "eu" }, { campaign: "dec" });

		const response = await submit(`/p/${token}/erase`, CONFIRM, {
			...OWN_PAGE,
			"cf-connecting-ip": "198.51.100.4",
			"user-agent": "Ann's phone",
		});
		expect(response.status).toBe(200);
		expectPageHeaders(response);
		const html = await response.text();
		expect(html).toContain("<title>Your data has been erased</title>");
		expect(html).toContain("your address stays on our suppression list");

		expect((await api("GET", `/v1/leads?email=${email}&businessUnit=eu`)).status).toBe(404);
		expect(await contactIdByEmail(email, "eu")).toBeNull();
		// The API's erasure: the ledger scrubbed, an Erase row, but its source says who asked.
		const ledger = await ledgerOf(id);
		expect(ledger.map((row) => [row.event, row.source])).toEqual([
			["Opt Out", "api"],
			["Erase", "preference_center"],
		]);
		for (const row of ledger) expect(row).toMatchObject({ ip: null, user_agent: null, feedback: null });
		expect(JSON.parse(ledger[1]?.properties ?? "")).toEqual({ suppressed: true });
		const hash = await keyedHash(env as unknown as Bindings, email);
		const suppression = await env.DB.prepare("SELECT event, source FROM ledger WHERE contact_id = ?")
			.bind(`suppression:${hash}`)
			.all();
		expect(suppression.results).toEqual([{ event: "Suppress", source: "erasure" }]);

		// A new lead with the address is still not allowed to get marketing mail.
		expect((await api("PUT", "/v1/leads", { body: { email, businessUnit: "eu" } })).status).toBe(201);
		expect(await decision(email, "eu")).toMatchObject({ allowed: false, reason: "suppressed" });
	});

	it("erases a user who never opted out completely, and a second POST gets a friendly page", async () => {
		const externalId = unique("self");
		const email = uniqueEmail();
		await api("PUT", `/v1/users/${externalId}`, { body: { email, businessUnit: "default" } });
		const { id } = await json(await api("GET", `/v1/users/${externalId}`));
		const token = await manageToken({ externalId }, { channel: "email" });

		const response = await submit(`/p/${token}/erase?lang=de`, CONFIRM, OWN_PAGE);
		expect(response.status).toBe(200);
		const html = await response.text();
		expect(html).toContain("<title>Ihre Daten wurden gelöscht</title>");
		expect(html).not.toContain("Sperrliste");
		expect((await api("GET", `/v1/users/${externalId}`)).status).toBe(404);
		expect((await ledgerOf(id)).map((row) => [row.event, row.source, row.properties])).toEqual([
			["Erase", "preference_center", '{"suppressed":false}'],
		]);
		expect(await decision(email, "default")).toMatchObject({ allowed: true, reason: "ok" });

		// The same link again (and the contact-id link of the confirmation page): nothing left, said kindly.
		for (const again of [token, await manageToken({ contactId: id })]) {
			const second = await submit(`/p/${again}/erase`, CONFIRM, OWN_PAGE);
			expect(second.status).toBe(200);
			expectPageHeaders(second);
			const text = await second.text();
			expect(text).toContain("<title>Nothing to erase</title>");
			expect(text).toContain("it has already been carried out");
			expect((await visit("GET", `/p/${again}/erase`)).status).toBe(200);
		}
		expect((await ledgerOf(id)).length).toBe(1);
	});

	it("a double submit erases once; the other answer is the friendly page", async () => {
		const email = uniqueEmail();
		const { id } = await json(await postEvents({ email, businessUnit: "eu" }, [{ event: "Opt Out" }]));
		const token = await manageToken({ email, businessUnit: "eu" });
		const answers = await Promise.all([
			submit(`/p/${token}/erase`, CONFIRM, OWN_PAGE),
			submit(`/p/${token}/erase`, CONFIRM, OWN_PAGE),
		]);
		expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
		const titles = (await Promise.all(answers.map((answer) => answer.text())))
			.map((html) => html.match(/<title>(.*?)<\/title>/)?.[1])
			.sort();
		expect(titles).toEqual(["Nothing to erase", "Your data has been erased"]);
		expect((await ledgerOf(id)).filter((row) => row.event === "Erase")).toHaveLength(1);
	});

	it("an address without a contact answers as an erased one does, and no lead is made", async () => {
		const email = uniqueEmail();
		const token = await manageToken({ email, businessUnit: "eu" });
		const page = await (await visit("GET", `/p/${token}/erase`)).text();
		const posted = await submit(`/p/${token}/erase`, CONFIRM, OWN_PAGE);
		expect(posted.status).toBe(200);
		const answer = await posted.text();
		expect(answer).toContain("<title>Nothing to erase</title>");
		expect(page).toBe(answer);
		expect(await contactIdByEmail(email, "eu")).toBeNull();

		// The same pages as for an address whose contact was just erased (but for the masked address).
		const erased = uniqueEmail();
		await postEvents({ email: erased, businessUnit: "eu" }, [{ event: unique("Hello") }]);
		const erasedToken = await manageToken({ email: erased, businessUnit: "eu" });
		await submit(`/p/${erasedToken}/erase`, CONFIRM, OWN_PAGE);
		const again = await (await submit(`/p/${erasedToken}/erase`, CONFIRM, OWN_PAGE)).text();
		const masked = (html: string) => html.replaceAll(token, "TOKEN").replace(/This link is for [^<]*/, "");
		expect(masked(again.replaceAll(erasedToken, token))).toBe(masked(answer));
	});
});

describe("bad links and foreign posts erase nothing", () => {
	it("a tampered token, or a token of another purpose, gets the friendly 400 page on every self-service path", async () => {
		const user = await seedUser();
		const ledger = await ledgerOf(user.id);
		const tokens = [
			tamper(await manageToken({ externalId: user.externalId })),
			await confirmToken({ externalId: user.externalId }, { topic: user.topic }),
			"not-a-token",
		];
		for (const token of tokens) {
			await expectErrorPage(await visit("GET", `/p/${token}/download`), 400, "This link does not work");
			await expectErrorPage(await visit("GET", `/p/${token}/erase`), 400, "This link does not work");
			expect((await visit("HEAD", `/p/${token}/erase`)).status).toBe(400);
			const posted = await submit(`/p/${token}/erase`, CONFIRM, OWN_PAGE);
			await expectErrorPage(posted, 400, "was changed");
		}
		expect(await ledgerOf(user.id)).toEqual(ledger);
		expect((await api("GET", `/v1/users/${user.externalId}`)).status).toBe(200);
	});

	it("refuses a POST from another site, or from nowhere a browser would say, as the admin's posts are", async () => {
		const user = await seedUser();
		const token = await manageToken({ externalId: user.externalId });
		const ledger = await ledgerOf(user.id);
		const foreign: Array<Record<string, string>> = [
			{ origin: "https://evil.example", "sec-fetch-site": "" },
			{ origin: "https://evil.example" },
			{ origin: "null" },
			{ "sec-fetch-site": "cross-site", origin: BASE },
			{ "sec-fetch-site": "same-site", origin: BASE },
			{ "sec-fetch-site": "cross-site" },
			{ "sec-fetch-site": "same-origin", origin: "https://evil.example" },
			{},
		];
		for (const headers of foreign) {
			const response = await submit(`/p/${token}/erase`, CONFIRM, headers);
			expect(response.status, JSON.stringify(headers)).toBe(403);
			expectPageHeaders(response);
			expect(await response.text()).toContain("<title>This request was refused</title>");
		}
		expect(await ledgerOf(user.id)).toEqual(ledger);
		expect((await api("GET", `/v1/users/${user.externalId}`)).status).toBe(200);

		// Our own page, told by either header alone, is enough.
		expect((await submit(`/p/${token}/erase`, [], { "sec-fetch-site": "same-origin" })).status).toBe(200);
		expect((await submit(`/p/${token}/erase`, CONFIRM, { origin: BASE })).status).toBe(200);
		expect((await api("GET", `/v1/users/${user.externalId}`)).status).toBe(404);
	});
});
