/**
 * Export jobs: a CSV export of any size, written to JOB_FILES a part at a time.
 *
 * The workflow (ExportWorkflow, `consent-edge-export`), each step a plain function of the env:
 *
 * 1. "count" (countExportJob): the matching rows (the job's total); the job is running.
 * 2. "part N" (runExportStep): from the cursor the previous step returned, up to
 *    EXPORT_PAGES_PER_STEP keyset pages (one query each, the same pages and encoding as the
 *    synchronous export) or EXPORT_PART_BYTES, written as the object exports/<job>/part-NNNNNN.csv;
 *    returns the new cursor. A retried step starts from the same cursor and overwrites the same
 *    object, so it is idempotent.
 * 3. "finish" (finishExportJob): done; the download streams the parts in order.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { TopicDefinition } from "../consent/types";
import { findJob, insertJob, type Job, markDone, markFailed, markRunning, setProgress } from "../db/jobs";
import type { Bindings } from "../env";
import {
	type ContactExportFilter,
	contactsCsv,
	type EventExportFilter,
	type ExportSource,
	eventsCsv,
} from "../exports/exports";
import { yieldToEventLoop } from "../parallel";
import { concatenated, dispose, type JobParams, STEP } from "./jobs";
import { EXPORT_PAGES_PER_STEP, EXPORT_PART_BYTES } from "./limits";

/** What an export job was asked: the export and its filters, as the route resolved them. */
export type ExportJobOptions =
	| {
			what: "contacts";
			filter: ContactExportFilter;
			/** The topic columns, fixed when the job was made. */
			columns: TopicDefinition[];
	  }
	| { what: "events"; filter: EventExportFilter };

export const exportPrefix = (jobId: string) => `exports/${jobId}/`;
const partKey = (jobId: string, part: number) => `${exportPrefix(jobId)}part-${String(part).padStart(6, "0")}.csv`;

/** The export the options describe (the same source as the synchronous export's). */
export function exportSource(env: Bindings, options: ExportJobOptions): ExportSource<unknown> {
	return (
		options.what === "contacts" ? contactsCsv(env, options.filter, options.columns) : eventsCsv(env, options.filter)
	) as ExportSource<unknown>;
}

/** Creates the job's row and starts its workflow. */
export async function startExportJob(
	env: Bindings,
	job: { id: string; businessUnit: string | null; options: ExportJobOptions },
): Promise<Job> {
	const row = await insertJob(env, {
		id: job.id,
		kind: "export",
		businessUnit: job.businessUnit,
		options: job.options,
		resultKey: exportPrefix(job.id),
	});
	try {
		dispose(await env.EXPORT_WORKFLOW.create({ id: job.id, params: { jobId: job.id } }));
	} catch (error) {
		await markFailed(env, job.id, "The job could not be started; ask again.");
		throw error;
	}
	return row;
}

async function exportJob(env: Bindings, jobId: string): Promise<Job & { options: ExportJobOptions }> {
	const job = await findJob(env, jobId);
	if (job?.kind !== "export") {
		await markFailed(env, jobId, `There is no export job ${jobId}.`);
		throw new NonRetryableError(`There is no export job ${jobId}.`);
	}
	return job as Job & { options: ExportJobOptions };
}

/** Step "count": the rows the export will have (null when counting failed); the job is running. */
export async function countExportJob(env: Bindings, jobId: string): Promise<number | null> {
	const job = await exportJob(env, jobId);
	let total: number | null = null;
	try {
		total = await exportSource(env, job.options).count(null);
	} catch (error) {
		// The total is for progress only: the export goes on without it.
		console.error("export job: counting failed:", String(error));
	}
	await markRunning(env, jobId, total);
	return total;
}

export interface ExportStepResult {
	/** The key of the last row written so far (null: none yet). */
	after: string | number | null;
	/** Rows written so far. */
	processed: number;
	/** Whether the export has every row now. */
	done: boolean;
}

const encoder = new TextEncoder();

/**
 * Step "part N": rows after `after`, page by page, until the export ends, EXPORT_PAGES_PER_STEP
 * pages were read or the part holds EXPORT_PART_BYTES; written as part N (part 1 starts with the
 * header). Queries: the job, the pages, the progress.
 */
