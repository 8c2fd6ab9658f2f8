// Contacts import (bench/README.md, suite `imports`), each part in a worker of its own:
// 1. 100,000 new contacts (--quick 20,000) through POST /v1/imports/contacts in requests of 5,000
//    lines (the synchronous limit), PARALLEL at a time, against /__bench/raw-insert-contacts (the
//    same rows: contacts with their keyed hash, a ledger row and an idempotency key each, by one D1
//    batch of INSERT … SELECT over json_each) in the same requests: lines/s, aim ≥ 0.2x the raw rate.
// 2. The same lines imported again (all unchanged) against /__bench/raw-import-lookup (the identity
//    lookups of the same lines, one D1 batch per request): aim ≤ 1.5x the raw time.
// 3. An import job: 1,000,000 new lines (--quick 100,000) streamed to POST
//    /v1/imports/contacts?async=true, GET /v1/imports/{id} polled until done: lines/s, and the
//    worker's RSS over the job, against raw inserts of as many rows in another fresh worker (their
//    rate and their RSS: the local database's own growth). Flat: the job's RSS does not grow with
//    the lines beyond that. "not available" when the route answers anything but 202 to a probe.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { request, requestJson, uploadStream } from "../lib/http.mjs";
import { rssNow, workerdProcesses } from "../lib/procmem.mjs";
import { ensureContacts } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtRatio, median } from "../lib/stats.mjs";

export const name = "imports";
export const title = "Contacts import: synchronous requests and the import job";

const IMPORT_PATH = "/v1/imports/contacts";
/** Lines per synchronous request: the service's synchronous limit (src/jobs/limits.ts SYNC_IMPORT_LINES). */
const REQUEST_LINES = 5_000;
/** Requests in flight at once, for the import and for its baselines alike. */
const PARALLEL = 2;
const AIM_NEW_SHARE = 0.2;
const AIM_REIMPORT_RATIO = 1.5;
/** How much more than the raw inserts' the job's RSS may grow in its second half and still be flat. */
const FLAT_SLACK_BYTES = 64 * 1024 * 1024;
const MIB = 1024 * 1024;
const HEADER = "email,optedOut:email\r\n";

const fmtMiB = (bytes) => (Number.isFinite(bytes) ? `${fmt(bytes / MIB, 0)} MiB` : "n/a");
const fmtSignedMiB = (bytes) =>
	Number.isFinite(bytes) ? `${bytes >= 0 ? "+" : "−"}${fmtMiB(Math.abs(bytes))}` : "n/a";
const seconds = (ms) => (ms >= 60_000 ? `${fmt(ms / 60_000, 1)} min` : `${fmt(ms / 1000, ms < 10_000 ? 2 : 1)} s`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fixed-width addresses, so a file's length is known before it is made. */
const address = (prefix, n) => `${prefix}${String(n).padStart(7, "0")}@example.com`;
const lineOf = (prefix, n) => `${address(prefix, n)},true\r\n`;

/** Lines from..to (1-based) as one CSV with its header. */
const csvOf = (prefix, from, to) => {
	let text = HEADER;
	for (let n = from; n <= to; n++) text += lineOf(prefix, n);
	return text;
};

/** A large CSV as chunks of 10,000 lines, made as they are sent; and its length in bytes. */
function streamedCsv(prefix, lines) {
	const length = Buffer.byteLength(HEADER) + lines * Buffer.byteLength(lineOf(prefix, 1));
	function* chunks() {
		yield Buffer.from(HEADER);
		for (let from = 1; from <= lines; from += 10_000) {
			let text = "";
			for (let n = from; n <= Math.min(lines, from + 9_999); n++) text += lineOf(prefix, n);
			yield Buffer.from(text);
		}
	}
	return { length, chunks };
}

/** Runs `work(i)` for i in 0..count-1, `parallel` at a time; answers the results in order. */
async function inParallel(count, parallel, work) {
	const results = new Array(count);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(parallel, count) }, async () => {
			while (next < count) {
				const i = next++;
				results[i] = await work(i);
			}
		}),
	);
	return results;
}

