/**
 * Import jobs: an import too large for one invocation, from an upload in JOB_FILES.
 *
 * The workflow (ImportWorkflow, `consent-edge-import`) has these steps, each a plain function of
 * the env so that tests run them alone:
 *
 * 1. "plan" (planImportJob): reads the upload once and cuts it into parts of IMPORT_PART_LINES
 *    data lines (src/jobs/partition.ts: byte ranges that begin where a record begins, quoted line
 *    breaks and all); counts the lines (the job's total).
 * 2. "part N" (runImportPart): an R2 range read of the part, with the CSV header in front, goes
 *    through `importContacts` with the line offset of the part (line numbers are those of the
 *    whole file) and the job's id. The importer stops before a chunk that would not fit the
 *    invocation's budget; the next step, "part N from line L", goes on from there. After each
 *    step the job's counts are written as they stand (not added), so writing them twice is
 *    harmless.
 * 3. "finish" (finishImportJob): done; the upload and the chunk records are deleted.
 *
 * A retried step is idempotent: the importer records each chunk it wrote (import_chunks, in the
 * same D1 batch as the chunk's new contacts) and a retry skips those chunks, counting them as they
 * were counted then; changes to existing contacts carry idempotency keys. So a retry adds no
 * ledger rows and the counts stay exact. The run itself only adds up the steps' results, which the
 * workflow keeps: a replay of the run after an eviction computes the same totals.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { Channel } from "../consent/types";
import type { EventContext } from "../contacts/contact-actor";
import { linkBaseFor } from "../contacts/record-events";
import {
	findJob,
	forgetImportChunks,
	insertJob,
	type Job,
	type JobCounts,
	markDone,
	markFailed,
	markRunning,
	setProgress,
} from "../db/jobs";
import type { Bindings } from "../env";
import { ApiError } from "../http/errors";
import { ImportLimitError, type ImportReport, importContacts, MAX_REPORTED_ERRORS } from "../imports/importer";
import { concatenated, dispose, JobFailure, type JobParams, STEP } from "./jobs";
import { IMPORT_PART_LINES, JOB_IMPORT_LINES } from "./limits";
import { type ImportFormat, type ImportPlan, planParts, TooManyLinesError } from "./partition";

/** What an import job was asked: the options of the import route, and where its file is. */
export interface ImportJobOptions {
	format: ImportFormat;
	businessUnit: string;
	channel: Channel | null;
	optedOut: boolean | null;
	unknownColumns: "reject" | "ignore";
	/** The key's business units; null: all. */
	businessUnits: string[] | null;
	/** The request's context: every event of the job has it (source "import", IP, user agent, time). */
	context: EventContext;
	/** The URL the import was sent to: confirmation links are made for it as for the request (linkBaseFor). */
	requestUrl: string;
	/** Bytes of the upload. */
	size: number;
	/**
	 * The lines before this one were imported by the request itself (a synchronous import that
	 * reached its budget); their counts are the job's counts from the start.
	 */
	fromLine?: number;
}

export const uploadKey = (jobId: string) => `imports/${jobId}/upload`;

/** `before` and then `report`: errors in line order, at most MAX_REPORTED_ERRORS of them. */
export function addReport(before: JobCounts, report: ImportReport): JobCounts {
	const errors = [...before.errors, ...report.errors];
	return {
		processed: before.processed + report.processed,
		created: before.created + report.created,
		updated: before.updated + report.updated,
		unchanged: before.unchanged + report.unchanged,
		failed: before.failed + report.failed,
		errors: errors.slice(0, MAX_REPORTED_ERRORS),
		errorsTruncated: before.errorsTruncated || report.errorsTruncated || errors.length > MAX_REPORTED_ERRORS,
	};
}

/**
 * Creates the job's row and starts its workflow (the upload is in JOB_FILES at uploadKey(id)).
 * `counts`: what the request imported itself before it handed over (with options.fromLine).
 */
