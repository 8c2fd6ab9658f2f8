import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { contentSecurityPolicy } from "../../../src/web/common/csp";
import { LOCALES } from "../../../src/web/common/i18n";
import { api, BASE, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";
import { countH1, expectPageHeaders, ledgerOf, manageToken, seedLead } from "./page-helpers";

const LOGO = "https://cdn.shop.example/brand/logo.svg";

/** The worker with BRANDING set (a fresh env object gets its own parsed config). */
const branded = {
	...env,
	BRANDING: JSON.stringify({
		"brand-de": { name: "Shop DE", logoUrl: LOGO, accent: "#0a7d4f" },
		"brand-pl": { name: "Sklep PL", accent: "#ffcc00" },
		"*": { name: "Shop" },
	}),
	BUSINESS_UNIT_LOCALES: JSON.stringify({ "brand-de": "de", "brand-pl": "pl" }),
};
const app = createApp();

function visit(method: string, path: string, headers: Record<string, string> = {}, body?: BodyInit) {
	return app.fetch(
		new Request(`${BASE}${path}`, { method, headers, body, redirect: "manual" }),
		branded as never,
		{ waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as never,
	);
}

async function seedUser(businessUnit: string, options: { phone?: string } = {}) {
	const externalId = unique("brand-user");
	const email = `${unique("zoe")}@xn--bcher-kva.example`;
	const response = await api("PUT", `/v1/users/${externalId}`, {
		body: { email, businessUnit, ...(options.phone ? { phone: options.phone } : {}) },
	});
	expect(response.status).toBeLessThan(300);
	return { externalId, email };
}

describe("branding per business unit", () => {
	it("names the sender, shows its logo and colours, and the CSP allows that logo's origin only", async () => {
		const { externalId } = await seedUser("brand-de");
		const token = await manageToken({ externalId }, { channel: "email" });
		for (const path of [`/u/${token}`, `/p/${token}`]) {
			const response = await visit("GET", path);
			expect(response.status).toBe(200);
			expectPageHeaders(response);
			expect(response.headers.get("content-security-policy")).toBe(contentSecurityPolicy("https://cdn.shop.example"));
			const html = await response.text();
			expect(html).toContain('<span class="brand-name">Shop DE</span>');
			expect(html).toContain(`<img class="brand-logo" src="${LOGO}" alt="" height="40" referrerpolicy="no-referrer"/>`);
			expect(html).toContain('<link rel="stylesheet" href="/assets/theme/0a7d4f.css"/>');
			expect(countH1(html)).toBe(1);
		}

		const css = await visit("GET", "/assets/theme/0a7d4f.css");
		expect(css.status).toBe(200);
		expect(css.headers.get("content-type")).toMatch(/^text\/css/);
		expect(css.headers.get("cache-control")).toContain("immutable");
		expect(await css.text()).toContain("--button: #0a7d4f;");
		expect((await visit("GET", "/assets/theme/red.css")).status).toBe(404);
	});

	it("falls back to the * entry, and without a logo keeps the service's CSP", async () => {
		const { externalId } = await seedUser(unique("brand-other"));
		const response = await visit("GET", `/u/${await manageToken({ externalId })}`);
		expect(response.headers.get("content-security-policy")).toBe(contentSecurityPolicy());
		const html = await response.text();
		expect(html).toContain('<span class="brand-name">Shop</span>');
		expect(html).not.toContain("<img");
		expect(html).not.toContain("/assets/theme/");
	});

	it("without BRANDING names the service's host", async () => {
		const email = uniqueEmail();
		const token = await manageToken({ email, businessUnit: "default" });
		// The worker as wrangler.toml configures it: no BRANDING.
		const html = await (await exports.default.fetch(new Request(`${BASE}/p/${token}`))).text();
		expect(html).toContain('<span class="brand-name">consent.example.test</span>');
	});

	it("brands the error page of a link whose business unit is known", async () => {
		const token = await manageToken({ email: uniqueEmail(), businessUnit: "brand-pl" }, { topic: unique("gone") });
		const response = await visit("GET", `/u/${token}`);
		expect(response.status).toBe(404);
		const html = await response.text();
		expect(html).toContain('<html lang="pl">');
		expect(html).toContain('<span class="brand-name">Sklep PL</span>');
		expect(html).toContain('<link rel="stylesheet" href="/assets/theme/ffcc00.css"/>');
	});
});

describe("the address the link is for, masked", () => {
	it("shows the email of an externalId link (in Unicode), never the externalId", async () => {
		const { externalId, email } = await seedUser("brand-de");
		const html = await (await visit("GET", `/u/${await manageToken({ externalId })}`)).text();
		expect(html).toContain(`Dieser Link gilt für ${email[0]}•••@bücher.example.`);
		expect(html).not.toContain(externalId);
		expect(html).not.toContain(email);
	});

	it("shows the phone for an SMS link, and the lead's own address for an address link", async () => {
		const phone = uniquePhone();
		const { externalId } = await seedUser(unique("brand-sms"), { phone });
		const sms = await (await visit("GET", `/p/${await manageToken({ externalId }, { channel: "sms" })}`)).text();
		expect(sms).toContain(`This link is for +49•••••${phone.slice(-2)}.`);
		expect(sms).not.toContain(phone);

		const email = uniqueEmail();
		const lead = await (await visit("GET", `/u/${await manageToken({ email, businessUnit: "default" })}`)).text();
		expect(lead).toContain(`This link is for ${email[0]}•••@example.de.`);
	});
});

describe("languages and the language switch", () => {
	it("links to the page in every language, keeping the token, with lang and hreflang", async () => {
		const { externalId } = await seedUser(unique("brand-lang"));
		const token = await manageToken({ externalId }, { channel: "email" });
		const html = await (await visit("GET", `/u/${token}`, { "accept-language": "en" })).text();
		expect(html).toContain('<nav class="languages" aria-label="Language">');
		for (const locale of LOCALES) {
			expect(html).toContain(`<a href="/u/${token}?lang=${locale}" lang="${locale}" hreflang="${locale}"`);
		}
		expect(html).toContain('hreflang="en" aria-current="true">English</a>');
	});

	it("?lang= wins over the business unit and Accept-Language, and stays on the form and links", async () => {
		const email = uniqueEmail();
		const kids = unique("kids");
		await putTopic(kids, { channel: "email", businessUnit: "brand-de" });
		const { id } = await seedLead(email, [{ event: "Subscribe", topic: kids }], "brand-de");
		const token = await manageToken({ contactId: id }, { topic: kids });
		const before = await ledgerOf(id);

		const page = await visit("GET", `/u/${token}?lang=fr`, { "accept-language": "es" });
		const html = await page.text();
		expect(html).toContain('<html lang="fr">');
		expect(html).toContain(`Vous ne recevrez plus «\u00a0${kids}\u00a0».`);
		expect(html).toContain(`<form method="post" action="/u/${token}?lang=fr"`);
		expect(html).toContain(`href="/p/${token}?lang=fr"`);
		expect((await visit("HEAD", `/u/${token}?lang=pl`)).status).toBe(200);
		expect(await ledgerOf(id)).toEqual(before);

		const done = await visit(
			"POST",
			`/u/${token}?lang=fr`,
			{ "content-type": "application/x-www-form-urlencoded" },
			new URLSearchParams({ action: "unsubscribe" }),
		);
		const doneHtml = await done.text();
		expect(doneHtml).toContain("<h1>Votre désabonnement est enregistré</h1>");
		expect(doneHtml).toContain(`<form method="post" action="/u/${token}?lang=fr"`);

		// An unknown language is ignored: the business unit's (German) holds.
		expect(await (await visit("GET", `/u/${token}?lang=xx`)).text()).toContain('<html lang="de">');
	});

	it("follows Accept-Language with q-values for a unit without a locale", async () => {
		const { externalId } = await seedUser(unique("brand-q"));
		const token = await manageToken({ externalId });
		const html = await (await visit("GET", `/p/${token}`, { "accept-language": "fr;q=0.4, pl;q=0.9, ja" })).text();
		expect(html).toContain('<html lang="pl">');
		expect(html).toContain("<h1>Państwa subskrypcje</h1>");
	});

	it("the sign-up answer page is branded, in the unit's language, without a switch or an address", async () => {
		const response = await visit(
			"POST",
			"/subscribe",
			{ "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": "203.0.113.77" },
			new URLSearchParams({ email: uniqueEmail(), businessUnit: "brand-pl" }),
		);
		expect(response.status).toBe(400);
		const html = await response.text();
		expect(html).toContain('<html lang="pl">');
		expect(html).toContain('<span class="brand-name">Sklep PL</span>');
		expect(html).toContain("Prosimy wybrać co najmniej jedną subskrypcję.");
		expect(html).not.toContain('class="languages"');
		expect(html).not.toContain("•••");
	});
});