export async function runExportStep(
	env: Bindings,
	input: { jobId: string; part: number; after: string | number | null; processed: number },
): Promise<ExportStepResult> {
	const job = await exportJob(env, input.jobId);
	const source = exportSource(env, job.options);
	const chunks: Uint8Array[] = [];
	let bytes = 0;
	const push = (text: string) => {
		if (text === "") return;
		const chunk = encoder.encode(text);
		chunks.push(chunk);
		bytes += chunk.byteLength;
	};
	if (input.part === 1) push(source.header);
	let after = input.after;
	let processed = input.processed;
	let done = false;
	for (let pages = 0; pages < EXPORT_PAGES_PER_STEP && bytes < EXPORT_PART_BYTES; pages++) {
		await yieldToEventLoop();
		const rows = await source.fetchAfter(after);
		let text = "";
		for (const row of rows) text += source.encode(row);
		push(text);
		processed += rows.length;
		const last = rows.at(-1);
		if (last !== undefined) after = source.keyOf(last);
		if (rows.length < source.pageSize) {
			done = true;
			break;
		}
	}
	await env.JOB_FILES.put(partKey(input.jobId, input.part), new Blob(chunks), {
		httpMetadata: { contentType: "text/csv; charset=utf-8" },
	});
	await setProgress(env, input.jobId, { processed });
	return { after, processed, done };
}

/** Step "finish": the job is done; its file is the parts under resultKey. */
export async function finishExportJob(env: Bindings, jobId: string, processed: number): Promise<void> {
	await markDone(env, jobId, { processed, resultKey: exportPrefix(jobId) });
}

/** After a step failed for good: the job is failed and its parts deleted. */
export async function failExportJob(env: Bindings, jobId: string, message: string): Promise<void> {
	await markFailed(env, jobId, message);
	const keys = (await partsOf(env, jobId)).map((object) => object.key);
	if (keys.length > 0) await env.JOB_FILES.delete(keys);
}

/** The objects of an export's file, in order. */
async function partsOf(env: Bindings, jobId: string): Promise<R2Object[]> {
	const objects: R2Object[] = [];
	let cursor: string | undefined;
	for (;;) {
		const page = await env.JOB_FILES.list({ prefix: exportPrefix(jobId), cursor });
		objects.push(...page.objects);
		if (!page.truncated) break;
		cursor = page.cursor;
	}
	return objects.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** The finished export as one stream (its parts one after the other, read as the client reads), and its size. */
export async function exportFile(env: Bindings, jobId: string): Promise<{ body: ReadableStream; size: number }> {
	const parts = await partsOf(env, jobId);
	const size = parts.reduce((sum, part) => sum + part.size, 0);
	const body = concatenated(
		parts.map((part) => async () => {
			const object = await env.JOB_FILES.get(part.key);
			if (!object) throw new Error("a part of the export is gone");
			return object.body;
		}),
	);
	const fixed = new FixedLengthStream(size);
	body.pipeTo(fixed.writable).catch((error) => console.error("export download failed:", String(error)));
	return { body: fixed.readable, size };
}

export class ExportWorkflow extends WorkflowEntrypoint<Bindings, JobParams> {
	override async run(event: Readonly<WorkflowEvent<JobParams>>, step: WorkflowStep): Promise<{ processed: number }> {
		const { jobId } = event.payload;
		try {
			await step.do("count", STEP, () => countExportJob(this.env, jobId));
			let state: ExportStepResult = { after: null, processed: 0, done: false };
			let part = 0;
			while (!state.done) {
				part++;
				const input = { jobId, part, after: state.after, processed: state.processed };
				state = await step.do(`part ${part}`, STEP, () => runExportStep(this.env, input));
			}
			const processed = state.processed;
			await step.do("finish", STEP, () => finishExportJob(this.env, jobId, processed));
			return { processed };
		} catch (error) {
			await step.do("failed", STEP, () =>
				failExportJob(this.env, jobId, "The export failed after repeated attempts; ask for it again."),
			);
			throw error;
		}
	}
}