export async function startImportJob(
	env: Bindings,
	job: { id: string; businessUnit: string | null; options: ImportJobOptions; counts?: JobCounts },
): Promise<Job> {
	const row = await insertJob(env, {
		id: job.id,
		kind: "import",
		businessUnit: job.businessUnit,
		options: job.options,
		resultKey: uploadKey(job.id),
		counts: job.counts,
	});
	try {
		dispose(await env.IMPORT_WORKFLOW.create({ id: job.id, params: { jobId: job.id } }));
	} catch (error) {
		await markFailed(env, job.id, "The job could not be started; send the file again.");
		await env.JOB_FILES.delete(uploadKey(job.id));
		throw error;
	}
	return row;
}

async function importJob(env: Bindings, jobId: string): Promise<Job & { options: ImportJobOptions }> {
	const job = await findJob(env, jobId);
	if (job?.kind !== "import") throw new JobFailure(`There is no import job ${jobId}.`);
	return job as Job & { options: ImportJobOptions };
}

/**
 * Marks the job failed and ends the workflow without retries. (The engine ends the instance at
 * once on a NonRetryableError, so the job is marked here, not by the run's "failed" step.)
 */
async function fail(env: Bindings, jobId: string, message: string): Promise<never> {
	await failImportJob(env, jobId, message);
	throw new NonRetryableError(message);
}

export interface PlannedImport {
	plan: ImportPlan;
	/** Lines before this one are done (by the request). */
	fromLine: number;
	/** The job's counts before the first part. */
	counts: JobCounts;
}

/** Step "plan": the parts of the upload and the number of its lines; the job is running. */
export async function planImportJob(env: Bindings, jobId: string): Promise<PlannedImport> {
	const job = await findJob(env, jobId);
	if (job?.kind !== "import") return fail(env, jobId, `There is no import job ${jobId}.`);
	const options = job.options as ImportJobOptions;
	const object = await env.JOB_FILES.get(uploadKey(jobId));
	if (!object) return fail(env, jobId, "The uploaded file is gone; send it again.");
	let plan: ImportPlan;
	try {
		plan = await planParts(object.body, options.format, { partLines: IMPORT_PART_LINES, maxLines: JOB_IMPORT_LINES });
	} catch (error) {
		if (!(error instanceof TooManyLinesError)) throw error;
		return fail(
			env,
			jobId,
			`The file has more than ${JOB_IMPORT_LINES.toLocaleString("en")} lines: split it and import the parts (imports are idempotent). Nothing was imported.`,
		);
	}
	await markRunning(env, jobId, plan.total);
	const { processed, created, updated, unchanged, failed, errors, errorsTruncated } = job;
	return {
		plan,
		fromLine: options.fromLine ?? 0,
		counts: { processed, created, updated, unchanged, failed, errors, errorsTruncated },
	};
}

/** The bytes of a part as the importer reads them: the CSV header, then the part. */
async function partBody(env: Bindings, jobId: string, plan: ImportPlan, index: number) {
	const part = plan.parts[index];
	if (!part) throw new Error(`import job ${jobId}: no part ${index}`);
	const key = uploadKey(jobId);
	const range = async (offset: number, length: number) => {
		if (length === 0) return null;
		const object = await env.JOB_FILES.get(key, { range: { offset, length } });
		if (!object) throw new JobFailure("The uploaded file is gone; send it again.");
		return object.body;
	};
	// The header and the part, or one read when the part follows the header directly. Both are
	// opened now, so that an upload that is gone fails the step before the importer starts.
	const pieces =
		plan.headerEnd === part.start
			? [await range(0, part.end)]
			: [await range(0, plan.headerEnd), await range(part.start, part.end - part.start)];
	return concatenated(pieces.map((piece) => async () => piece));
}

export interface PartResult {
	/** What this step did; its errors only as many as the job still lists. */
	report: ImportReport;
	/** The line the next step goes on from (the importer reached its budget), or null: the part is done. */
	next: number | null;
}

/**
 * Step "part N" (and "part N from line L"): imports part `index` of the plan from `fromLine` until
 * the part ends or the budget is reached; then writes the job's counts, `before` plus this step's.
 */
