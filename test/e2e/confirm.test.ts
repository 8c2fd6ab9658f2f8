import { expect, it } from "vitest";
import {
	baseUrl,
	capture,
	describeE2e,
	expectPage,
	getUser,
	heading,
	historyOf,
	navigation,
	openPage,
	putTopic,
	seedUser,
	text,
	unique,
	useBrowser,
} from "./support";

describeE2e("double-opt-in confirmation /c/{token} in Chromium", () => {
	const browser = useBrowser();

	it("opening the link confirms nothing; the button does; the topic is then subscribed", async () => {
		const businessUnit = unique("e2e-confirm");
		const digest = unique("digest");
		await putTopic(digest, businessUnit, { name: "Weekly digest", doubleOptIn: true });
		const user = await seedUser(businessUnit, [{ event: "Subscribe", topic: digest }]);
		const confirmUrl = user.confirmations.find((confirmation) => confirmation.topic === digest)?.confirmUrl;
		expect(confirmUrl?.startsWith(`${baseUrl()}/c/`)).toBe(true);
		expect((await getUser(user.externalId)).consent.topics[digest]?.status).toBe("pending");
		const ledgerBefore = await historyOf(user.externalId);

		const { page, watcher } = await openPage(browser());
		await expectPage(page, await page.goto(confirmUrl as string));
		expect(await heading(page)).toBe("Confirm your subscription");
		expect(await page.getByRole("main").getByRole("listitem").allTextContents()).toEqual(["Weekly digest"]);
		await expect(page.getByRole("button", { name: "Confirm subscription" }).isVisible()).resolves.toBe(true);
		await capture(page, "confirm");
		// A real browser with everything loaded (what a scanner that runs pages does): still pending.
		await page.waitForLoadState("networkidle");
		expect((await getUser(user.externalId)).consent.topics[digest]?.status).toBe("pending");
		expect(await historyOf(user.externalId)).toEqual(ledgerBefore);

		const confirmed = await navigation(page, () => page.getByRole("button", { name: "Confirm subscription" }).click());
		await expectPage(page, confirmed);
		expect(await heading(page)).toBe("Your subscription is confirmed");
		expect(await text(page.getByRole("status"))).toContain("Weekly digest");
		await capture(page, "confirmed");

		const { consent } = await getUser(user.externalId);
		expect(consent.topics[digest]?.status).toBe("subscribed");
		expect(consent.channels.email?.optedOut ?? false).toBe(false);
		expect((await historyOf(user.externalId)).at(-1)).toMatchObject({
			event: "Confirm Subscription",
			topic: digest,
			source: "confirmation_page",
			changed: true,
		});

		// The confirmed page leads to the preference center, where the topic is now ticked.
		await expectPage(
			page,
			await navigation(page, () => page.getByRole("link", { name: "Manage all your subscriptions" }).click()),
		);
		await expect(page.getByLabel("Weekly digest", { exact: true }).isChecked()).resolves.toBe(true);
		// And the confirmation link, opened again, says there is nothing left to do.
		await expectPage(page, await page.goto(confirmUrl as string));
		expect(await text(page.getByRole("status"))).toBe("Your subscription is already confirmed.");
		await expect(page.getByRole("button").count()).resolves.toBe(0);

		expect(watcher.problems).toEqual([]);
	});
});
