import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import { type Locale, translator } from "../../src/web/common/i18n";
import type { DomWindow } from "./dom";
import { node } from "./node";
import {
	api,
	capture,
	describeE2e,
	expectNoAxeViolations,
	expectPage,
	getUser,
	heading,
	historyOf,
	linksFor,
	navigation,
	openPage,
	putTopic,
	seedUser,
	text,
	unique,
	useBrowser,
} from "./support";

const lang = (page: Page) => page.evaluate(() => (globalThis as unknown as DomWindow).document.documentElement.lang);

/** Whether the user still exists, as the API says. */
async function exists(externalId: string): Promise<boolean> {
	try {
		await getUser(externalId);
		return true;
	} catch (error) {
		expect(String(error)).toContain(": 404 ");
		return false;
	}
}

/**
 * The person's own record from the preference center: the download (a file, the API's contact and
 * ledger), and the erasure (a first click shows what it means, only the second erases). In English
 * and, through the language switch's `?lang=`, in German and Polish; each new page checked with axe-core
 * and photographed at phone and desktop width (test/e2e/screenshots/self-service-*.png).
 */
describeE2e("self-service from the preference center in Chromium", () => {
	const browser = useBrowser();

	for (const locale of ["en", "de", "pl"] as Locale[]) {
		it(`${locale}: download the record, then erase it with a second click`, async () => {
			const t = translator(locale);
			const suffix = locale === "en" ? "" : `-${locale}`;
			const businessUnit = unique(`e2e-self-${locale}`);
			const topic = unique("kids");
			const names: Partial<Record<Locale, string>> = {
				en: "Kids newsletter",
				de: "Kinder-Newsletter",
				pl: "Newsletter dla dzieci",
			};
			await putTopic(topic, businessUnit, { name: names[locale] as string });
			// Subscribed, then stopped all email: an erasure keeps the address suppressed.
			const user = await seedUser(businessUnit, [
				{ event: "Subscribe", topic },
				{ event: "Opt Out", channel: "email" },
			]);
			const { preferencesUrl } = await linksFor(user.externalId);
			const query = locale === "en" ? "" : `?lang=${locale}`;

			const { page, watcher } = await openPage(browser());
			const check = async (state: string, response: Awaited<ReturnType<Page["goto"]>>, status = 200) => {
				await expectPage(page, response, status);
				expect(await lang(page), state).toBe(locale);
				await expectNoAxeViolations(page, `${state} (${locale})`);
				await capture(page, `self-service-${state}${suffix}`);
			};

			await check("preferences", await page.goto(`${preferencesUrl}${query}`));
			const section = page.getByRole("region", { name: t("selfService.title") });
			expect(await text(section)).toContain(t("selfService.intro"));

			// The download: a file, not a page; the preference center stays.
			const [download] = await Promise.all([
				page.waitForEvent("download"),
				section.getByRole("link", { name: t("selfService.download"), exact: true }).click(),
			]);
			expect(download.suggestedFilename()).toMatch(/^consent-record-\d{4}-\d{2}-\d{2}\.json$/);
			const record = JSON.parse(node.readFileSync(await download.path(), "utf8"));
			expect(record.contact).toEqual(await getUser(user.externalId));
			expect(record.contact).toMatchObject({ externalId: user.externalId, email: user.email, businessUnit });
			expect(record.contact.consent.topics[topic].status).toBe("unsubscribed");
			const history = await api<{ events: unknown[] }>(
				"GET",
				`/v1/users/${encodeURIComponent(user.externalId)}/history?limit=1000`,
			);
			expect(record.ledger).toEqual(history.events);
			expect(record.ledger.map((row: { event: string }) => row.event)).toEqual(["Subscribe", "Opt Out"]);
			expect(await heading(page)).toBe(t("prefs.title"));
			const ledgerBefore = await historyOf(user.externalId);

			// First click: what erasure means, and nothing erased (a real browser with everything loaded).
			const erase = await navigation(page, () =>
				section.getByRole("link", { name: t("selfService.erase"), exact: true }).click(),
			);
			await check("erase", erase);
			expect(await heading(page)).toBe(t("selfService.confirm.title"));
			expect(await text(page.getByRole("main"))).toContain(t("selfService.confirm.suppression"));
			await page.waitForLoadState("networkidle");
			expect(await exists(user.externalId)).toBe(true);
			expect(await historyOf(user.externalId)).toEqual(ledgerBefore);

			// The same form posted from another site's page: refused, nothing erased.
			const eraseUrl = page.url();
			const foreign = "https://elsewhere.e2e.example/form";
			await page.route(foreign, (route) =>
				route.fulfill({
					contentType: "text/html; charset=utf-8",
					body: `<!doctype html><html lang="en"><title>Elsewhere</title><form method="post" action="${eraseUrl}">
						<button name="confirm" value="erase">Win a prize</button></form></html>`,
				}),
			);
			await page.goto(foreign);
			watcher.expectStatus(eraseUrl);
			await check(
				"refused",
				await navigation(page, () => page.getByRole("button", { name: "Win a prize" }).click()),
				403,
			);
			expect(await heading(page)).toBe(t("selfService.refused.title"));
			expect(await exists(user.externalId)).toBe(true);
			await expectPage(page, await page.goto(eraseUrl));

			// Second click: erased.
			const erased = await navigation(page, () =>
				page.getByRole("button", { name: t("selfService.confirm.submit"), exact: true }).click(),
			);
			await check("erased", erased);
			expect(await heading(page)).toBe(t("selfService.erased.title"));
			expect(await page.getByRole("status").locator("p").allTextContents()).toEqual([
				t("selfService.erased.text"),
				t("selfService.erased.suppressed"),
			]);
			expect(await exists(user.externalId)).toBe(false);
			const decision = await api("GET", `/v1/consent?email=${encodeURIComponent(user.email)}&channel=email`);
			expect(decision).toMatchObject({ allowed: false, reason: "suppressed" });

			// The link used again: nothing (left) to erase, said kindly.
			await check("nothing", await page.goto(page.url()));
			expect(await heading(page)).toBe(t("selfService.nothing.title"));
			await expect(page.getByRole("button").count()).resolves.toBe(0);

			expect(watcher.problems).toEqual([]);
		});
	}
});
