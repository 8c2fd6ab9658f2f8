/**
 * Retries of import job steps: a step that fails is run again, and the job still ends with exact
 * counts and each fact in the ledger once. With the plugin's workflow introspection the engine
 * fails a step; run by hand, a step dies midway, after some of its chunks were written, and runs
 * again.
 */
import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, onTestFinished } from "vitest";
import { findJob } from "../../../src/db/jobs";
import type { Bindings } from "../../../src/env";
import { addReport, finishImportJob, planImportJob, runImportPart, uploadKey } from "../../../src/jobs/import-job";
import { IMPORT_PART_LINES } from "../../../src/jobs/limits";
import { api, json, unique } from "../../helpers";
import { accepted, contactCount, finished, importFile, importJob, ledgerOf } from "./job-helpers";

const bindings = env as unknown as Bindings;

/** `lines` new contacts, every other one opted out, and one bad line in every part. */
function file(businessUnit: string, lines: number) {
	const rows = Array.from({ length: lines }, (_, i) =>
		i % IMPORT_PART_LINES === 77 ? `bad-${i},true` : `w${i}@${businessUnit}.example,${i % 2 === 0}`,
	);
	const bad = rows.filter((row) => row.startsWith("bad-")).length;
	const optOuts = rows.filter((row, i) => !row.startsWith("bad-") && i % 2 === 0).length;
	return { csv: `email,optedOut\n${rows.join("\n")}\n`, bad, optOuts, good: lines - bad };
}

/** Ledger rows that are the same fact twice (one contact, event and idempotency key). */
async function duplicateRows(businessUnit: string) {
	const rows = await ledgerOf(businessUnit);
	const seen = new Set<string>();
	return rows.filter((row) => {
		const key = `${row.email}\n${row.event}\n${row.channel}\n${row.idempotency_key}`;
		if (seen.has(key)) return true;
		seen.add(key);
		return false;
	});
}

/** The body of an R2 object that gives its first `limit` bytes, then fails (a step dying midway). */
function failingAfter(body: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
	const reader = body.getReader();
	let sent = 0;
	return new ReadableStream<Uint8Array>(
		{
			async pull(controller) {
				if (sent >= limit) {
					await reader.cancel();
					controller.error(new Error("injected: the step died here"));
					return;
				}
				const { done, value } = await reader.read();
				if (done) return controller.close();
				const piece = value.subarray(0, limit - sent);
				sent += piece.length;
				controller.enqueue(piece);
			},
		},
		{ highWaterMark: 0 },
	);
}

describe("a retried import step", () => {
	it("is retried by the workflow when it fails; the job ends with exact counts and no duplicate ledger rows", async () => {
		const introspector = await introspectWorkflow(env.IMPORT_WORKFLOW);
		onTestFinished(() => introspector.dispose());
		await introspector.modifyAll(async (m) => {
			await m.disableRetryDelays();
			await m.mockStepError({ name: "part 2" }, new Error("injected failure of part 2"), 1);
		});
		const businessUnit = unique("wf");
		const { csv, bad, optOuts, good } = file(businessUnit, Math.floor(IMPORT_PART_LINES * 2.5));
		const id = await accepted(await importFile(csv, `businessUnit=${businessUnit}&async=true`), "imports");
		const [instance] = await introspector.get();
		if (!instance) throw new Error("no workflow instance");
		await instance.waitForStatus("complete");

		const job = await json(await api("GET", `/v1/imports/${id}`));
		expect(job).toMatchObject({
			status: "done",
			total: good + bad,
			processed: good + bad,
			created: good,
			failed: bad,
		});
		expect(job.errors.map((error: { line: number }) => error.line)).toEqual(
			Array.from({ length: bad }, (_, part) => part * IMPORT_PART_LINES + 77 + 2),
		);
		expect(await contactCount(businessUnit)).toBe(good);
		expect(await ledgerOf(businessUnit)).toHaveLength(optOuts);
		expect(await duplicateRows(businessUnit)).toEqual([]);
	}, 120_000);

	it("that died midway, after some chunks were written, adds nothing twice when it runs again", async () => {
		const businessUnit = unique("wf");
		const { csv, bad, optOuts, good } = file(businessUnit, IMPORT_PART_LINES + 300);
		// A job as the route makes it, its steps run by hand.
		const id = await importJob(businessUnit, csv);

		const { plan, counts } = await planImportJob(bindings, id);
		expect(plan.parts).toHaveLength(2);
		expect(plan.total).toBe(good + bad);
		const input = { jobId: id, plan, index: 0, fromLine: 0, before: counts };

		// The first attempt dies after 60% of the part: its first chunks are written and recorded.
		const cut = Math.floor((plan.parts[0]?.end ?? 0) * 0.6);
		const dying: Bindings = {
			...bindings,
			JOB_FILES: {
				get: async (key: string, options?: R2GetOptions) => {
					const object = await env.JOB_FILES.get(key, options);
					if (!object) return null;
					return { ...object, body: failingAfter(object.body, cut) };
				},
			} as unknown as R2Bucket,
		};
		await expect(runImportPart(dying, input)).rejects.toThrow("injected");
		const partial = await contactCount(businessUnit);
		expect(partial).toBeGreaterThan(0);
		expect(partial).toBeLessThan(IMPORT_PART_LINES);

		// The retry: the same step again, then the rest of the job.
		const first = await runImportPart(bindings, input);
		expect(first.next).toBeNull();
		expect(first.report).toMatchObject({ processed: IMPORT_PART_LINES, failed: 1, created: IMPORT_PART_LINES - 1 });
		let total = addReport(counts, first.report);
		const second = await runImportPart(bindings, { ...input, index: 1, before: total });
		total = addReport(total, second.report);
		await finishImportJob(bindings, id, total);

		expect(await findJob(bindings, id)).toMatchObject({
			status: "done",
			total: good + bad,
			processed: good + bad,
			created: good,
			failed: bad,
		});
		expect(await contactCount(businessUnit)).toBe(good);
		expect(await ledgerOf(businessUnit)).toHaveLength(optOuts);
		expect(await duplicateRows(businessUnit)).toEqual([]);
		// The chunk records served the retry only.
		const chunks = await env.DB.prepare("SELECT count(*) AS n FROM import_chunks WHERE job_id = ?")
			.bind(id)
			.first<{ n: number }>();
		expect(chunks?.n).toBe(0);
	}, 120_000);

	it("fails the job when a step fails every retry: status failed, a reason, the upload deleted", async () => {
		const introspector = await introspectWorkflow(env.IMPORT_WORKFLOW);
		onTestFinished(() => introspector.dispose());
		await introspector.modifyAll(async (m) => {
			await m.disableRetryDelays();
			await m.mockStepError({ name: "part 1" }, new Error("injected: always"));
		});
		const businessUnit = unique("wf");
		const id = await accepted(
			await importFile(`email\nf@${businessUnit}.example\n`, `businessUnit=${businessUnit}&async=true`),
			"imports",
		);
		const [instance] = await introspector.get();
		if (!instance) throw new Error("no workflow instance");
		await instance.waitForStatus("errored");
		const job = await finished(`/v1/imports/${id}`);
		expect(job.status).toBe("failed");
		expect(job.error).toContain("stopped at line 2");
		expect(await env.JOB_FILES.head(uploadKey(id))).toBeNull();
	}, 60_000);
});
