import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import { LOCALE_NAMES } from "../../src/web/common/i18n";
import { E2E_BRAND } from "./brand";
import type { DomElement, DomWindow } from "./dom";
import {
	capture,
	describeE2e,
	expectNoAxeViolations,
	expectPage,
	heading,
	linksFor,
	navigation,
	openPage,
	putTopic,
	seedUser,
	text,
	unique,
	useBrowser,
} from "./support";

/** The logo, as its host would answer. */
const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect width="120" height="40" rx="6" fill="#1b1f24"/><circle cx="20" cy="20" r="10" fill="#ffcc00"/><rect x="38" y="14" width="70" height="12" rx="3" fill="#ffffff"/></svg>`;

const computed = (page: Page, selector: string) =>
	page
		.locator(selector)
		.first()
		.evaluate((element) => {
			const style = (globalThis as unknown as DomWindow).getComputedStyle(element) as unknown as {
				color: string;
				backgroundColor: string;
			};
			return { color: style.color, background: style.backgroundColor };
		});

describeE2e("a branded business unit in Chromium", () => {
	const browser = useBrowser();

	it("names the sender, loads its logo under the page's CSP, and keeps text readable on its light accent", async () => {
		const kids = unique("kids");
		await putTopic(kids, E2E_BRAND.businessUnit, { name: "Newsletter dla dzieci" });
		const user = await seedUser(E2E_BRAND.businessUnit, [{ event: "Subscribe", topic: kids }]);
		const links = await linksFor(user.externalId, { channel: "email" });

		const { context, page, watcher } = await openPage(browser(), "en-US");
		let logoRequests = 0;
		await context.route(E2E_BRAND.logoUrl, (route) => {
			logoRequests++;
			return route.fulfill({ status: 200, contentType: "image/svg+xml", body: LOGO_SVG });
		});

		const response = await page.goto(links.unsubscribeUrl);
		await expectPage(page, response);
		// The unit's language (Polish) over the browser's English.
		expect(await heading(page)).toBe("Rezygnacja z subskrypcji");
		expect(await text(page.locator(".brand-name"))).toBe(E2E_BRAND.name);
		// Only the logo's origin is added to the policy, over https.
		const csp = (await response?.allHeaders())?.["content-security-policy"] ?? "";
		expect(csp).toContain(`img-src 'self' data: ${E2E_BRAND.logoOrigin};`);
		expect(csp).toContain("default-src 'none'");
		const logo = page.locator("img.brand-logo");
		await expect
			.poll(() =>
				logo.evaluate((image) => {
					const { complete, naturalWidth } = image as unknown as DomElement & {
						complete: boolean;
						naturalWidth: number;
					};
					return complete && naturalWidth > 0;
				}),
			)
			.toBe(true);
		expect(logoRequests).toBe(1);
		expect(await logo.getAttribute("alt")).toBe("");

		// The accent as configured on the button, with black text (white would not reach 4.5:1 on yellow).
		expect(await computed(page, "button[type=submit]")).toEqual({
			color: "rgb(0, 0, 0)",
			background: "rgb(255, 204, 0)",
		});
		await expectNoAxeViolations(page, "branded unsubscribe page");
		await capture(page, "brand-unsubscribe-pl");

		// The language switch keeps the branding and the token.
		await expectPage(
			page,
			await navigation(page, () =>
				page.getByRole("navigation", { name: "Język" }).getByRole("link", { name: LOCALE_NAMES.de }).click(),
			),
		);
		expect(new URL(page.url()).searchParams.get("lang")).toBe("de");
		expect(await heading(page)).toBe("Abmelden");
		expect(await text(page.locator(".brand-name"))).toBe(E2E_BRAND.name);

		await expectPage(page, await page.goto(links.preferencesUrl));
		await expectNoAxeViolations(page, "branded preference center");
		await capture(page, "brand-preferences-pl");

		expect(watcher.problems).toEqual([]);
	});
});
