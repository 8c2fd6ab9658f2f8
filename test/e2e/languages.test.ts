import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import { LinkSigner } from "../../src/links/token";
import { type Locale, translator } from "../../src/web/common/i18n";
import type { DomWindow } from "./dom";
import {
	baseUrl,
	capture,
	describeE2e,
	expectNoAxeViolations,
	expectPage,
	heading,
	linkSigningKeys,
	linksFor,
	navigation,
	openPage,
	putTopic,
	routeSignupForm,
	seedUser,
	tamper,
	text,
	unique,
	useBrowser,
} from "./support";

const lang = (page: Page) => page.evaluate(() => (globalThis as unknown as DomWindow).document.documentElement.lang);

/** The topics as an operator in each country would name them. */
const TOPIC_NAMES: Record<string, { kids: string; pets: string; digest: string }> = {
	en: { kids: "Kids newsletter", pets: "Pet offers", digest: "Weekly digest" },
	de: { kids: "Kinder-Newsletter", pets: "Tierangebote", digest: "Wochenrückblick" },
	pl: { kids: "Newsletter dla dzieci", pets: "Oferty dla zwierząt", digest: "Przegląd tygodnia" },
};

/** English screenshots of these states come from the pages' own tests (unsubscribe.test.ts, …). */
const CAPTURED_ELSEWHERE_IN_ENGLISH = new Set([
	"unsubscribe",
	"unsubscribe-done",
	"undo-done",
	"preferences",
	"preferences-saved",
	"confirm",
	"confirmed",
	"error",
]);

/** A confirmation link that expired yesterday, signed with the service's key as it would have been. */
async function expiredConfirmUrl(externalId: string, topic: string): Promise<string> {
	const signer = await LinkSigner.fromJson(linkSigningKeys());
	const now = Math.floor(Date.now() / 1000);
	const token = await signer.sign({
		purpose: "confirm",
		subject: { externalId },
		topic,
		issuedAt: now - 8 * 86_400,
		expiresAt: now - 86_400,
	});
	return `${baseUrl()}/c/${token}`;
}

/**
 * Every public page in every state, as a person whose browser asks for `locale` sees it: each is
 * checked with axe-core (WCAG 2.1 AA, no violation), in the right language, and photographed at
 * phone and desktop width (test/e2e/screenshots/STATE-LOCALE-{phone,desktop}.png; English without
 * the suffix).
 */