export async function runImportPart(
	env: Bindings,
	input: { jobId: string; plan: ImportPlan; index: number; fromLine: number; before: JobCounts },
): Promise<PartResult> {
	const { jobId, plan, index, fromLine, before } = input;
	const part = plan.parts[index];
	if (!part) throw new Error(`import job ${jobId}: no part ${index}`);
	let job: Job & { options: ImportJobOptions };
	try {
		job = await importJob(env, jobId);
		const { options } = job;
		const body = await partBody(env, jobId, plan, index);
		let report: ImportReport;
		let next: number | null = null;
		try {
			report = await importContacts(env, body, {
				format: options.format,
				businessUnit: options.businessUnit,
				channel: options.channel,
				optedOut: options.optedOut,
				unknownColumns: options.unknownColumns,
				businessUnits: options.businessUnits,
				context: options.context,
				linkBase: linkBaseFor(env, new Request(options.requestUrl)),
				// The part's first data line is line headerLines + 1 of what the importer reads.
				lineOffset: part.firstLine - (plan.headerLines + 1),
				fromLine,
				job: { id: jobId },
				maxLines: Number.POSITIVE_INFINITY,
				maxBytes: Number.POSITIVE_INFINITY,
			});
		} catch (error) {
			if (!(error instanceof ImportLimitError) || error.limit !== "budget") throw error;
			report = error.report;
			next = error.line;
		}
		await setProgress(env, jobId, addReport(before, report));
		const room = Math.max(0, MAX_REPORTED_ERRORS - before.errors.length);
		return {
			report: {
				...report,
				errors: report.errors.slice(0, room),
				errorsTruncated: report.errorsTruncated || report.errors.length > room,
			},
			next,
		};
	} catch (error) {
		// A header the topics no longer allow (deleted meanwhile), a file that is gone: no retry helps.
		if (error instanceof JobFailure) return fail(env, jobId, error.message);
		if (error instanceof ApiError && error.status < 500) return fail(env, jobId, error.detail);
		throw error;
	}
}

/** Step "finish": the job is done with these counts; its upload and chunk records go. */
export async function finishImportJob(env: Bindings, jobId: string, counts: JobCounts): Promise<void> {
	await markDone(env, jobId, counts);
	await forgetImportChunks(env, jobId);
	await env.JOB_FILES.delete(uploadKey(jobId));
}

/** After a step failed for good: the job is failed (the first reason kept), its upload deleted. */
export async function failImportJob(env: Bindings, jobId: string, message: string): Promise<void> {
	await markFailed(env, jobId, message);
	await forgetImportChunks(env, jobId);
	await env.JOB_FILES.delete(uploadKey(jobId));
}

export class ImportWorkflow extends WorkflowEntrypoint<Bindings, JobParams> {
	override async run(event: Readonly<WorkflowEvent<JobParams>>, step: WorkflowStep): Promise<JobCounts> {
		const { jobId } = event.payload;
		let at = "before the first line";
		try {
			const planned = await step.do("plan", STEP, () => planImportJob(this.env, jobId));
			const { plan } = planned;
			let counts = planned.counts;
			for (const [index, part] of plan.parts.entries()) {
				const nextPart = plan.parts[index + 1];
				// Parts the request imported itself are skipped.
				if (nextPart && nextPart.firstLine <= planned.fromLine) continue;
				let from = Math.max(part.firstLine, planned.fromLine);
				for (;;) {
					at = `at line ${from}`;
					const name = from === part.firstLine ? `part ${index + 1}` : `part ${index + 1} from line ${from}`;
					const before = counts;
					const result = await step.do(name, STEP, () =>
						runImportPart(this.env, { jobId, plan, index, fromLine: from, before }),
					);
					counts = addReport(counts, result.report);
					if (result.next === null) break;
					from = result.next;
				}
			}
			const total = counts;
			await step.do("finish", STEP, () => finishImportJob(this.env, jobId, total));
			return counts;
		} catch (error) {
			const message = `The import stopped ${at} after repeated failures; the lines before it were applied. Send the file again to finish it (imports are idempotent).`;
			await step.do("failed", STEP, () => failImportJob(this.env, jobId, message));
			throw error;
		}
	}
}