/**
 * An import job until it is done or failed (or `budgetMs` passed); `onPoll(job)` sees every answer.
 * Locally, while a workflow instance runs, the worker may answer no other request until it has
 * ended (Miniflare's local Workflows; bench/README.md), so a poll may take as long as the job: each
 * one may wait for the rest of the budget.
 */
async function pollJob(target, location, { budgetMs, intervalMs = 1000, onPoll = () => {} }) {
	const deadline = performance.now() + budgetMs;
	let last = null;
	for (;;) {
		const left = deadline - performance.now();
		if (left <= 0) return { job: last, finished: false };
		let json;
		try {
			({ json } = await requestJson(target.baseUrl, location, {
				headers: target.authHeaders,
				agent: false,
				timeoutMs: Math.max(left, 1000),
			}));
		} catch (error) {
			if (/no answer within/.test(error.message)) return { job: last, finished: false };
			throw error;
		}
		last = json;
		onPoll(json);
		if (json.status === "done" || json.status === "failed") return { job: json, finished: true };
		await sleep(intervalMs);
	}
}

/** Bytes of the local D1 database's files (not its metadata) in a worker's state directory. */
function databaseBytes(persistTo) {
	let total = 0;
	const walk = (dir) => {
		let entries;
		try {
			entries = readdirSync(dir, { withFileTypes: true });
		} catch {
			return;
		}
		for (const entry of entries) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (/\.sqlite(-wal)?$/.test(entry.name) && !entry.name.startsWith("metadata.")) {
				try {
					total += statSync(path).size;
				} catch {
					// rotated away
				}
			}
		}
	};
	walk(join(persistTo, "v3", "d1"));
	return total;
}

/**
 * One synchronous import request. A 202 (the service handed the rest to a job) is followed to the
 * end and counted in the request's time. Answers the report and the time.
 */
async function importRequest(target, csv, expect) {
	const started = performance.now();
	const response = await request(target.baseUrl, `${IMPORT_PATH}?businessUnit=default`, {
		method: "POST",
		headers: { authorization: target.authHeaders.authorization, "content-type": "text/csv" },
		body: csv,
		agent: false,
		timeoutMs: 1_800_000,
	});
	let report;
	let job = false;
	if (response.status === 200) report = JSON.parse(response.body.toString("utf8"));
	else if (response.status === 202) {
		job = true;
		const { job: done, finished } = await pollJob(target, response.headers.location, {
			budgetMs: 1_800_000,
			intervalMs: 100,
		});
		if (!finished || done.status !== "done")
			throw new Error(`import job ${done.id}: ${JSON.stringify(done).slice(0, 300)}`);
		report = done;
	} else {
		throw new Error(`POST ${IMPORT_PATH}: ${response.status} ${response.body.toString("utf8", 0, 500)}`);
	}
	const ms = performance.now() - started;
	const counts = `processed ${report.processed}, created ${report.created}, updated ${report.updated}, unchanged ${report.unchanged}, failed ${report.failed}`;
	if (report.failed > 0)
		throw new Error(`import: ${counts}; first errors: ${JSON.stringify(report.errors?.slice(0, 3))}`);
	for (const [key, value] of Object.entries(expect)) {
		if (report[key] !== value)
			throw new Error(`import of ${REQUEST_LINES} lines: expected ${key} ${value}, got ${counts}`);
	}
	return { ms, job };
}

/**
 * A side of a comparison: `requests` calls of `call(i)`, PARALLEL at a time, in groups of PARALLEL
 * that take turns with the other side's groups (see measurePair). Answers the wall time summed.
 */
async function measurePair(ctx, what, requests, sides) {
	const totals = sides.map(() => ({ ms: 0, jobs: 0 }));
	for (let group = 0; group * PARALLEL < requests; group++) {
		const first = group * PARALLEL;
		const count = Math.min(PARALLEL, requests - first);
		const order = group % 2 === 0 ? sides.map((_, s) => s) : sides.map((_, s) => sides.length - 1 - s);
		for (const s of order) {
			const started = performance.now();
			const results = await inParallel(count, PARALLEL, (i) => sides[s].call(first + i));
			totals[s].ms += performance.now() - started;
			totals[s].jobs += results.filter((result) => result?.job).length;
		}
	}
	const lines = requests * REQUEST_LINES;
	ctx.log(
		`  ${what}: ${sides.map((side, s) => `${side.label} ${fmtInt((lines / totals[s].ms) * 1000)} lines/s (${seconds(totals[s].ms)})`).join(", ")}`,
	);
	return totals;
}