describeE2e("every public page in English, German and Polish: axe-core and screenshots", () => {
	const browser = useBrowser();

	for (const [locale, browserLocale] of [
		["en", "en-US"],
		["de", "de-DE"],
		["pl", "pl-PL"],
	] as Array<[Locale, string]>) {
		it(`${locale}: unsubscribe, one-click, preferences, confirmation, errors, sign-up`, {
			timeout: 300_000,
		}, async () => {
			const t = translator(locale);
			const names = TOPIC_NAMES[locale] as (typeof TOPIC_NAMES)["en"];
			const businessUnit = unique(`e2e-tour-${locale}`);
			const topics = { kids: unique("kids"), pets: unique("pets"), digest: unique("digest") };
			await putTopic(topics.kids, businessUnit, { name: names.kids });
			await putTopic(topics.pets, businessUnit, { name: names.pets });
			await putTopic(topics.digest, businessUnit, { name: names.digest, doubleOptIn: true });
			const user = await seedUser(businessUnit, [
				{ event: "Subscribe", topic: topics.kids },
				{ event: "Subscribe", topic: topics.digest },
			]);
			const links = await linksFor(user.externalId, { channel: "email" });
			const confirmUrl = user.confirmations[0]?.confirmUrl as string;

			const { page, watcher } = await openPage(browser(), browserLocale);
			const check = async (state: string, response: Awaited<ReturnType<Page["goto"]>>, status = 200) => {
				await expectPage(page, response, status);
				expect(await lang(page), state).toBe(locale);
				await expectNoAxeViolations(page, `${state} (${locale})`);
				if (locale !== "en" || !CAPTURED_ELSEWHERE_IN_ENGLISH.has(state)) {
					await capture(page, locale === "en" ? state : `${state}-${locale}`);
				}
			};
			const click = (name: string) => navigation(page, () => page.getByRole("button", { name, exact: true }).click());

			// /u: the page, its answer, the undo.
			await check("unsubscribe", await page.goto(links.unsubscribeUrl));
			expect(await text(page.locator("main"))).toContain(t("page.for", { address: `${user.email[0]}•••@example.de` }));
			await page.getByLabel(t("unsub.reason.too_many"), { exact: true }).check();
			await check("unsubscribe-done", await click(t("unsub.submit")));
			expect(await heading(page)).toBe(t("unsub.done.title"));
			await check("undo-done", await click(t("unsub.undo.submit")));
			expect(await heading(page)).toBe(t("unsub.undone.title"));

			// RFC 8058 one-click, as a mailbox provider posts it (the navigation made into that POST).
			await page.route(
				links.unsubscribeUrl,
				(route) =>
					route.continue({
						method: "POST",
						postData: "List-Unsubscribe=One-Click",
						headers: { ...route.request().headers(), "content-type": "application/x-www-form-urlencoded" },
					}),
				{ times: 1 },
			);
			await check("one-click", await page.goto(links.unsubscribeUrl));
			expect(await heading(page)).toBe(t("unsub.done.title"));

			// /p after the one-click: email stopped. A topic ticked under it is a conflict; opening the channel saves.
			await check("preferences", await page.goto(links.preferencesUrl));
			const stop = page.getByLabel(t("prefs.stopChannel", { messages: t("channelMessages.email") }), { exact: true });
			expect(await stop.isChecked()).toBe(true);
			await page.getByLabel(names.pets, { exact: true }).check();
			await check("preferences-conflict", await click(t("prefs.save")));
			expect(await page.getByRole("alert").count()).toBe(1);
			await page
				.getByLabel(t("prefs.stopChannel", { messages: t("channelMessages.email") }), { exact: true })
				.uncheck();
			await check("preferences-saved", await click(t("prefs.save")));
			expect(await text(page.getByRole("status"))).toBe(t("prefs.saved"));

			// /c: the confirmation and its answer.
			await check("confirm", await page.goto(confirmUrl));
			await check("confirmed", await click(t("confirm.submit")));
			expect(await heading(page)).toBe(t("confirm.done.title"));

			// Error pages: a changed link (400), an expired confirmation link (410).
			const changed = tamper(links.preferencesUrl);
			watcher.expectStatus(changed);
			await check("error", await page.goto(changed), 400);
			expect(await heading(page)).toBe(t("error.title"));
			const expired = await expiredConfirmUrl(user.externalId, topics.digest);
			watcher.expectStatus(expired);
			await check("error-expired", await page.goto(expired), 410);
			expect(await text(page.getByRole("alert"))).toBe(t("error.expired"));

			// The sign-up answer, posted by a form on a page of our own origin (answered by the test itself).
			const formUrl = `${baseUrl()}/e2e-signup-form`;
			await routeSignupForm(page, formUrl, {
				locale,
				fields: { businessUnit, topics: topics.kids },
				email: `${unique("signup")}@example.de`,
			});
			await page.goto(formUrl);
			await check(
				"signup-accepted",
				await navigation(page, () => page.getByRole("button", { name: "Sign up" }).click()),
				202,
			);
			expect(await heading(page)).toBe(t("signup.accepted.title"));

			// A sign-up that cannot be taken: the error answer (the layout the rate-limit, origin and
			// Turnstile answers share), here for an address that is not one.
			const badFormUrl = `${baseUrl()}/e2e-signup-form-bad`;
			await routeSignupForm(page, badFormUrl, {
				locale,
				fields: { businessUnit, topics: topics.kids },
				email: "not-an-address",
				type: "text",
			});
			await page.goto(badFormUrl);
			watcher.expectStatus(`${baseUrl()}/subscribe`);
			await check(
				"signup-invalid",
				await navigation(page, () => page.getByRole("button", { name: "Sign up" }).click()),
				400,
			);
			expect(await heading(page)).toBe(t("signup.invalid.title"));
			expect(await text(page.getByRole("alert"))).toBe(t("signup.invalid.email"));

			expect(watcher.problems).toEqual([]);
		});
	}
});
