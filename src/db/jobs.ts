/**
 * The jobs table (src/jobs/): imports and exports too large for one invocation, run as Workflows.
 * Every statement of a job step is here; each is one query.
 */
import { and, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { database } from "./client";
import { importChunks, jobs } from "./schema";

export type JobKind = "import" | "export";
export type JobStatus = "queued" | "running" | "done" | "failed";

export interface JobLineError {
	line: number;
	error: string;
	message: string;
}

/** An import's counts (exports use `processed` only). */
export interface JobCounts {
	processed: number;
	created: number;
	updated: number;
	unchanged: number;
	failed: number;
	errors: JobLineError[];
	errorsTruncated: boolean;
}

export interface Job extends JobCounts {
	id: string;
	kind: JobKind;
	status: JobStatus;
	businessUnit: string | null;
	options: unknown;
	total: number | null;
	error: string | null;
	resultKey: string | null;
	createdAt: string;
	updatedAt: string;
}

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export async function insertJob(
	env: { DB: D1Database },
	job: {
		id: string;
		kind: JobKind;
		businessUnit: string | null;
		options: unknown;
		resultKey: string | null;
		counts?: JobCounts;
	},
): Promise<Job> {
	const [row] = await database(env)
		.insert(jobs)
		.values({
			id: job.id,
			kind: job.kind,
			businessUnit: job.businessUnit,
			options: job.options,
			resultKey: job.resultKey,
			...(job.counts ?? {}),
		})
		.returning();
	return row as Job;
}

export async function findJob(env: { DB: D1Database }, id: string): Promise<Job | null> {
	const [row] = await database(env).select().from(jobs).where(eq(jobs.id, id)).limit(1);
	return (row as Job | undefined) ?? null;
}

/** The newest jobs first (the admin page). */
export async function recentJobs(env: { DB: D1Database }, limit: number): Promise<Job[]> {
	return (await database(env).select().from(jobs).orderBy(desc(jobs.createdAt), desc(jobs.id)).limit(limit)) as Job[];
}

/** The job started: its size, when known. A job that ended stays as it ended. */
export async function markRunning(env: { DB: D1Database }, id: string, total: number | null): Promise<void> {
	await database(env)
		.update(jobs)
		.set({ status: "running", total, updatedAt: now })
		.where(and(eq(jobs.id, id), inArray(jobs.status, ["queued", "running"])));
}

/**
 * How far the job got: counts as they are now (not added to what is stored), so that writing them
 * again, as a retried step does, changes nothing.
 */
export async function setProgress(
	env: { DB: D1Database },
	id: string,
	counts: Partial<JobCounts> & { resultKey?: string | null },
	status: "running" | "done" = "running",
): Promise<void> {
	await database(env)
		.update(jobs)
		.set({ ...counts, status, updatedAt: now })
		.where(and(eq(jobs.id, id), inArray(jobs.status, ["queued", "running"])));
}

/** The job ended with its file at `resultKey` (an export). */
export async function markDone(
	env: { DB: D1Database },
	id: string,
	done: Partial<JobCounts> & { resultKey?: string | null },
): Promise<void> {
	await setProgress(env, id, done, "done");
}

/** The job failed; the first reason given is kept. A job that is done stays done. */
export async function markFailed(env: { DB: D1Database }, id: string, error: string): Promise<void> {
	await database(env)
		.update(jobs)
		.set({ status: "failed", error: sql`coalesce(${jobs.error}, ${error})`, updatedAt: now })
		.where(and(eq(jobs.id, id), inArray(jobs.status, ["queued", "running", "failed"])));
}

/** An import job's chunk records, once the job has ended: they only serve its retried steps. */
export async function forgetImportChunks(env: { DB: D1Database }, jobId: string): Promise<void> {
	await database(env).delete(importChunks).where(eq(importChunks.jobId, jobId));
}

/** The rows a query answers, counted in SQLite (the query's own LIMIT bounds the work). */
export async function countRows(env: { DB: D1Database }, query: SQL): Promise<number> {
	const [row] = await database(env).all<{ n: number }>(sql`SELECT count(*) AS n FROM (${query})`);
	return row?.n ?? 0;
}
