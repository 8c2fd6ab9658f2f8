import type { Locator, Page } from "playwright-core";
import { expect, it } from "vitest";
import { LOCALES } from "../../src/web/common/i18n";
import type { DomWindow } from "./dom";
import {
	describeE2e,
	expectNoHorizontalScroll,
	expectPage,
	heading,
	historyOf,
	linksFor,
	navigation,
	openPage,
	PHONE,
	putTopic,
	seedUser,
	tamper,
	text,
	unique,
	useBrowser,
} from "./support";

const lang = (page: Page) => page.evaluate(() => (globalThis as unknown as DomWindow).document.documentElement.lang);

/**
 * Every visible form control of the page has a <label>, and getByLabel (the accessible name, as a
 * screen reader announces it) with that label's text finds exactly that control; buttons have names.
 */
async function expectLabelledControls(page: Page) {
	const controls = await page.locator("main").evaluate((main) => {
		const { CSS } = globalThis as unknown as DomWindow;
		return [...main.querySelectorAll("input:not([type=hidden]), textarea, select")].map((control) => ({
			id: control.id,
			label: control.id ? (main.querySelector(`label[for="${CSS.escape(control.id)}"]`)?.textContent ?? "").trim() : "",
		}));
	});
	for (const control of controls) {
		expect(control.label, `a <label> for #${control.id}`).not.toBe("");
		const found = page.getByLabel(control.label, { exact: true });
		expect(await found.count(), control.label).toBe(1);
		expect(await found.getAttribute("id")).toBe(control.id);
	}
	for (const button of await page.getByRole("button").all()) {
		expect(await text(button)).not.toBe("");
	}
	return controls.length;
}

const isFocused = (locator: Locator) =>
	locator.evaluate((element) => (globalThis as unknown as DomWindow).document.activeElement === element);

/** Presses Tab from the top of the page until the target has the focus; returns the number of presses. */
async function tabTo(page: Page, target: Locator, max = 40): Promise<number> {
	for (let presses = 1; presses <= max; presses++) {
		await page.keyboard.press("Tab");
		if (await isFocused(target)) return presses;
	}
	throw new Error(`Tab did not reach the target in ${max} presses`);
}

/** The keyboard focus is visible on the element (the stylesheet's 3px outline). */
async function expectFocusRing(target: Locator) {
	const outline = await target.evaluate((element) => {
		const style = (globalThis as unknown as DomWindow).getComputedStyle(element);
		return `${style.outlineStyle} ${style.outlineWidth}`;
	});
	expect(outline).toBe("solid 3px");
}

