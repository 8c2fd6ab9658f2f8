/**
 * What import and export jobs share: ids, who may read a job, the retry policy of their steps, and
 * the messages a failed job keeps.
 */
import type { WorkflowStepConfig } from "cloudflare:workers";
import { type Job, type JobKind, markFailed } from "../db/jobs";
import type { Principal } from "../http/principal";

/** The parameters every job workflow starts with: the rest is in the job's row. */
export interface JobParams {
	jobId: string;
}

const PREFIX: Record<JobKind, string> = { import: "imp_", export: "exp_" };

/** A new job id, also the id of its workflow instance: `imp_` or `exp_` and 32 hex digits. */
export function newJobId(kind: JobKind): string {
	return `${PREFIX[kind]}${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Whether `id` can be a job of this kind (anything else is a 404 without a query). */
export const isJobId = (kind: JobKind, id: string) => new RegExp(`^${PREFIX[kind]}[0-9a-f]{32}$`).test(id);

/**
 * Keys limited to business units read only the jobs started by keys of their units; unlimited keys
 * read every job. A job the key may not read is answered as if it did not exist.
 */
export function mayRead(principal: Principal, job: Job): boolean {
	if (!principal.businessUnits) return true;
	return job.businessUnit !== null && principal.businessUnits.includes(job.businessUnit);
}

/** The business unit a new job is kept under: the one it names, for a key limited to units. */
export function jobBusinessUnit(principal: Principal, named: string | undefined): string | null {
	if (!principal.businessUnits) return null;
	return named && principal.businessUnits.includes(named) ? named : (principal.businessUnits[0] ?? null);
}

/**
 * Every step: retried 5 times, 10 s, 20 s, 40 s … apart, at most 10 minutes each. A step's work
 * is idempotent (see each workflow), so a retry after a partial attempt changes nothing twice.
 */
export const STEP: WorkflowStepConfig = {
	retries: { limit: 5, delay: "10 seconds", backoff: "exponential" },
	timeout: "10 minutes",
};

/** A failure no retry can fix: the step marks the job failed with `message` and ends the workflow. */
export class JobFailure extends Error {}

/** A queued or running job whose row has not changed for this long is checked against its workflow. */
const STALE_MS = 60_000;

/**
 * The job as it stands. A job still queued or running, whose row has not moved for a minute and
 * whose workflow instance has ended in error or was terminated (by an operator), is failed: its row
 * says so from now on.
 */
export async function currentJob(workflow: Workflow<JobParams>, db: { DB: D1Database }, job: Job): Promise<Job> {
	if (job.status !== "queued" && job.status !== "running") return job;
	// A job that moved within the last minute is alive: no need to ask its workflow.
	if (Date.now() - Date.parse(job.updatedAt) < STALE_MS) return job;
	let instance: InstanceStatus;
	try {
		const handle = await workflow.get(job.id);
		instance = await handle.status();
		dispose(handle);
	} catch {
		return job;
	}
	if (instance.status !== "errored" && instance.status !== "terminated") return job;
	const error =
		instance.status === "terminated"
			? "The job was stopped by an operator."
			: "The job failed after repeated attempts.";
	await markFailed(db, job.id, error);
	return { ...job, status: "failed", error: job.error ?? error };
}

/** Releases an RPC stub (a workflow instance handle) now instead of when it is collected. */
export function dispose(stub: unknown): void {
	const symbol = (Symbol as unknown as { dispose?: symbol }).dispose;
	const release = symbol && stub ? (stub as Record<symbol, unknown>)[symbol] : undefined;
	if (typeof release === "function") release.call(stub);
}

/**
 * One stream of several, one after the other; each is opened only when the one before has ended
 * (an R2 read per part, never all at once). `open` answers null for a piece that is empty.
 */
export function concatenated(opens: ReadonlyArray<() => Promise<ReadableStream<Uint8Array> | null>>) {
	let index = 0;
	let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
	return new ReadableStream<Uint8Array>(
		{
			async pull(controller) {
				for (;;) {
					if (!reader) {
						const open = opens[index++];
						if (!open) {
							controller.close();
							return;
						}
						reader = (await open())?.getReader() ?? null;
						if (!reader) continue;
					}
					const { done, value } = await reader.read();
					if (!done) {
						controller.enqueue(value);
						return;
					}
					reader = null;
				}
			},
			async cancel(reason) {
				await reader?.cancel(reason);
			},
		},
		{ highWaterMark: 0 },
	);
}