async function measureSync(ctx) {
	const quick = ctx.options.quick;
	const lines = quick ? 20_000 : 100_000;
	const requests = lines / REQUEST_LINES;
	const reimportRounds = quick ? 1 : 2;
	const target = await ctx.startWorker("imports");
	try {
		const seeded = await ensureContacts(target, quick ? 20_000 : 100_000);
		const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
		const importPrefix = `imp-${tag}-`;
		const rawPrefix = `raw-${tag}-`;
		const bodies = Array.from({ length: requests }, (_, r) =>
			csvOf(importPrefix, r * REQUEST_LINES + 1, (r + 1) * REQUEST_LINES),
		);
		const rawBody = (r) =>
			JSON.stringify({
				businessUnit: "default",
				emails: Array.from({ length: REQUEST_LINES }, (_, i) => address(rawPrefix, r * REQUEST_LINES + i + 1)),
			});
		const lookupBodies = Array.from({ length: requests }, (_, r) =>
			JSON.stringify({
				businessUnit: "default",
				batchLines: REQUEST_LINES,
				lines: Array.from({ length: REQUEST_LINES }, (_, i) => [
					null,
					address(importPrefix, r * REQUEST_LINES + i + 1),
					null,
				]),
			}),
		);
		const post = (path, body) =>
			requestJson(target.baseUrl, path, {
				method: "POST",
				headers: target.authHeaders,
				body,
				agent: false,
				timeoutMs: 600_000,
			});

		// Warm-up: one small import and one small raw insert (their contacts are left in place).
		await importRequest(target, csvOf(`warm-${tag}-`, 1, 100), { created: 100 });
		await post(
			"/__bench/raw-insert-contacts",
			JSON.stringify({
				businessUnit: "default",
				emails: Array.from({ length: 100 }, (_, i) => address(`rawwarm-${tag}-`, i + 1)),
			}),
		);

		ctx.log(
			`import of ${fmtInt(lines)} new contacts in requests of ${fmtInt(REQUEST_LINES)} lines, ${PARALLEL} at a time`,
		);
		const [created, rawInsert] = await measurePair(ctx, "new contacts", requests, [
			{
				label: "import",
				call: (r) => importRequest(target, bodies[r], { created: REQUEST_LINES, updated: 0, unchanged: 0 }),
			},
			{
				label: "raw insert",
				call: async (r) => {
					const { json } = await post("/__bench/raw-insert-contacts", rawBody(r));
					for (const key of ["contacts", "ledger", "idempotencyKeys"]) {
						if (json[key] !== REQUEST_LINES) throw new Error(`raw-insert-contacts wrote ${json[key]} ${key}`);
					}
				},
			},
		]);
		// Every imported contact exists once, with its Opt Out in the ledger.
		const check = async (sql) => (await target.post("/__bench/sql", { sql, params: [`${importPrefix}%`] })).json.rows;
		const contacts = await check("SELECT id FROM contacts WHERE email LIKE ?1");
		const ledger = await check(
			"SELECT l.id FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.email LIKE ?1 AND l.source = 'import' AND l.event = 'Opt Out'",
		);
		if (contacts !== lines || ledger !== lines) {
			throw new Error(`after importing ${lines} new contacts: ${contacts} contacts, ${ledger} Opt Out ledger rows`);
		}

		ctx.log(`re-import of the same ${fmtInt(lines)} lines (all unchanged), ${reimportRounds} rounds`);
		const reimports = [];
		for (let round = 0; round < reimportRounds; round++) {
			const sides = [
				{
					label: "re-import",
					call: (r) => importRequest(target, bodies[r], { created: 0, updated: 0, unchanged: REQUEST_LINES }),
				},
				{
					label: "raw lookups",
					call: async (r) => {
						const { json } = await post("/__bench/raw-import-lookup", lookupBodies[r]);
						if (json.contacts !== REQUEST_LINES) throw new Error(`raw-import-lookup found ${json.contacts} contacts`);
					},
				},
			];
			const [reimport, lookup] = await measurePair(ctx, `round ${round + 1}`, requests, sides);
			reimports.push({ reimport, lookup });
		}
		return { lines, requests, seeded: seeded.after, created, rawInsert, reimports };
	} finally {
		await target.stop();
	}
}

