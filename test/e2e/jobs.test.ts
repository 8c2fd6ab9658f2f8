import type { Page } from "playwright-core";
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
	openPage,
	text,
	unique,
	useBrowser,
} from "./support";

/** The job's row on /admin/jobs: its status cell, its progress bar and the bar's label. */
function jobRow(page: Page, id: string) {
	const row = page.getByRole("row", { name: new RegExp(id) });
	return {
		status: () => text(row.getByRole("cell").nth(1)),
		progress: page.locator(`progress#progress-${id}`),
		label: () => text(page.locator(`label[for="progress-${id}"]`)),
	};
}

/**
 * New contacts: a job of 10 parts. (Under `wrangler dev` the worker answers other requests only
 * between a workflow's runs, so the page usually shows the job once it is done; the rendering of
 * a running job is also checked in test/integration/jobs/admin-jobs.test.ts.)
 */
const LINES = 20_000;

describeE2e("import jobs on /admin/jobs in Chromium", () => {
	const browser = useBrowser();

	it("starts an import as a job through the API, shows its progress bar, and then done", async () => {
		const { context, page, watcher } = await openPage(browser());
		// The dashboard takes the admin token as a bearer too; every reload carries it.
		await context.setExtraHTTPHeaders({ authorization: `Bearer ${adminToken()}` });

		const businessUnit = unique("e2e-job");
		const lines = Array.from({ length: LINES }, (_, i) => `j${i}@${businessUnit}.example,${i % 2 === 0}`);
		const response = await fetch(`${baseUrl()}/v1/imports/contacts?businessUnit=${businessUnit}&async=true`, {
			method: "POST",
			headers: { authorization: `Bearer ${adminToken()}`, "content-type": "text/csv" },
			body: `email,optedOut\n${lines.join("\n")}\n`,
		});
		expect(response.status).toBe(202);
		const { id } = (await response.json()) as { id: string };
		expect(response.headers.get("location")).toBe(`/v1/imports/${id}`);

		const first = await page.goto(`${baseUrl()}/admin/jobs`, { timeout: 120_000 });
		await expectPage(page, first);
		expect(await heading(page)).toBe("Imports and exports");
		const job = jobRow(page, id);
		// A progress bar with a label (the text a screen reader reads with it).
		expect(await job.progress.count()).toBe(1);
		expect(await job.progress.evaluate((bar) => (bar as unknown as { labels: ArrayLike<unknown> }).labels.length)).toBe(
			1,
		);
		const firstStatus = await job.status();
		if (firstStatus !== "done") {
			expect(["queued", "running"]).toContain(firstStatus);
			// While it runs the page reloads itself.
			expect(await page.locator('meta[http-equiv="refresh"]').getAttribute("content")).toBe("3");
			expect(await text(page.getByRole("status"))).toMatch(/^\d+ jobs? queued or running\.$/);
			// The running page reloads itself on purpose, with a link that turns it off (WCAG 2.2.1).
			// axe's meta-refresh rule flags any refresh under 20 hours, so it alone is not run on this
			// state; the same page with the reloading turned off is checked in full below.
			await expectNoAxeViolations(page, "admin jobs, running", { skipRules: ["meta-refresh"] });
			await capture(page, "admin-jobs-running");
			const still = await page.context().newPage();
			await expectPage(still, await still.goto(`${baseUrl()}/admin/jobs?reload=off`));
			if ((await still.locator('meta[http-equiv="refresh"]').count()) === 0) {
				await expectNoAxeViolations(still, "admin jobs, running, reloading turned off");
			}
			await still.close();
		}

		// The page reloads itself (meta refresh: no script) until the job is done.
		const deadline = Date.now() + 150_000;
		let reloads = 0;
		page.on("load", () => reloads++);
		for (;;) {
			await page.waitForLoadState("load");
			const status = await job.status().catch(() => "");
			if (status === "running" && (await job.progress.getAttribute("max").catch(() => null)) === String(LINES)) {
				const value = Number(await job.progress.getAttribute("value").catch(() => "0"));
				expect(value).toBeLessThanOrEqual(LINES);
			}
			if (status === "done") break;
			if (Date.now() > deadline) {
				throw new Error(`the job did not finish: ${status}; ${JSON.stringify(await api("GET", `/v1/imports/${id}`))}`);
			}
			await page.waitForEvent("load", { timeout: 30_000 }).catch(() => {});
		}
		if (firstStatus !== "done") expect(reloads).toBeGreaterThan(0);
		// Done: the page stops reloading once no job runs.
		if ((await text(page.getByRole("status"))) === "No job is running.") {
			expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
		}
		expect(await job.label()).toBe("20,000 of 20,000 lines (100%)");
		expect(await job.progress.getAttribute("value")).toBe(String(LINES));
		expect(await job.progress.getAttribute("max")).toBe(String(LINES));
		await expectNoAxeViolations(page, "admin jobs");
		await capture(page, "admin-jobs-done");

		// The API says the same.
		expect(await api("GET", `/v1/imports/${id}`)).toMatchObject({
			status: "done",
			total: LINES,
			processed: LINES,
			created: LINES,
			failed: 0,
		});
		expect(watcher.problems).toEqual([]);
	});
});
