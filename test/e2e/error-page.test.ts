import { expect, it } from "vitest";
import {
	capture,
	describeE2e,
	expectPage,
	getUser,
	heading,
	historyOf,
	linksFor,
	openPage,
	putTopic,
	seedUser,
	tamper,
	text,
	unique,
	useBrowser,
} from "./support";

describeE2e("bad links in Chromium", () => {
	const browser = useBrowser();

	it("a tampered token shows the friendly error page (400) on /u, /p and /c, and changes nothing", async () => {
		const businessUnit = unique("e2e-error");
		const digest = unique("digest");
		await putTopic(digest, businessUnit, { name: "Weekly digest", doubleOptIn: true });
		const user = await seedUser(businessUnit, [{ event: "Subscribe", topic: digest }]);
		const links = await linksFor(user.externalId, { channel: "email" });
		const confirmUrl = user.confirmations[0]?.confirmUrl as string;
		const ledgerBefore = await historyOf(user.externalId);

		const { page, watcher } = await openPage(browser());
		const urls = [tamper(links.unsubscribeUrl), tamper(links.preferencesUrl), tamper(confirmUrl)];
		for (const url of urls) {
			watcher.expectStatus(url);
			await expectPage(page, await page.goto(url), 400);
			await expect(page.title()).resolves.toBe("This link does not work");
			expect(await heading(page)).toBe("This link does not work");
			expect(await text(page.getByRole("alert"))).toBe(
				"The link is incomplete or was changed. Please use the link from your most recent message.",
			);
			await expect(page.getByRole("button").count()).resolves.toBe(0);
			expect(await page.content()).not.toMatch(/Error:|at .*\.(ts|js):\d+/);
		}
		await capture(page, "error");

		// A URL that is not even a token: the same page.
		const garbage = `${new URL(links.unsubscribeUrl).origin}/u/not-a-token`;
		watcher.expectStatus(garbage);
		await expectPage(page, await page.goto(garbage), 400);

		expect(await historyOf(user.externalId)).toEqual(ledgerBefore);
		expect((await getUser(user.externalId)).consent.topics[digest]?.status).toBe("pending");
		expect(watcher.problems).toEqual([]);
	});
});