/**
 * Samples every `intervalMs` the RSS of the worker's workerd processes, the size of its local
 * database's files (how far a job got, while the worker may answer nothing) and `done()` (rows the
 * caller knows are written), keeping every sample.
 */
function rssSeries(processes, persistTo, done = () => Number.NaN, intervalMs = 250) {
	const started = performance.now();
	const samples = [];
	const take = () =>
		samples.push({
			at: performance.now() - started,
			rss: processes ? rssNow(processes) : Number.NaN,
			dbBytes: persistTo ? databaseBytes(persistTo) : Number.NaN,
			done: done(),
		});
	take();
	const timer = setInterval(take, intervalMs);
	return {
		samples,
		stop() {
			clearInterval(timer);
			take();
			return samples;
		},
	};
}

/**
 * The memory baseline of the job: the same number of new contacts written by raw inserts
 * (/__bench/raw-insert-contacts, PARALLEL requests of REQUEST_LINES at a time) in a worker of its
 * own with an empty database, as the job's: its rate, and its RSS at each share of the rows.
 */
async function measureRawInserts(ctx, lines, tag) {
	const target = await ctx.startWorker("import-raw");
	try {
		const processes = workerdProcesses(target.processGroup, new URL(target.baseUrl).port);
		let written = 0;
		const series = rssSeries(processes, null, () => written);
		const started = performance.now();
		await inParallel(lines / REQUEST_LINES, PARALLEL, async (r) => {
			const emails = Array.from({ length: REQUEST_LINES }, (_, i) =>
				address(`rawjob-${tag}-`, r * REQUEST_LINES + i + 1),
			);
			const { json } = await requestJson(target.baseUrl, "/__bench/raw-insert-contacts", {
				method: "POST",
				headers: target.authHeaders,
				body: JSON.stringify({ businessUnit: "default", emails }),
				agent: false,
				timeoutMs: 600_000,
			});
			if (json.contacts !== REQUEST_LINES) throw new Error(`raw-insert-contacts wrote ${json.contacts} contacts`);
			written += REQUEST_LINES;
		});
		const ms = performance.now() - started;
		const samples = series.stop();
		ctx.log(
			`  raw inserts of ${fmtInt(lines)} rows (another worker): ${fmtInt((lines / ms) * 1000)} rows/s (${seconds(ms)})`,
		);
		return { lines, ms, finished: true, endedMs: ms, samples };
	} finally {
		await target.stop();
	}
}

