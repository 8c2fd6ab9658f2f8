// Bulk data: the contacts export against raw D1 reads of the same rows, in the same run and the
// same workerd (bench/README.md, suite `data`). The imports are the `imports` suite.
// - Synchronous export: GET /v1/exports/contacts.csv at the largest size it serves (100,000 rows:
//   the service's synchronous limit; --quick 20,000) and at a tenth of it, each size in a worker of
//   its own, streamed and counted as it arrives, vs. /__bench/raw-read (the same rows, columns and
//   keyset pages of 1,000, only counted), calls taking turns. Peak memory: the summed RSS of the
//   worker's workerd processes, sampled every 50 ms during each call, before/peak/growth: flat when
//   it does not grow with the rows (the two sizes).
// - Export job: every contact of the main worker (1,000,000 after the consent suite; --quick
//   200,000) through POST /v1/exports/contacts, polled until done, its file downloaded and counted,
//   vs. raw reads of the same rows before and after; "not available" when the route is not there.
// Report only: no aims.
import { LONG_CALL, request, requestJson, requestStream } from "../lib/http.mjs";
import { rssNow, sampleRss, workerdProcesses } from "../lib/procmem.mjs";
import { countRows, ensureContacts } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtRatio, median } from "../lib/stats.mjs";

export const name = "data";
export const title = "Bulk data: contacts export";

const EXPORT_PATH = "/v1/exports/contacts.csv";
const EXPORT_JOB_PATH = "/v1/exports/contacts";
const MIB = 1024 * 1024;
/** The seeded data has statuses of topic `newsletter` (lib/seed.mjs), pending among them: double opt-in. */
const TOPIC = { key: "newsletter", name: "Newsletter", channel: "email", doubleOptIn: true };

const sizeLabel = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
const fmtMiB = (bytes) => (Number.isFinite(bytes) ? `${fmt(bytes / MIB, 1)} MiB` : "n/a");
const fmtSignedMiB = (bytes) =>
	Number.isFinite(bytes) ? `${bytes >= 0 ? "+" : "−"}${fmtMiB(Math.abs(bytes))}` : "n/a";
const seconds = (ms) => (ms >= 60_000 ? `${fmt(ms / 60_000, 1)} min` : `${fmt(ms / 1000, ms < 10_000 ? 2 : 1)} s`);

/** Memory of one call (NaN where /proc is not available). */
function memoryOf(sampler) {
	const none = Number.NaN;
	if (!sampler) {
		return {
			beforeBytes: none,
			peakBytes: none,
			growthBytes: none,
			firstHalfGrowthBytes: none,
			workerGrowthBytes: none,
			proxyGrowthBytes: none,
			proxyBeforeBytes: none,
			samples: 0,
		};
	}
	const { beforeBytes, peakBytes, firstHalfPeakBytes, samples, byRole } = sampler.stop();
	const growthOf = (role) => (byRole[role] ? byRole[role].peakBytes - byRole[role].beforeBytes : none);
	return {
		beforeBytes,
		peakBytes,
		growthBytes: peakBytes - beforeBytes,
		firstHalfGrowthBytes: firstHalfPeakBytes - beforeBytes,
		workerGrowthBytes: growthOf("worker"),
		proxyGrowthBytes: growthOf("dev proxy"),
		proxyBeforeBytes: byRole["dev proxy"]?.beforeBytes ?? none,
		samples,
	};
}

/** One worker to export from: its target, its workerd processes, its contact count. */
async function prepareWorker(target, contacts) {
	const have = target.state.contacts ?? (await countRows(target)).contacts;
	if (have < contacts) await ensureContacts(target, contacts);
	const stored = (await countRows(target)).contacts;
	const topic = await request(target.baseUrl, `/v1/topics/${TOPIC.key}`, {
		method: "PUT",
		headers: target.authHeaders,
		body: JSON.stringify({ name: TOPIC.name, channel: TOPIC.channel, doubleOptIn: TOPIC.doubleOptIn }),
	});
	if (topic.status !== 200 && topic.status !== 201) {
		throw new Error(`PUT /v1/topics/${TOPIC.key}: ${topic.status} ${topic.body.toString("utf8", 0, 300)}`);
	}
	const processes = workerdProcesses(target.processGroup, new URL(target.baseUrl).port);
	if (processes && processes.length === 0) {
		throw new Error(`no workerd process in the worker's process group ${target.processGroup}`);
	}
	target.log(
		`  ${target.baseUrl}: ${fmtInt(stored)} contacts; workerd processes ${processes ? processes.map((p) => `${p.pid} (${p.role})`).join(", ") : "n/a (no /proc)"}, RSS ${processes ? fmtMiB(rssNow(processes)) : "n/a"}`,
	);
	return { target, contacts: stored, processes };
}

