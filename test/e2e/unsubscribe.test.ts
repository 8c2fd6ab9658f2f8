import { expect, it } from "vitest";
import {
	capture,
	describeE2e,
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

describeE2e("unsubscribe page /u/{token} in Chromium", () => {
	const browser = useBrowser();

	it("a channel link: pick a reason, type a comment, unsubscribe, then undo; the ledger holds both", async () => {
		const businessUnit = unique("e2e-unsub");
		const kids = unique("kids");
		await putTopic(kids, businessUnit, { name: "Kids newsletter", description: "Ideas for children, once a month." });
		const user = await seedUser(businessUnit, [
			{ event: "Opt In", channel: "email" },
			{ event: "Subscribe", topic: kids },
		]);
		const campaign = unique("spring-sale");
		const { unsubscribeUrl } = await linksFor(user.externalId, { channel: "email", campaign });
		const ledgerBefore = await historyOf(user.externalId);

		const { page, watcher } = await openPage(browser());
		await expectPage(page, await page.goto(unsubscribeUrl));
		await expect(page.title()).resolves.toBe("Unsubscribe");
		expect(await text(page.locator("main"))).toContain("You will no longer receive any emails from us.");
		await capture(page, "unsubscribe");
		// Opening the page (as every mail scanner does) changed nothing.
		expect(await historyOf(user.externalId)).toEqual(ledgerBefore);
		expect((await getUser(user.externalId)).consent.channels.email?.optedOut ?? false).toBe(false);

		await page.getByLabel("I get too many messages", { exact: true }).check();
		await page.getByLabel("Anything else you want to tell us? (optional)").click();
		await page.keyboard.type("Once a month would be fine.");
		const done = await navigation(page, () => page.getByRole("button", { name: "Unsubscribe", exact: true }).click());
		await expectPage(page, done);
		expect(await heading(page)).toBe("You are unsubscribed");
		expect(await text(page.getByRole("status"))).toBe("You will no longer receive any emails from us.");
		await capture(page, "unsubscribe-done");

		expect((await getUser(user.externalId)).consent.channels.email?.optedOut).toBe(true);
		const afterUnsubscribe = await historyOf(user.externalId);
		expect(afterUnsubscribe).toHaveLength(ledgerBefore.length + 1);
		const unsubscribe = afterUnsubscribe.at(-1);
		expect(unsubscribe).toMatchObject({
			event: "Opt Out",
			channel: "email",
			topic: null,
			changed: true,
			source: "unsubscribe_page",
			reason: "too_many",
			feedback: "Once a month would be fine.",
			campaign,
			properties: { reason: "too_many", comment: "Once a month would be fine." },
		});
		expect(unsubscribe?.userAgent).toContain("Chrome");

		const undone = await navigation(page, () => page.getByRole("button", { name: "Undo and stay subscribed" }).click());
		await expectPage(page, undone);
		expect(await heading(page)).toBe("You are subscribed again");
		expect(await text(page.getByRole("status"))).toBe("Your unsubscribe has been undone.");
		await capture(page, "undo-done");

		const consent = (await getUser(user.externalId)).consent;
		expect(consent.channels.email?.optedOut ?? false).toBe(false);
		expect(consent.topics[kids]?.status).toBe("subscribed");
		const afterUndo = await historyOf(user.externalId);
		expect(afterUndo).toHaveLength(ledgerBefore.length + 2);
		expect(afterUndo.at(-2)).toEqual(unsubscribe);
		expect(afterUndo.at(-1)).toMatchObject({
			event: "Opt In",
			channel: "email",
			changed: true,
			source: "unsubscribe_page",
			campaign,
		});

		// The way on to the preference center works from here.
		await expectPage(
			page,
			await navigation(page, () => page.getByRole("link", { name: "Manage all your subscriptions" }).click()),
		);
		expect(await heading(page)).toBe("Your subscriptions");
		await expect(page.getByLabel("Kids newsletter", { exact: true }).isChecked()).resolves.toBe(true);

		expect(watcher.problems).toEqual([]);
	});

	it("a topic link unsubscribes that topic only, and undo subscribes it again", async () => {
		const businessUnit = unique("e2e-unsub");
		const kids = unique("kids");
		const pets = unique("pets");
		await putTopic(kids, businessUnit, { name: "Kids newsletter" });
		await putTopic(pets, businessUnit, { name: "Pet offers" });
		const user = await seedUser(businessUnit, [
			{ event: "Subscribe", topic: kids },
			{ event: "Subscribe", topic: pets },
		]);
		const { unsubscribeUrl } = await linksFor(user.externalId, { topic: kids });

		const { page, watcher } = await openPage(browser());
		await expectPage(page, await page.goto(unsubscribeUrl));
		expect(await text(page.locator("main"))).toContain("You will no longer receive “Kids newsletter”.");
		await capture(page, "unsubscribe-topic");

		await page.getByLabel("Another reason", { exact: true }).check();
		await page.getByLabel("Anything else you want to tell us? (optional)").click();
		await page.keyboard.type("Too much about toddlers.");
		await expectPage(
			page,
			await navigation(page, () => page.getByRole("button", { name: "Unsubscribe", exact: true }).click()),
		);
		expect(await text(page.getByRole("status"))).toBe("You will no longer receive “Kids newsletter”.");
		let consent = (await getUser(user.externalId)).consent;
		expect(consent.topics[kids]?.status).toBe("unsubscribed");
		expect(consent.topics[pets]?.status).toBe("subscribed");
		expect(consent.channels.email?.optedOut ?? false).toBe(false);
		expect((await historyOf(user.externalId)).at(-1)).toMatchObject({
			event: "Unsubscribe",
			topic: kids,
			source: "unsubscribe_page",
			reason: "other",
			feedback: "Too much about toddlers.",
		});

		await expectPage(
			page,
			await navigation(page, () => page.getByRole("button", { name: "Undo and stay subscribed" }).click()),
		);
		expect(await heading(page)).toBe("You are subscribed again");
		consent = (await getUser(user.externalId)).consent;
		expect(consent.topics[kids]?.status).toBe("subscribed");
		expect((await historyOf(user.externalId)).at(-1)).toMatchObject({
			event: "Confirm Subscription",
			topic: kids,
			source: "unsubscribe_page",
			changed: true,
		});

		expect(watcher.problems).toEqual([]);
	});
});