async function measureJob(ctx) {
	const quick = ctx.options.quick;
	const lines = quick ? 100_000 : 1_000_000;
	// A slow job is reported as far as it got: the run stays bounded.
	const budgetMs = quick ? 240_000 : 600_000;
	const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
	const target = await ctx.startWorker("import-job");
	let result;
	try {
		const processes = workerdProcesses(target.processGroup, new URL(target.baseUrl).port);

		// The probe: a one-line file as a job. Anything but 202 means the route is not there (yet).
		const probe = await request(target.baseUrl, `${IMPORT_PATH}?async=true&businessUnit=bench-probe`, {
			method: "POST",
			headers: { authorization: target.authHeaders.authorization, "content-type": "text/csv" },
			body: csvOf(`probe-${tag}-`, 1, 1),
			agent: false,
		});
		if (probe.status !== 202 || !probe.headers.location) {
			const reason = `POST ${IMPORT_PATH}?async=true answered ${probe.status}${probe.headers.location ? "" : " without a Location"}: ${probe.body.toString("utf8", 0, 200)}`;
			ctx.log(`  import job not available: ${reason}`);
			return { available: false, reason, lines };
		}
		const probeDone = await pollJob(target, probe.headers.location, { budgetMs: 120_000, intervalMs: 200 });
		if (!probeDone.finished || probeDone.job.status !== "done" || probeDone.job.created !== 1) {
			const reason = `the one-line probe job ended ${JSON.stringify(probeDone.job).slice(0, 300)}`;
			ctx.log(`  import job not available: ${reason}`);
			return { available: false, reason, lines };
		}

		const csv = streamedCsv(`job-${tag}-`, lines);
		ctx.log(
			`import job: ${fmtInt(lines)} new lines (${fmt(csv.length / MIB, 1)} MiB) streamed to ${IMPORT_PATH}?async=true`,
		);
		const series = rssSeries(processes, target.persistTo);
		const polls = [];
		const started = performance.now();
		const upload = await uploadStream(target.baseUrl, `${IMPORT_PATH}?async=true&businessUnit=default`, {
			headers: { authorization: target.authHeaders.authorization, "content-type": "text/csv" },
			chunks: csv.chunks(),
			length: csv.length,
			timeoutMs: 600_000,
		});
		if (upload.status !== 202) {
			series.stop();
			throw new Error(
				`POST ${IMPORT_PATH}?async=true of ${lines} lines: ${upload.status} ${upload.body.toString("utf8", 0, 300)}`,
			);
		}
		const acceptedMs = performance.now() - started;
		const accepted = JSON.parse(upload.body.toString("utf8"));
		let lastLog = performance.now();
		const { job: polled, finished } = await pollJob(target, upload.headers.location, {
			budgetMs,
			onPoll(json) {
				polls.push({ at: performance.now() - started, processed: json.processed, status: json.status });
				if (performance.now() - lastLog > 15_000 && json.status !== "done") {
					lastLog = performance.now();
					ctx.log(
						`  ${json.status}: ${fmtInt(json.processed)} of ${fmtInt(json.total ?? lines)} lines after ${seconds(performance.now() - started)}${processes ? `, RSS ${fmtMiB(rssNow(processes))}` : ""}`,
					);
				}
			},
		});
		const endedMs = performance.now() - started;
		const samples = series.stop();
		const job = polled ?? { status: "running", processed: Number.NaN, created: Number.NaN, failed: Number.NaN };
		if (job.status === "failed")
			throw new Error(`import job ${job.id} failed: ${job.error ?? JSON.stringify(job).slice(0, 300)}`);
		if (finished && (job.created !== lines || job.failed !== 0)) {
			throw new Error(
				`import job of ${lines} new lines: created ${job.created}, failed ${job.failed}, processed ${job.processed}`,
			);
		}
		ctx.log(
			`  ${finished ? "done" : `not done after ${seconds(budgetMs)}`}: ${fmtInt(job.processed)} lines in ${seconds(endedMs)} (${fmtInt((job.processed / endedMs) * 1000)} lines/s; accepted after ${seconds(acceptedMs)})`,
		);
		result = {
			available: true,
			lines,
			bytes: csv.length,
			finished,
			budgetMs,
			id: accepted.id,
			acceptedMs,
			endedMs,
			job: { status: job.status, processed: job.processed, total: job.total, created: job.created, failed: job.failed },
			polls,
			samples,
		};
	} finally {
		await target.stop();
	}
	result.raw = await measureRawInserts(ctx, lines, tag);
	return result;
}

export async function measure(ctx) {
	if (ctx.runtime === "wrangler-dev") {
		ctx.log("  skipped under wrangler dev (see bench/README.md)");
		return { skipped: true };
	}
	const sync = await measureSync(ctx);
	const job = await measureJob(ctx);
	return { sync, job };
}

// ---------------------------------------------------------------------------------------------

/**
 * How far a run was at each sample, 0..1: rows the caller counted (the raw inserts), or for the job
 * the growth of the local database's files (the worker may answer no poll while the job runs; see
 * pollJob) when it finished and they grew, else the time.
 */
function progressOf(data) {
	const { samples } = data;
	const last = samples[samples.length - 1];
	if (Number.isFinite(last?.done)) return { by: "rows", at: (sample) => sample.done / data.lines };
	const first = samples[0]?.dbBytes;
	if (data.finished && Number.isFinite(first) && last.dbBytes > first) {
		return { by: "database", at: (sample) => (sample.dbBytes - first) / (last.dbBytes - first) };
	}
	return { by: "time", at: (sample) => sample.at / data.endedMs };
}