/** Streams the export, counting rows (line ends, minus the header) and bytes as they arrive. */
async function exportOnce(worker, path = EXPORT_PATH) {
	const { target, processes } = worker;
	let lineEnds = 0;
	let header = "";
	const sampler = processes ? sampleRss(processes) : null;
	const response = await requestStream(target.baseUrl, path, {
		headers: { authorization: target.authHeaders.authorization },
		onData(chunk) {
			let at = chunk.indexOf(10);
			// The header line may span chunks (the dev proxy re-chunks the body).
			if (lineEnds === 0 && header.length < 4096) header += chunk.toString("utf8", 0, at === -1 ? chunk.length : at);
			while (at !== -1) {
				lineEnds++;
				at = chunk.indexOf(10, at + 1);
			}
		},
	});
	const memory = memoryOf(sampler);
	if (response.status !== 200) {
		const error = new Error(`GET ${path}: ${response.status} ${response.errorBody}`);
		error.status = response.status;
		throw error;
	}
	if (!response.complete) throw new Error(`GET ${path}: the transfer was cut off after ${response.bytes} bytes`);
	header = header.trimEnd();
	if (!header.startsWith("id,externalId,email,phone,businessUnit,"))
		throw new Error(`unexpected CSV header: ${header}`);
	const rows = lineEnds - 1;
	if (rows !== worker.contacts) throw new Error(`the export has ${rows} rows for ${worker.contacts} contacts`);
	return { rows, bytes: response.bytes, ms: response.ms, firstByteMs: response.firstByteMs, header, memory };
}

async function rawReadOnce(worker) {
	const { target, processes } = worker;
	const sampler = processes ? sampleRss(processes) : null;
	const { json, ms } = await requestJson(target.baseUrl, "/__bench/raw-read", {
		method: "POST",
		headers: target.authHeaders,
		body: "{}",
		agent: LONG_CALL,
		timeoutMs: 600_000,
	});
	const memory = memoryOf(sampler);
	if (json.rows !== worker.contacts) throw new Error(`raw-read read ${json.rows} rows of ${worker.contacts} contacts`);
	return { rows: json.rows, pages: json.pages, ms, memory };
}

function logExport(log, label, result) {
	log(
		`  ${label}: ${fmtInt(result.rows)} rows in ${seconds(result.ms)} (${fmtInt((result.rows / result.ms) * 1000)} rows/s), RSS ${fmtMiB(result.memory.beforeBytes)} → peak ${fmtMiB(result.memory.peakBytes)} (${fmtSignedMiB(result.memory.growthBytes)})`,
	);
}

async function measureExports(ctx, workers, rounds) {
	const results = workers.map(() => ({ first: null, export: [], raw: [] }));
	// Warm-up: the raw read of the first 10,000 rows, then the first whole export in each worker,
	// measured but kept apart: it is when the worker's heaps and the local database's cache grow to
	// their working size, which they keep.
	for (const [w, worker] of workers.entries()) {
		await requestJson(worker.target.baseUrl, "/__bench/raw-read", {
			method: "POST",
			headers: worker.target.authHeaders,
			body: JSON.stringify({ limit: 10_000 }),
		});
		results[w].first = await exportOnce(worker);
		logExport(ctx.log, `first ${sizeLabel(worker.contacts)} export (warm-up)`, results[w].first);
	}
	const calls = workers.flatMap((worker, w) => [
		{ w, kind: "export", run: () => exportOnce(worker) },
		{ w, kind: "raw", run: () => rawReadOnce(worker) },
	]);
	for (let round = 0; round < rounds; round++) {
		for (const call of round % 2 === 0 ? calls : [...calls].reverse()) {
			const result = await call.run();
			results[call.w][call.kind].push(result);
			logExport(
				ctx.log,
				`round ${round + 1}, ${sizeLabel(workers[call.w].contacts)} ${call.kind === "export" ? "export" : "raw read"}`,
				result,
			);
		}
	}
	return results;
}

