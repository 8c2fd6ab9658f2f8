import { expect, it } from "vitest";
import {
	capture,
	describeE2e,
	expectPage,
	getUser,
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

describeE2e("preference center /p/{token} in Chromium", () => {
	const browser = useBrowser();

	it("untick a subscribed topic, tick an unsubscribed one, save: shown, persisted after reload, in the API", async () => {
		const businessUnit = unique("e2e-prefs");
		const topics = { kids: unique("kids"), pets: unique("pets"), digest: unique("digest"), alerts: unique("alerts") };
		await putTopic(topics.kids, businessUnit, {
			name: "Kids newsletter",
			description: "Ideas and offers for children, once a month.",
		});
		await putTopic(topics.pets, businessUnit, { name: "Pet offers" });
		await putTopic(topics.digest, businessUnit, {
			name: "Weekly digest",
			description: "The week's best articles, every Friday.",
			doubleOptIn: true,
		});
		await putTopic(topics.alerts, businessUnit, { name: "Delivery alerts", channel: "sms" });
		const user = await seedUser(
			businessUnit,
			[
				{ event: "Subscribe", topic: topics.kids },
				{ event: "Subscribe", topic: topics.pets },
				{ event: "Subscribe", topic: topics.alerts },
			],
			{ phone: "+4917612345678" },
		);
		const { preferencesUrl } = await linksFor(user.externalId, { campaign: "prefs-e2e" });
		const ledgerBefore = await historyOf(user.externalId);

		const { page, watcher } = await openPage(browser());
		const box = (name: string) => page.getByLabel(name, { exact: true });
		await expectPage(page, await page.goto(preferencesUrl));
		await expect(page.title()).resolves.toBe("Your subscriptions");
		await expect(page.getByRole("group", { name: "Email" }).isVisible()).resolves.toBe(true);
		await expect(page.getByRole("group", { name: "SMS" }).isVisible()).resolves.toBe(true);
		const expectTicks = async (ticks: Record<string, boolean>) => {
			for (const [name, ticked] of Object.entries(ticks)) {
				expect(await box(name).isChecked(), name).toBe(ticked);
			}
		};
		await expectTicks({
			"Kids newsletter": true,
			"Pet offers": true,
			"Weekly digest": false,
			"Delivery alerts": true,
			"Stop all emails": false,
			"Stop all text messages (SMS)": false,
		});
		await capture(page, "preferences");
		expect(await historyOf(user.externalId)).toEqual(ledgerBefore);

		await box("Kids newsletter").uncheck();
		await box("Weekly digest").check();
		const saved = await navigation(page, () => page.getByRole("button", { name: "Save choices" }).click());
		await expectPage(page, saved);
		expect(await text(page.getByRole("status"))).toBe("Your choices have been saved.");
		const afterSave = {
			"Kids newsletter": false,
			"Pet offers": true,
			"Weekly digest": true,
			"Delivery alerts": true,
			"Stop all emails": false,
			"Stop all text messages (SMS)": false,
		};
		await expectTicks(afterSave);
		await capture(page, "preferences-saved");

		// A fresh GET of the same link (reloading the POST's answer would post the form again).
		await expectPage(page, await page.goto(preferencesUrl));
		await expect(page.getByRole("status").count()).resolves.toBe(0);
		await expectTicks(afterSave);

		const { consent } = await getUser(user.externalId);
		expect(consent.topics[topics.kids]?.status).toBe("unsubscribed");
		expect(consent.topics[topics.digest]?.status).toBe("subscribed");
		expect(consent.topics[topics.pets]?.status).toBe("subscribed");
		expect(consent.topics[topics.alerts]?.status).toBe("subscribed");
		expect(consent.channels.email?.optedOut ?? false).toBe(false);
		const added = (await historyOf(user.externalId)).slice(ledgerBefore.length);
		expect(added).toHaveLength(2);
		expect(added).toEqual(
			expect.arrayContaining([
				expect.objectContaining({
					event: "Unsubscribe",
					topic: topics.kids,
					source: "preference_center",
					campaign: "prefs-e2e",
					changed: true,
				}),
				expect.objectContaining({
					event: "Confirm Subscription",
					topic: topics.digest,
					source: "preference_center",
					campaign: "prefs-e2e",
					changed: true,
				}),
			]),
		);

		expect(watcher.problems).toEqual([]);
	});
});