/** The RSS when the run was `share` (0..1) of the way through its lines. */
function rssAtShare(data, share) {
	const progress = progressOf(data);
	const sample = data.samples.find((s) => progress.at(s) >= share - 1e-9) ?? data.samples[data.samples.length - 1];
	return sample?.rss ?? Number.NaN;
}

function memoryOf(data) {
	const rss = data.samples.map((s) => s.rss);
	const at10 = rssAtShare(data, 0.1);
	const at50 = rssAtShare(data, 0.5);
	const at100 = rssAtShare(data, 1);
	return {
		start: rss[0],
		peak: Math.max(...rss),
		end: rss[rss.length - 1],
		at10,
		at50,
		at100,
		firstHalf: at50 - at10,
		secondHalf: at100 - at50,
	};
}

/**
 * Flat: from 50% to 100% of the lines the job's RSS grows by no more than the raw inserts' RSS
 * grows over the same rows (the local database's own share) plus FLAT_SLACK_BYTES. Memory that
 * grows with the lines keeps growing in the second half; a cache that fills up does not.
 */
function jobMemory(data) {
	const job = memoryOf(data);
	const raw = memoryOf(data.raw);
	const allowed = Math.max(0, raw.secondHalf) + FLAT_SLACK_BYTES;
	return { ...job, raw, allowed, flat: job.secondHalf <= allowed };
}

function aimsFor(data) {
	const aims = [];
	if (data.sync) {
		const { sync } = data;
		const share = sync.rawInsert.ms / sync.created.ms;
		aims.push({
			what: `import of ${fmtInt(sync.lines)} new contacts (lines/s) vs. raw inserts of the same rows`,
			aim: `≥ ${fmtRatio(AIM_NEW_SHARE)}`,
			value: fmtRatio(share),
			ok: share >= AIM_NEW_SHARE,
		});
		const ratio = median(sync.reimports.map((r) => r.reimport.ms / r.lookup.ms));
		aims.push({
			what: `re-import of the same ${fmtInt(sync.lines)} lines (unchanged) vs. raw lookups of them (time)`,
			aim: `≤ ${fmtRatio(AIM_REIMPORT_RATIO)}`,
			value: fmtRatio(ratio),
			ok: ratio <= AIM_REIMPORT_RATIO,
		});
	}
	const { job } = data;
	if (!job.available) {
		aims.push({
			what: `import job of ${fmtInt(job.lines)} lines`,
			aim: "runs, flat memory",
			value: "not available",
			ok: false,
		});
	} else {
		const memory = jobMemory(job);
		aims.push({
			what: `import job of ${fmtInt(job.lines)} lines: worker RSS growth from 50% to 100% of the lines`,
			aim: `flat: ≤ the raw inserts' own growth + ${fmtMiB(FLAT_SLACK_BYTES)}`,
			value: job.finished
				? `${fmtSignedMiB(memory.secondHalf)} (raw inserts: ${fmtSignedMiB(memory.raw.secondHalf)})`
				: "not finished",
			ok: job.finished && memory.flat,
		});
		const rate = (job.job.processed / job.endedMs) * 1000;
		const rawRate = (job.raw.lines / job.raw.ms) * 1000;
		aims.push({
			what: `import job of ${fmtInt(job.lines)} lines (lines/s) vs. raw inserts of as many rows`,
			aim: `≥ ${fmtRatio(AIM_NEW_SHARE)}, as the synchronous import`,
			value: job.finished ? fmtRatio(rate / rawRate) : "not finished",
			ok: job.finished && rate / rawRate >= AIM_NEW_SHARE,
		});
	}
	return aims;
}