/**
 * The export of every contact as a job: POST /v1/exports/contacts, GET /v1/exports/{id} until done
 * (locally the worker may answer nothing while the workflow runs, so that answer may come at the end),
 * then the file downloaded and counted. Memory sampled from the POST to the last byte.
 * Answers null with the reason when the route is not there.
 */
async function exportJobOnce(worker) {
	const { target, processes } = worker;
	const sampler = processes ? sampleRss(processes) : null;
	const started = performance.now();
	const post = await request(target.baseUrl, EXPORT_JOB_PATH, {
		method: "POST",
		headers: { authorization: target.authHeaders.authorization },
		agent: false,
	});
	if (post.status !== 202 || !post.headers.location) {
		sampler?.stop();
		return { unavailable: `POST ${EXPORT_JOB_PATH} answered ${post.status}: ${post.body.toString("utf8", 0, 200)}` };
	}
	let job;
	for (;;) {
		({ json: job } = await requestJson(target.baseUrl, post.headers.location, {
			headers: target.authHeaders,
			agent: false,
			timeoutMs: 900_000,
		}));
		if (job.status === "done" || job.status === "failed") break;
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
	const doneMs = performance.now() - started;
	if (job.status !== "done") {
		sampler?.stop();
		throw new Error(`export job ${job.id} failed: ${job.error ?? JSON.stringify(job).slice(0, 300)}`);
	}
	const download = await exportOnce(
		{ ...worker, processes: null },
		job.download ?? `${post.headers.location}/download`,
	);
	const memory = memoryOf(sampler);
	return { ...download, doneMs, ms: performance.now() - started, downloadMs: download.ms, memory, id: job.id };
}

export async function measure(ctx) {
	// Under wrangler dev the dev proxy keeps growing (about 90 MiB per 100k rows read, never given
	// back) until it restarts the worker mid-export: measured under the worker-only runtime.
	if (ctx.runtime === "wrangler-dev") {
		ctx.log("  skipped under wrangler dev (its proxy grows and restarts the worker at 1M rows; see bench/README.md)");
		return { skipped: true };
	}
	const quick = ctx.options.quick;
	const large = quick ? 20_000 : 100_000;
	const small = large / 10;
	const jobContacts = quick ? 200_000 : 1_000_000;
	const rounds = 2;

	ctx.log(
		`synchronous export: contacts.csv of ${fmtInt(large)} and ${fmtInt(small)} contacts (workers of their own), ${rounds} rounds`,
	);
	const targets = [
		await ctx.startWorker(`data-${sizeLabel(large)}`),
		await ctx.startWorker(`data-${sizeLabel(small)}`),
	];
	let exports;
	let workers;
	try {
		workers = [await prepareWorker(targets[0], large), await prepareWorker(targets[1], small)];
		exports = await measureExports(ctx, workers, rounds);
	} finally {
		for (const target of targets) await target.stop();
	}

	ctx.log(`export job: every contact of the main worker (${fmtInt(jobContacts)}) through ${EXPORT_JOB_PATH}`);
	const main = await prepareWorker(ctx, jobContacts);
	await requestJson(ctx.baseUrl, "/__bench/raw-read", {
		method: "POST",
		headers: ctx.authHeaders,
		body: JSON.stringify({ limit: 10_000 }),
	});
	const jobRaw = [await rawReadOnce(main)];
	logExport(ctx.log, `raw read of ${sizeLabel(main.contacts)}`, jobRaw[0]);
	const job = await exportJobOnce(main);
	if (job.unavailable) ctx.log(`  export job not available: ${job.unavailable}`);
	else {
		logExport(
			ctx.log,
			`export job of ${sizeLabel(main.contacts)} (done after ${seconds(job.doneMs)}, then downloaded)`,
			job,
		);
		jobRaw.push(await rawReadOnce(main));
		logExport(ctx.log, `raw read of ${sizeLabel(main.contacts)}`, jobRaw[1]);
	}
	return {
		large,
		small,
		rounds,
		exports: workers.map((worker, w) => ({
			contacts: worker.contacts,
			processes: worker.processes?.map((p) => p.role) ?? null,
			...exports[w],
		})),
		header: exports[0].first.header,
		job: { contacts: main.contacts, raw: jobRaw, ...job },
	};
}

// ---------------------------------------------------------------------------------------------

function exportSummary(size) {
	const exportMs = median(size.export.map((r) => r.ms));
	const rawMs = median(size.raw.map((r) => r.ms));
	const memory = (calls) => {
		// The round with the largest growth; its first half shows whether memory kept rising.
		const worst = calls.reduce((a, b) => (b.memory.growthBytes > a.memory.growthBytes ? b : a)).memory;
		return {
			before: median(calls.map((r) => r.memory.beforeBytes)),
			peak: Math.max(...calls.map((r) => r.memory.peakBytes)),
			growth: worst.growthBytes,
			firstHalfGrowth: worst.firstHalfGrowthBytes,
			workerGrowth: worst.workerGrowthBytes,
			proxyGrowth: worst.proxyGrowthBytes,
			samples: worst.samples,
		};
	};
	return {
		contacts: size.contacts,
		processes: size.processes,
		bytes: size.export[0].bytes,
		exportMs,
		rawMs,
		exportRate: (size.contacts / exportMs) * 1000,
		rawRate: (size.contacts / rawMs) * 1000,
		firstByteMs: median(size.export.map((r) => r.firstByteMs)),
		exportMemory: memory(size.export),
		rawMemory: memory(size.raw),
		firstMs: size.first.ms,
		firstMemory: memory([size.first]),
	};
}

export function render(allRuns) {
	const runs = allRuns.filter((run) => !run.data.skipped);
	const skipped = allRuns.filter((run) => run.data.skipped).map((run) => run.label);
	const skipNote =
		skipped.length > 0
			? [
					`Not measured under ${skipped.join(", ")}: its dev proxy grows by about 90 MiB per 100,000 rows read and restarts the worker during large exports.`,
				]
			: [];
	if (runs.length === 0) return { title, aimsMissed: [], sections: [{ title: "Not measured", notes: skipNote }] };
	const multi = runs.length > 1;
	const label = (run) => (multi ? [run.label] : []);
	const first = runs[0].data;
	const summaries = runs.map((run) => ({ run, sizes: run.data.exports.map(exportSummary) }));

	const exportRows = summaries.flatMap(({ run, sizes }) =>
		sizes.map((s) => [
			...label(run),
			`export ${fmtInt(s.contacts)} contacts (${fmtMiB(s.bytes)})`,
			`${fmtInt(s.exportRate)} rows/s (${seconds(s.exportMs)})`,
			`${fmtInt(s.rawRate)} rows/s (${seconds(s.rawMs)})`,
			fmtRatio(s.exportMs / s.rawMs),
		]),
	);
	const memoryRows = summaries.flatMap(({ run, sizes }) =>
		sizes.flatMap((s) =>
			[
				["first export (warm-up)", s.firstMemory],
				["export", s.exportMemory],
				["raw read", s.rawMemory],
			].map(([what, m]) => [
				...label(run),
				`${what}, ${fmtInt(s.contacts)} contacts`,
				fmtMiB(m.before),
				fmtMiB(m.peak),
				fmtSignedMiB(m.growth),
				fmtSignedMiB(m.firstHalfGrowth),
				fmtInt(m.samples),
			]),
		),
	);
	const flatNotes = summaries.map(({ run, sizes }) => {
		const [big, little] = sizes;
		return `${run.label}: export rows/s at ${sizeLabel(big.contacts)} vs. ${sizeLabel(little.contacts)}: ${fmtRatio(big.exportRate / little.exportRate)} (raw read ${fmtRatio(big.rawRate / little.rawRate)}); peak RSS growth during the export ${fmtSignedMiB(big.exportMemory.growth)} at ${sizeLabel(big.contacts)} vs. ${fmtSignedMiB(little.exportMemory.growth)} at ${sizeLabel(little.contacts)} (raw read ${fmtSignedMiB(big.rawMemory.growth)} vs. ${fmtSignedMiB(little.rawMemory.growth)}; the first export ${fmtSignedMiB(big.firstMemory.growth)} vs. ${fmtSignedMiB(little.firstMemory.growth)}, at ${fmtInt((big.contacts / big.firstMs) * 1000)} and ${fmtInt((little.contacts / little.firstMs) * 1000)} rows/s).`;
	});
	const jobRows = runs
		.filter((run) => !run.data.job.unavailable)
		.flatMap((run) => {
			const { job } = run.data;
			const rawMs = median(job.raw.map((r) => r.ms));
			return [
				[
					...label(run),
					`export job, ${fmtInt(job.contacts)} contacts (${fmtMiB(job.bytes)}): POST → done`,
					seconds(job.doneMs),
					"",
					"",
					"",
				],
				[
					...label(run),
					"… and downloaded (the whole, vs. the raw read)",
					seconds(job.ms),
					`${fmtInt((job.rows / job.ms) * 1000)} rows/s`,
					`${fmtInt((job.contacts / rawMs) * 1000)} rows/s (${seconds(rawMs)})`,
					fmtRatio(job.ms / rawMs),
				],
			];
		});
	return {
		title,
		aimsMissed: [],
		sections: [
			{
				title: `Synchronous contacts export: ${fmtInt(first.large)} and ${fmtInt(first.small)} contacts vs. raw keyset reads`,
				intro:
					`\`GET ${EXPORT_PATH}\` (admin token, no filter: every contact, ${first.header.split(",").length} columns with one topic column) at ${fmtInt(first.large)} contacts (the most a synchronous export serves) and at a tenth of that, each in a worker of its own, streamed to the bench and counted as it arrives (rows = line ends − header, checked against the stored contacts; the transfer must end cleanly), ` +
					"against `POST /__bench/raw-read`: the same rows and columns read with the same keyset-paged SELECT (`WHERE id > ? ORDER BY id LIMIT 1000`) in one request, each page dropped, only a count returned (no JSON parse of the consent, no CSV encoding, no response stream). " +
					`After a warm-up (a raw read of 10,000 rows, then a first whole export in each worker, whose memory is reported apart below), all calls take turns: ${first.rounds} rounds in alternating order; medians of the time from request to last byte. ` +
					"ratio = export time / raw read time.",
				table: {
					head: [...(multi ? ["runtime"] : []), "measurement", "value", "baseline (raw read)", "ratio"],
					rows: exportRows,
				},
				notes: [...flatNotes, ...skipNote],
			},
			{
				title: "Worker memory during the synchronous export",
				intro:
					"Resident memory (VmRSS from /proc) of the worker's workerd process, sampled every 50 ms during each call: before the call (median of the rounds), the peak during it (highest of the rounds), and the growth (peak − before, of the round where it was largest), with that round's growth by the middle of the call: memory that grows with the rows keeps rising in the second half, flat memory does not. " +
					"The worker's workerd holds the isolate and Miniflare's local D1 (SQLite), so the raw read's growth is the database's share. Memory that does not grow with the rows is flat: compare the two sizes, and the growth by half-time with the whole call's.",
				table: {
					head: [
						...(multi ? ["runtime"] : []),
						"call",
						"RSS before",
						"peak",
						"growth",
						"growth by half-time",
						"samples",
					],
					rows: memoryRows,
				},
			},
			{
				title: `Export job: every contact of the main worker (${fmtInt(first.job.contacts)})`,
				intro:
					`Over the synchronous limit the export is a job: \`POST ${EXPORT_JOB_PATH}\` (no filter) answers 202 with a Location, \`GET /v1/exports/{id}\` is polled until \`done\` (locally the worker may answer no request while a workflow instance runs, so that answer may come at the end), then its \`download\` is streamed and counted (rows checked against the stored contacts). ` +
					"In the main worker, after the consent suite (its 1M contacts). Against `POST /__bench/raw-read` of the same rows, before and after the job (median). The RSS growth of the whole call (POST to last byte) is in the notes.",
				...(jobRows.length > 0
					? {
							table: {
								head: [...(multi ? ["runtime"] : []), "measurement", "time", "rows/s", "baseline (raw read)", "ratio"],
								rows: jobRows,
							},
						}
					: {}),
				notes: runs.map((run) =>
					run.data.job.unavailable
						? `${run.label}: not available: ${run.data.job.unavailable}`
						: `${run.label}: job ${run.data.job.id}: ${fmtInt(run.data.job.rows)} rows, RSS ${fmtMiB(run.data.job.memory.beforeBytes)} before, peak ${fmtMiB(run.data.job.memory.peakBytes)} (${fmtSignedMiB(run.data.job.memory.growthBytes)}; by half-time ${fmtSignedMiB(run.data.job.memory.firstHalfGrowthBytes)}); raw reads ${run.data.job.raw.map((r) => seconds(r.ms)).join(" and ")}.`,
				),
			},
		],
	};
}
