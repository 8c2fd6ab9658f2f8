/**
 * No workflow step makes more than 1,000 D1 queries plus Durable Object calls: each step function
 * runs here alone, on counted bindings (test/budget.ts), at its largest — an export step of
 * EXPORT_PAGES_PER_STEP full pages, import part steps of IMPORT_PART_LINES lines that create
 * contacts (cheap) and that change existing ones (an actor call each: the step stops at its budget
 * and the next step goes on).
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { findJob, insertJob, type JobCounts } from "../../../src/db/jobs";
import type { Bindings } from "../../../src/env";
import { EXPORT_PAGE_SIZE } from "../../../src/exports/exports";
import { countExportJob, exportPrefix, finishExportJob, runExportStep } from "../../../src/jobs/export-job";
import { addReport, finishImportJob, planImportJob, runImportPart } from "../../../src/jobs/import-job";
import { newJobId } from "../../../src/jobs/jobs";
import { EXPORT_PAGES_PER_STEP, IMPORT_PART_LINES } from "../../../src/jobs/limits";
import { countingEnv, INVOCATION_BUDGET } from "../../budget";
import { unique } from "../../helpers";
import { contactCount, importJob, ledgerOf } from "./job-helpers";

const bindings = env as unknown as Bindings;

/** Runs an import job's steps on counted bindings, as the workflow would; the largest count of a step. */
async function runCounted(id: string) {
	const steps: number[] = [];
	const counted = <T>(run: (env: Bindings) => Promise<T>) => {
		const { env: countedEnv, counts } = countingEnv(bindings);
		return run(countedEnv).finally(() => steps.push(counts.total));
	};
	const { plan, counts: start } = await counted((e) => planImportJob(e, id));
	let counts: JobCounts = start;
	let partSteps = 0;
	for (const [index, part] of plan.parts.entries()) {
		let fromLine = part.firstLine;
		for (;;) {
			const before = counts;
			const result = await counted((e) => runImportPart(e, { jobId: id, plan, index, fromLine, before }));
			partSteps++;
			counts = addReport(counts, result.report);
			if (result.next === null) break;
			expect(result.next).toBeGreaterThan(fromLine);
			fromLine = result.next;
		}
	}
	await counted((e) => finishImportJob(e, id, counts));
	return { steps, partSteps, counts };
}

describe("the budget of a job step", () => {
	it("an import part of new contacts: one step, far within the budget", async () => {
		const businessUnit = unique("bud");
		const lines = Array.from({ length: IMPORT_PART_LINES }, (_, i) => `n${i}@${businessUnit}.example,true`);
		const id = await importJob(businessUnit, `email,optedOut\n${lines.join("\n")}\n`);
		const { steps, partSteps, counts } = await runCounted(id);
		expect(partSteps).toBe(1);
		expect(Math.max(...steps)).toBeLessThanOrEqual(INVOCATION_BUDGET);
		expect(counts).toMatchObject({ processed: IMPORT_PART_LINES, created: IMPORT_PART_LINES });
		expect(await contactCount(businessUnit)).toBe(IMPORT_PART_LINES);
	}, 120_000);

	it("an import part that changes existing contacts: each step stops at its budget, the next goes on", async () => {
		const businessUnit = unique("bud");
		const emails = Array.from({ length: IMPORT_PART_LINES }, (_, i) => `e${i}@${businessUnit}.example`);
		const setup = await importJob(businessUnit, `email,optedOut\n${emails.map((e) => `${e},false`).join("\n")}\n`);
		await runCounted(setup);
		const before = (await ledgerOf(businessUnit)).length;

		// Every line changes a contact (an actor call), every 4th also adds a phone (a profile change).
		const lines = emails.map((email, i) => `${email},true,${i % 4 === 0 ? `+49176${String(20000000 + i)}` : ""}`);
		const id = await importJob(businessUnit, `email,optedOut,phone\n${lines.join("\n")}\n`);
		const { steps, partSteps, counts } = await runCounted(id);
		expect(partSteps).toBeGreaterThan(1);
		for (const total of steps) expect(total).toBeLessThanOrEqual(INVOCATION_BUDGET);
		expect(counts).toMatchObject({ processed: IMPORT_PART_LINES, updated: IMPORT_PART_LINES, failed: 0 });
		expect(await findJob(bindings, id)).toMatchObject({ status: "done", processed: IMPORT_PART_LINES });
		expect((await ledgerOf(businessUnit)).length).toBe(before + IMPORT_PART_LINES);
	}, 180_000);

	describe("an export step", () => {
		const businessUnit = unique("bud");
		afterAll(async () => {
			await env.DB.prepare("DELETE FROM contacts WHERE business_unit = ?").bind(businessUnit).run();
		});

		it(`reads ${EXPORT_PAGES_PER_STEP} full pages within the budget`, async () => {
			const rows = EXPORT_PAGES_PER_STEP * EXPORT_PAGE_SIZE + 10;
			await env.DB.prepare(
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
				 INSERT INTO contacts (id, email, business_unit, consent)
				 SELECT printf('%s-%06d', ?2, i), printf('c%06d@%s.example', i, ?2), ?2, '{"blocked":false,"channels":{},"topics":{}}'
				 FROM n`,
			)
				.bind(rows, businessUnit)
				.run();
			const id = newJobId("export");
			await insertJob(bindings, {
				id,
				kind: "export",
				businessUnit: null,
				options: { what: "contacts", filter: { businessUnit }, columns: [] },
				resultKey: exportPrefix(id),
			});
			const counted = countingEnv(bindings);
			expect(await countExportJob(counted.env, id)).toBe(rows);
			expect(counted.counts.total).toBeLessThanOrEqual(3);

			const step = countingEnv(bindings);
			const first = await runExportStep(step.env, { jobId: id, part: 1, after: null, processed: 0 });
			expect(first).toEqual({ after: `${businessUnit}-050000`, processed: 50_000, done: false });
			// The job, one query per page, the progress.
			expect(step.counts.total).toBe(EXPORT_PAGES_PER_STEP + 2);
			expect(step.counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
			expect(step.counts.durableObjectCalls).toBe(0);

			const last = await runExportStep(bindings, { jobId: id, part: 2, ...first });
			expect(last).toEqual({ after: `${businessUnit}-${String(rows).padStart(6, "0")}`, processed: rows, done: true });
			await finishExportJob(bindings, id, last.processed);
			expect(await findJob(bindings, id)).toMatchObject({ status: "done", processed: rows, total: rows });
		}, 120_000);
	});
});
