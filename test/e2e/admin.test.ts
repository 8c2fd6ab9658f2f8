import type { Locator } from "playwright-core";
import { expect, it } from "vitest";
import {
	adminToken,
	api,
	baseUrl,
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

/** The texts of a table row's cells. */
const cells = async (row: Locator) => (await row.getByRole("cell").allTextContents()).map((cell) => cell.trim());

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

describeE2e("admin dashboard /admin in Chromium", () => {
	const browser = useBrowser();

	it("signs in through the form, shows the opt-outs as a chart and tables, and signs out", async () => {
		const businessUnit = unique("e2e-admin");
		const kids = unique("kids");
		await putTopic(kids, businessUnit, { name: "Kids newsletter" });
		// 5 opt-outs on 3 days: 2 three days ago, 1 ten days ago, 2 today (one of them through a campaign link).
		await seedUser(businessUnit, [
			{ event: "Opt Out", channel: "email", timestamp: daysAgo(3), properties: { reason: "too_many" } },
		]);
		await seedUser(businessUnit, [{ event: "Opt Out", channel: "sms", timestamp: daysAgo(3) }]);
		await seedUser(businessUnit, [{ event: "Complaint", channel: "email", timestamp: daysAgo(10) }]);
		await seedUser(businessUnit, [
			{ event: "Subscribe", topic: kids, timestamp: daysAgo(20) },
			{ event: "Unsubscribe", topic: kids },
		]);
		const campaign = unique("spring-sale");
		const clicker = await seedUser(businessUnit, []);
		const { unsubscribeUrl } = await linksFor(clicker.externalId, { channel: "email", campaign });
		const oneClick = await fetch(unsubscribeUrl, {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded" },
			body: "List-Unsubscribe=One-Click",
		});
		expect(oneClick.status).toBe(200);
		expect(await api("GET", `/v1/stats/opt-outs?businessUnit=${businessUnit}`)).toMatchObject({
			series: expect.arrayContaining([{ bucket: daysAgo(0).slice(0, 10), key: null, count: 2 }]),
		});

		const { context, page, watcher } = await openPage(browser());
		// Not signed in: the dashboard sends us to the form, remembering the filter.
		const login = await page.goto(`${baseUrl()}/admin?businessUnit=${businessUnit}`);
		await expectPage(page, login);
		expect(new URL(page.url()).pathname).toBe("/admin/login");
		expect(await heading(page)).toBe("Sign in");
		await expectNoAxeViolations(page, "admin sign-in");
		await capture(page, "admin-login");

		// A wrong token: 401, the form again with an alert.
		watcher.expectStatus(`${baseUrl()}/admin/login`);
		await page.getByLabel("Admin token").click();
		await page.keyboard.type("not-the-token");
		const refused = await navigation(page, () => page.keyboard.press("Enter"));
		await expectPage(page, refused, 401);
		expect(await text(page.getByRole("alert"))).toBe("That is not the admin token.");
		await expectNoAxeViolations(page, "admin sign-in refused");

		await page.getByLabel("Admin token").click();
		await page.keyboard.type(adminToken());
		const signedIn = await navigation(page, () => page.getByRole("button", { name: "Sign in" }).click());
		await expectPage(page, signedIn);
		expect(new URL(page.url()).search).toBe(`?businessUnit=${businessUnit}`);
		expect(await heading(page)).toBe("Opt-outs and unsubscribes");

		const cookies = await context.cookies();
		expect(cookies).toHaveLength(1);
		expect(cookies[0]).toMatchObject({ path: "/admin", httpOnly: true, secure: true, sameSite: "Strict" });
		expect(cookies[0]?.value).not.toContain(adminToken());

		// The chart: an image with a name, 3 bars for the 3 days with opt-outs.
		const chart = page.getByRole("img", { name: /Opt-outs per day/ });
		await expect(chart.isVisible()).resolves.toBe(true);
		expect(await chart.locator("desc").textContent()).toBe(
			`5 in total; the most, 2, in ${[daysAgo(3), daysAgo(0)].map((d) => d.slice(0, 10)).sort()[0]}.`,
		);
		expect(await chart.locator(".bars rect").count()).toBe(3);
		await expectNoAxeViolations(page, "admin dashboard");
		await capture(page, "admin-dashboard");
		// The same numbers in the table behind "The numbers per day".
		await page.getByText("The numbers per day").click();
		const today = daysAgo(0).slice(0, 10);
		expect(await cells(page.locator("details").getByRole("row", { name: today }))).toEqual([today, "2"]);
		const campaigns = page.getByRole("region", { name: "Campaigns with the most unsubscribes" });
		expect(await cells(campaigns.getByRole("row", { name: campaign }))).toEqual([campaign, "1", "1"]);
		const byReason = page.locator("section", { has: page.getByRole("heading", { name: "By reason" }) });
		expect(await cells(byReason.getByRole("row", { name: "complaint" }))).toEqual(["complaint", "1", ""]);
		expect(await cells(byReason.getByRole("row", { name: "(none given)" }))).toEqual(["(none given)", "3", ""]);
		const recent = page.getByRole("region", { name: "Latest ledger events" });
		expect(await recent.getByRole("row").count()).toBe(1 + 6); // header + 5 opt-outs + the Subscribe

		// The filter form: by week.
		await page.getByLabel("Interval").selectOption("week");
		const weekly = await navigation(page, () => page.getByRole("button", { name: "Show" }).click());
		await expectPage(page, weekly);
		expect(await page.getByRole("img", { name: /Opt-outs per week/ }).count()).toBe(1);
		expect(new URL(page.url()).searchParams.get("interval")).toBe("week");

		// Signing out clears the cookie; the dashboard asks for the token again.
		const signedOut = await navigation(page, () => page.getByRole("button", { name: "Sign out" }).click());
		await expectPage(page, signedOut);
		expect(await text(page.getByRole("status"))).toBe("You are signed out.");
		await expectNoAxeViolations(page, "admin signed out");
		expect(await context.cookies()).toEqual([]);
		await expectPage(page, await page.goto(`${baseUrl()}/admin`));
		expect(new URL(page.url()).pathname).toBe("/admin/login");

		expect(watcher.problems).toEqual([]);
	});
});
