/**
 * /admin/jobs: running and recent jobs with a progress bar each (a <progress> with a text label),
 * reloading itself while a job runs. (In a browser: test/e2e/jobs.test.ts.)
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertJob } from "../../../src/db/jobs";
import type { Bindings } from "../../../src/env";
import { newJobId } from "../../../src/jobs/jobs";
import { ADMIN, BASE } from "../../helpers";

const page = (headers: Record<string, string> = {}) =>
	exports.default.fetch(new Request(`${BASE}/admin/jobs`, { redirect: "manual", headers }));

describe("GET /admin/jobs", () => {
	it("lists jobs with an accessible progress bar, and reloads itself while one runs", async () => {
		const running = newJobId("import");
		const done = newJobId("export");
		const queued = newJobId("export");
		const bindings = env as unknown as Bindings;
		for (const [id, kind] of [
			[done, "export"],
			[queued, "export"],
			[running, "import"],
		] as const) {
			await insertJob(bindings, { id, kind, businessUnit: null, options: {}, resultKey: null });
		}
		await env.DB.batch([
			env.DB.prepare(
				"UPDATE jobs SET status = 'running', total = 2500, processed = 1000, created = 990, failed = 10 WHERE id = ?",
			).bind(running),
			env.DB.prepare("UPDATE jobs SET status = 'done', total = 3, processed = 3 WHERE id = ?").bind(done),
		]);

		const response = await page({ authorization: `Bearer ${ADMIN}` });
		expect(response.status).toBe(200);
		expect(response.headers.get("cache-control")).toBe("no-store");
		const html = await response.text();
		expect(html).toContain('<meta http-equiv="refresh" content="3"/>');
		expect(html).toContain(`<label for="progress-${running}">1,000 of 2,500 lines (40%)</label>`);
		expect(html).toContain(`<progress id="progress-${running}" value="1000" max="2500"></progress>`);
		expect(html).toContain("created 990, updated 0, unchanged 0, failed 10");
		expect(html).toContain(`<label for="progress-${done}">3 of 3 rows (100%)</label>`);
		expect(html).toContain(`<progress id="progress-${done}" value="3" max="3"></progress>`);
		// Not started: no total yet, an indeterminate bar.
		expect(html).toContain(`<label for="progress-${queued}">waiting to start</label>`);
		expect(html).toContain(`<progress id="progress-${queued}"></progress>`);
		expect(html).not.toContain("<script");

		await env.DB.prepare("DELETE FROM jobs WHERE id IN (?, ?, ?)").bind(running, done, queued).run();
	});

	it("is for the admin only", async () => {
		const anonymous = await page();
		expect(anonymous.status).toBe(302);
		expect(anonymous.headers.get("location")).toBe("/admin/login?next=%2Fadmin%2Fjobs");
		expect((await page({ authorization: "Bearer wrong" })).status).toBe(401);
	});
});