export function render(allRuns) {
	const runs = allRuns.filter((run) => !run.data.skipped);
	const skipped = allRuns.filter((run) => run.data.skipped).map((run) => run.label);
	const skipNote =
		skipped.length > 0
			? [
					`Not measured under ${skipped.join(", ")}: its dev proxy sends a DevTools event per D1 query through wrangler's Node process, grows with them and restarts the worker under bulk load (see the data suite); the imports are measured under worker only.`,
				]
			: [];
	if (runs.length === 0) return { title, aimsMissed: [], sections: [{ title: "Not measured", notes: skipNote }] };
	const aims = runs.map((run) => aimsFor(run.data));
	const multi = runs.length > 1;
	const label = (run) => (multi ? [run.label] : []);
	const first = runs[0].data;
	const sections = [
		{
			title: "Aims",
			table: {
				left: 2,
				head: ["measurement", "aim", ...runs.map((run) => run.label)],
				rows: aims[0].map((aim, i) => [
					aim.what,
					aim.aim,
					...aims.map((a) => `${a[i].value} ${a[i].ok ? "(met)" : "(**missed**)"}`),
				]),
			},
			notes: skipNote,
		},
		{
			title: `Synchronous imports: ${fmtInt(first.sync.lines)} new contacts, then the same lines again`,
			intro:
				`In a worker of its own with ${fmtInt(first.sync.seeded)} seeded contacts. \`POST ${IMPORT_PATH}?businessUnit=default\` (text/csv, \`email,optedOut:email\`, every line a new address opted out of email), ` +
				`${fmtInt(first.sync.requests)} requests of ${fmtInt(REQUEST_LINES)} lines (the synchronous limit), ${PARALLEL} at a time. ` +
				"Baseline for the new contacts: `POST /__bench/raw-insert-contacts` with as many other new addresses per request, the same requests in flight: per request one D1 batch of three `INSERT … SELECT` over `json_each` (the contacts, opted out, with their keyed address hash; one Opt Out ledger row and one idempotency key each). " +
				"Then the import's lines are sent again: every line unchanged, nothing written. Baseline: `POST /__bench/raw-import-lookup` with the same lines, the import's identity lookups (by externalId, by email + business unit, by phone + business unit) as one D1 batch per request. " +
				`The two sides take turns in groups of ${PARALLEL} requests (alternating which goes first); each side's time is the sum of its groups' wall times. A request the service answers with 202 (a job) is followed until the job is done, and its time counts.`,
			table: {
				head: [...(multi ? ["runtime"] : []), "measurement", "service", "baseline", "ratio"],
				rows: runs.flatMap((run) => {
					const { sync } = run.data;
					const rate = (ms) => `${fmtInt((sync.lines / ms) * 1000)} lines/s (${seconds(ms)})`;
					const jobs = (t) => (t.jobs > 0 ? `; ${t.jobs} requests became jobs` : "");
					return [
						[
							...label(run),
							`${fmtInt(sync.lines)} new contacts`,
							rate(sync.created.ms) + jobs(sync.created),
							`${rate(sync.rawInsert.ms)}: raw insert`,
							`${fmtRatio(sync.rawInsert.ms / sync.created.ms)} of the raw rate`,
						],
						...sync.reimports.map((r, i) => [
							...label(run),
							`re-import of the same lines, round ${i + 1} (all unchanged)`,
							rate(r.reimport.ms) + jobs(r.reimport),
							`${rate(r.lookup.ms)}: raw lookups`,
							`${fmtRatio(r.reimport.ms / r.lookup.ms)} the raw time`,
						]),
					];
				}),
			},
			notes: [
				"Checked: every import request reported its 5,000 lines created (then unchanged) and none failed; afterwards the database held each imported contact once with its Opt Out ledger row of source import.",
			],
		},
	];
	const jobRuns = runs.filter((run) => run.data.job.available);
	const unavailable = runs.filter((run) => !run.data.job.available);
	const shares = [0, 0.1, 0.25, 0.5, 0.75, 1];
	sections.push({
		title: `Import job: ${fmtInt(first.job.lines)} new lines through the workflow`,
		intro:
			`In another worker of its own (an empty database). The file (\`email,optedOut:email\`, every line a new address) is made as it is sent, in chunks of 10,000 lines, and streamed with its Content-Length to \`POST ${IMPORT_PATH}?async=true\`, which must answer 202 with a Location; ` +
			"`GET /v1/imports/{id}` is then polled until the job is `done` (or the time budget is spent: the job is then reported as far as it got). lines/s = lines processed / time from the start of the upload to the answer that says done. " +
			`Baseline: as many new contacts written by \`/__bench/raw-insert-contacts\` (${PARALLEL} requests of ${fmtInt(REQUEST_LINES)} at a time) in a third worker with an empty database, as the job's: its rows/s, and its RSS as the rows grow. ` +
			"Memory: the summed RSS of each worker's workerd processes (which also hold the local D1 database, the R2 bucket's files and the workflow engine) sampled every 250 ms. " +
			"Locally the worker may answer no request while a workflow instance runs (not even /healthz; Miniflare's local Workflows, see bench/README.md), so the job's progress is not taken from the polls: how far it was at each sample is estimated from the growth of the local database's files, which grow with the rows written (the raw inserts' progress is counted). " +
			"Flat means the RSS does not grow with the lines processed beyond what the database itself takes for the same rows: from 50% to 100% of the lines the job's RSS may grow by the raw inserts' growth over the same rows plus 64 MiB. " +
			"Before the file, a one-line probe job must go through; anything but 202 reports the job as not available.",
		...(jobRuns.length > 0
			? {
					table: {
						head: [
							...(multi ? ["runtime"] : []),
							"run",
							"lines",
							"time",
							"lines/s",
							"ratio",
							"RSS start / peak / end",
							`RSS at ${shares.map((share) => `${share * 100}%`).join(" / ")} of the lines`,
						],
						rows: jobRuns.flatMap((run) => {
							const job = run.data.job;
							const rate = (job.job.processed / job.endedMs) * 1000;
							const rawRate = (job.raw.lines / job.raw.ms) * 1000;
							const row = (what, data, lines, ms, ratio) => {
								const memory = memoryOf(data);
								return [
									...label(run),
									what,
									lines,
									seconds(ms),
									fmtInt((data === job ? job.job.processed : data.lines) / (ms / 1000)),
									ratio,
									`${fmtMiB(memory.start)} / ${fmtMiB(memory.peak)} / ${fmtMiB(memory.end)}`,
									`${shares.map((share) => fmt(rssAtShare(data, share) / MIB, 0)).join(" / ")} MiB`,
								];
							};
							return [
								row(
									`import job (accepted after ${seconds(job.acceptedMs)})`,
									job,
									`${fmtInt(job.job.processed)} of ${fmtInt(job.lines)}${job.finished ? "" : ` (not done after ${seconds(job.budgetMs)})`}`,
									job.endedMs,
									fmtRatio(rate / rawRate),
								),
								row("raw inserts (baseline)", job.raw, fmtInt(job.raw.lines), job.raw.ms, "1x"),
							];
						}),
					},
				}
			: {}),
		notes: [
			...unavailable.map((run) => `${run.label}: not available: ${run.data.job.reason}`),
			...jobRuns.map((run) => {
				const job = run.data.job;
				const progress = progressOf(job);
				const memory = jobMemory(job);
				const growth =
					job.samples.length > 1 ? job.samples[job.samples.length - 1].dbBytes - job.samples[0].dbBytes : Number.NaN;
				return (
					`${run.label}: job ${job.id}: ${job.job.status}, processed ${fmtInt(job.job.processed)}, created ${fmtInt(job.job.created)}, failed ${fmtInt(job.job.failed)}; ` +
					`RSS growth from 10% to 50% of the lines ${fmtSignedMiB(memory.firstHalf)} (raw inserts ${fmtSignedMiB(memory.raw.firstHalf)}), from 50% to 100% ${fmtSignedMiB(memory.secondHalf)} (raw inserts ${fmtSignedMiB(memory.raw.secondHalf)}); ` +
					`${fmtInt(job.samples.length)} samples; progress ${progress.by === "database" ? `estimated from the database files' growth (${fmtMiB(growth)})` : `estimated from the ${progress.by}`}; ` +
					`the first status answer came ${job.polls[0] ? `after ${seconds(job.polls[0].at)} (${job.polls[0].status})` : "never"}.`
				);
			}),
		],
	});
	return {
		title,
		aimsMissed: runs.flatMap((run, r) => aims[r].filter((aim) => !aim.ok).map((aim) => `${aim.what} (${run.label})`)),
		sections,
	};
}
