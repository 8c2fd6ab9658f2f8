import { describe, expect, it } from "vitest";
import { BASE, putTopic, unique, uniqueEmail } from "../../helpers";
import {
	confirmToken,
	consentOf,
	contactIdByEmail,
	countH1,
	expectPageHeaders,
	ledgerOf,
	seedLead,
	submit,
	visit,
} from "./page-helpers";

describe("/c/{token}", () => {
	it("GET and HEAD show the page and confirm nothing; the button's POST confirms and opens the channel", async () => {
		const email = uniqueEmail();
		const kids = unique("kids");
		await putTopic(kids, { channel: "email", doubleOptIn: true });
		const { id, confirmations } = await seedLead(email, [
			{ event: "Opt Out", channel: "email" },
			{ event: "Subscribe", topic: kids },
		]);
		const confirmUrl = confirmations[0]?.confirmUrl as string;
		expect(confirmUrl.startsWith(`${BASE}/c/`)).toBe(true);
		const path = confirmUrl.slice(BASE.length);
		const before = await ledgerOf(id);

		const response = await visit("GET", path, { headers: { "user-agent": "SafeLinks scanner" } });
		expect(response.status).toBe(200);
		expectPageHeaders(response);
		const html = await response.text();
		expect(countH1(html)).toBe(1);
		expect(html).toContain("Confirm your subscription");
		expect(html).toContain(`<li>${kids}</li>`);
		expect(html).toContain(`<form method="post" action="${path}">`);
		expect(html).not.toContain("<script");
		expect((await visit("HEAD", path)).status).toBe(200);
		expect(await ledgerOf(id)).toEqual(before);
		expect((await consentOf(id)).topics[kids].status).toBe("pending");

		const confirmed = await visit("POST", path, {
			headers: { "cf-connecting-ip": "192.0.2.10", "user-agent": "Browser/1.0" },
		});
		expect(confirmed.status).toBe(200);
		expectPageHeaders(confirmed);
		const done = await confirmed.text();
		expect(done).toContain("Your subscription is confirmed");
		expect(done).toMatch(/href="\/p\/[A-Za-z0-9_.-]+"/);
		const consent = await consentOf(id);
		expect(consent.topics[kids].status).toBe("subscribed");
		expect(consent.channels.email.optedOut).toBe(false);
		expect((await ledgerOf(id)).at(-1)).toMatchObject({
			event: "Confirm Subscription",
			topic: kids,
			source: "confirmation_page",
			ip: "192.0.2.10",
			user_agent: "Browser/1.0",
		});

		// The link's preference center works, and the confirmation page now says there is nothing left to do.
		const preferences = done.match(/href="(\/p\/[A-Za-z0-9_.-]+)"/)?.[1] as string;
		expect((await visit("GET", preferences)).status).toBe(200);
		expect(await (await visit("GET", path)).text()).toContain("Your subscription is already confirmed.");
		// A second click is harmless.
		expect((await visit("POST", path)).status).toBe(200);
		expect((await consentOf(id)).topics[kids].status).toBe("subscribed");
	});

	it("a link without topic confirms the pending topics of its channel", async () => {
		const email = uniqueEmail();
		const kids = unique("kids");
		const pets = unique("pets");
		const alerts = unique("alerts");
		await putTopic(kids, { channel: "email", doubleOptIn: true });
		await putTopic(pets, { channel: "email", doubleOptIn: true });
		await putTopic(alerts, { channel: "sms", doubleOptIn: true });
		const { id } = await seedLead(email, [
			{ event: "Subscribe", topic: kids },
			{ event: "Subscribe", topic: pets },
			{ event: "Subscribe", topic: alerts },
		]);
		const token = await confirmToken({ contactId: id }, { channel: "email", campaign: "welcome" });
		const page = await (await visit("GET", `/c/${token}`)).text();
		expect(page).toContain(`<li>${kids}</li>`);
		expect(page).toContain(`<li>${pets}</li>`);
		expect(page).not.toContain(alerts);

		expect((await submit(`/c/${token}`, [])).status).toBe(200);
		const consent = await consentOf(id);
		expect(consent.topics[kids].status).toBe("subscribed");
		expect(consent.topics[pets].status).toBe("subscribed");
		expect(consent.topics[alerts].status).toBe("pending");
		expect((await ledgerOf(id)).at(-1)).toMatchObject({
			event: "Confirm Subscription",
			channel: "email",
			topic: null,
			source: "confirmation_page",
			campaign: "welcome",
		});
	});

	it("says when there is nothing to confirm, and confirms nothing", async () => {
		const email = uniqueEmail();
		const token = await confirmToken({ email, businessUnit: "default" });
		expect(await (await visit("GET", `/c/${token}`)).text()).toContain(
			"There is nothing waiting for your confirmation.",
		);
		expect((await visit("POST", `/c/${token}`)).status).toBe(200);
		expect(await contactIdByEmail(email)).toBeNull();
	});

	it("speaks German for a German business unit", async () => {
		const email = uniqueEmail();
		const kids = unique("kids");
		await putTopic(kids, { channel: "email", doubleOptIn: true });
		const { id } = await seedLead(email, [{ event: "Subscribe", topic: kids }], "at");
		const token = await confirmToken({ contactId: id }, { topic: kids });
		const html = await (await visit("GET", `/c/${token}`)).text();
		expect(html).toContain('<html lang="de">');
		expect(html).toContain("Bestätigen Sie Ihr Abonnement");
		expect(await (await visit("POST", `/c/${token}`)).text()).toContain("Ihr Abonnement ist bestätigt");
	});
});