describeE2e("accessibility basics in Chromium", () => {
	const browser = useBrowser();

	it("labels, lang, Tab to the submit button and no sideways scroll on every page with a form", async () => {
		const businessUnit = unique("e2e-a11y");
		const kids = unique("kids");
		const digest = unique("digest");
		await putTopic(kids, businessUnit, { name: "Kids newsletter", description: "Ideas for children, once a month." });
		await putTopic(digest, businessUnit, { name: "Weekly digest", doubleOptIn: true });
		const user = await seedUser(businessUnit, [
			{ event: "Subscribe", topic: kids },
			{ event: "Subscribe", topic: digest },
		]);
		const links = await linksFor(user.externalId, { channel: "email" });
		const confirmUrl = user.confirmations[0]?.confirmUrl as string;

		const { page, watcher } = await openPage(browser());
		const pages = [
			{ url: links.unsubscribeUrl, button: "Unsubscribe", controls: 5 },
			{ url: links.preferencesUrl, button: "Save choices", controls: 3 },
			{ url: confirmUrl, button: "Confirm subscription", controls: 0 },
		];
		for (const { url, button, controls } of pages) {
			await page.setViewportSize(PHONE);
			await expectPage(page, await page.goto(url));
			expect(await lang(page)).toBe("en");
			expect(await expectLabelledControls(page)).toBe(controls);
			const submit = page.getByRole("button", { name: button, exact: true });
			await tabTo(page, submit);
			await expectFocusRing(submit);
			await expectNoHorizontalScroll(page);
		}

		// The unsubscribe page's answer: its undo button is reachable too.
		await expectPage(page, await page.goto(links.unsubscribeUrl));
		await expectPage(
			page,
			await navigation(page, () => page.getByRole("button", { name: "Unsubscribe", exact: true }).click()),
		);
		await tabTo(page, page.getByRole("button", { name: "Undo and stay subscribed" }));
		await expectNoHorizontalScroll(page);

		expect(watcher.problems).toEqual([]);
	});

	it("the unsubscribe form by keyboard alone, in German from the business unit's locale", async () => {
		const kids = unique("kids");
		await putTopic(kids, "de", { name: "Kinder-Newsletter" });
		const user = await seedUser("de", [{ event: "Subscribe", topic: kids }]);
		const { unsubscribeUrl } = await linksFor(user.externalId, { topic: kids });

		// The browser asks for English; the business unit "de" is configured German (BUSINESS_UNIT_LOCALES).
		const { page, watcher } = await openPage(browser(), "en-US");
		await expectPage(page, await page.goto(unsubscribeUrl));
		expect(await lang(page)).toBe("de");
		await expect(page.title()).resolves.toBe("Abmelden");
		expect(await expectLabelledControls(page)).toBe(5);

		// First the language switch (a link per language, "Sprache"), then the form.
		const languages = page.getByRole("navigation", { name: "Sprache" }).getByRole("link");
		expect(await languages.count()).toBe(LOCALES.length);
		expect(await tabTo(page, page.getByLabel("Ich bekomme zu viele Nachrichten"))).toBe(LOCALES.length + 1);
		await page.keyboard.press("ArrowDown");
		const notRelevant = page.getByLabel("Die Inhalte interessieren mich nicht");
		expect(await isFocused(notRelevant)).toBe(true);
		expect(await notRelevant.isChecked()).toBe(true);
		await page.keyboard.press("Tab");
		expect(await isFocused(page.getByLabel("Möchten Sie uns noch etwas mitteilen? (optional)"))).toBe(true);
		await page.keyboard.type("Zu viele Mails über Bastelideen.");
		await page.keyboard.press("Tab");
		const submit = page.getByRole("button", { name: "Abmelden", exact: true });
		expect(await isFocused(submit)).toBe(true);
		await expectFocusRing(submit);
		await expectPage(page, await navigation(page, () => page.keyboard.press("Enter")));
		expect(await heading(page)).toBe("Sie wurden abgemeldet");

		expect((await historyOf(user.externalId)).at(-1)).toMatchObject({
			event: "Unsubscribe",
			topic: kids,
			source: "unsubscribe_page",
			reason: "not_relevant",
			feedback: "Zu viele Mails über Bastelideen.",
		});
		expect(watcher.problems).toEqual([]);
	});

	it("German from Accept-Language for a business unit without a configured locale", async () => {
		const businessUnit = unique("e2e-a11y-de");
		const kids = unique("kids");
		const digest = unique("digest");
		await putTopic(kids, businessUnit, {
			name: "Kinder-Newsletter",
			description: "Bastelideen und Angebote für Kinder, einmal im Monat.",
		});
		await putTopic(digest, businessUnit, { name: "Wochenrückblick", doubleOptIn: true });
		const user = await seedUser(businessUnit, [
			{ event: "Subscribe", topic: kids },
			{ event: "Subscribe", topic: digest },
		]);
		const links = await linksFor(user.externalId);

		const { page, watcher } = await openPage(browser(), "de-DE");
		await expectPage(page, await page.goto(links.preferencesUrl));
		expect(await lang(page)).toBe("de");
		await expect(page.title()).resolves.toBe("Ihre Abonnements");
		expect(await expectLabelledControls(page)).toBeGreaterThanOrEqual(3);
		await expect(page.getByLabel("Keine E-Mails mehr erhalten").isChecked()).resolves.toBe(false);
		await tabTo(page, page.getByRole("button", { name: "Auswahl speichern" }));

		await expectPage(page, await page.goto(user.confirmations[0]?.confirmUrl as string));
		expect(await lang(page)).toBe("de");
		await expect(page.getByRole("button", { name: "Abonnement bestätigen" }).isVisible()).resolves.toBe(true);

		const bad = tamper(links.unsubscribeUrl);
		watcher.expectStatus(bad);
		await expectPage(page, await page.goto(bad), 400);
		expect(await lang(page)).toBe("de");
		expect(await heading(page)).toBe("Dieser Link funktioniert nicht");

		expect(watcher.problems).toEqual([]);
	});
});
