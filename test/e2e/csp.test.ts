import { expect, it } from "vitest";
import type { DomWindow } from "./dom";
import { axeViolations, describeE2e, expectPage, linksFor, openPage, seedUser, unique, useBrowser } from "./support";

// Every browser test ends with `expect(watcher.problems).toEqual([])`: no console error, no CSP
// violation, no page error, no failed request on any page. This checks that the watcher would see one.
describeE2e("the strict Content-Security-Policy in Chromium", () => {
	const browser = useBrowser();

	it("blocks an inline script, and the watcher reports it", async () => {
		const user = await seedUser(unique("e2e-csp"), []);
		const { unsubscribeUrl } = await linksFor(user.externalId, { channel: "email" });
		const { page, watcher } = await openPage(browser());
		await expectPage(page, await page.goto(unsubscribeUrl));
		expect(watcher.problems).toEqual([]);

		// What an injected <script> would do (the evaluation itself runs outside the page's CSP).
		await page.evaluate(() => {
			const { document } = globalThis as unknown as DomWindow;
			const script = document.createElement("script");
			script.textContent = "globalThis.injected = true;";
			document.head.append(script);
		});
		await expect
			.poll(() => watcher.problems.join("\n"), { timeout: 5_000 })
			.toMatch(/Content Security Policy|CSP violation/);
		expect(await page.evaluate(() => (globalThis as unknown as { injected?: boolean }).injected)).toBeUndefined();
	});

	// Every page's axe-core check expects no violation; this checks that it would see one, on a
	// page under the same CSP (axe is evaluated through the DevTools protocol, not injected).
	it("axe-core runs under the page's CSP and reports a page's violations", async () => {
		const user = await seedUser(unique("e2e-axe"), []);
		const { unsubscribeUrl } = await linksFor(user.externalId, { channel: "email" });
		const { page, watcher } = await openPage(browser());
		await expectPage(page, await page.goto(unsubscribeUrl));
		expect(await axeViolations(page)).toEqual([]);

		await page.evaluate(() => {
			const { document } = globalThis as unknown as DomWindow;
			document.documentElement.removeAttribute("lang");
			document.documentElement.querySelector('label[for="comment"]')?.remove();
		});
		const rules = (await axeViolations(page)).map((violation) => violation.rule.split(" ")[0]);
		expect(rules).toEqual(expect.arrayContaining(["html-has-lang", "label"]));
		expect(watcher.problems).toEqual([]);
	});
});
