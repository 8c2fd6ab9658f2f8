// Bulk data (issue 5's benchmark): the contacts export and the contacts import against raw D1 reads
// and inserts of the same rows, in the same run and the same workerd.
// - Export: GET /v1/exports/contacts.csv of every seeded contact (1M; --quick 100k), streamed and
//   counted as it arrives, vs. /__bench/raw-read (the same rows, columns and keyset pages of 1,000,
//   only counted), calls taking turns. Peak memory: the summed RSS of the worker's workerd
//   processes, sampled every 50 ms during each call, before/peak/growth; the same at a tenth of the
//   rows (a second worker with a database of its own) shows whether memory grows with the rows.
// - Import, two measurements: (a) 100,000 lines that change nothing (the first 100,000 rows of the
//   export imported back: parse, lookups, diff, no write) vs. /__bench/raw-import-lookup (the
//   import's own lookup statements for the same lines); (b) N new contacts with one change each
//   (2,000; --quick 500; one Durable Object write per contact) vs. /__bench/raw-insert-contacts
//   (the same contacts, ledger rows and idempotency keys by one raw D1 batch), and the time 100,000
//   such lines would take, extrapolated. The contacts of (b) are deleted again afterwards.
// Report only: no aims.
import { LONG_CALL, request, requestJson, requestStream } from "../lib/http.mjs";
import { rssNow, sampleRss, workerdProcesses } from "../lib/procmem.mjs";
import { countRows, ensureContacts } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtRatio, median } from "../lib/stats.mjs";

export const name = "data";
export const title = "Bulk data: contacts export and import";

const EXPORT_PATH = "/v1/exports/contacts.csv";
const IMPORT_PATH = "/v1/imports/contacts";
/** src/imports/importer.ts: MAX_IMPORT_BYTES, MAX_IMPORT_LINES. */
const MAX_IMPORT_BYTES = 50 * 1024 * 1024;
const MAX_IMPORT_LINES = 100_000;
const REIMPORT_LINES = 100_000;
/** Business units of the new contacts of import (b) and of its raw baseline; deleted afterwards. */
const IMPORT_UNIT = "bench-import";
const RAW_UNIT = "bench-raw";
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

/**
 * Streams the export, counting rows (line ends, minus the header) and bytes as they arrive.
 * `capture` keeps the header and the first `capture.rows` rows (for the re-import).
 */
async function exportOnce(worker, capture = null) {
	const { target, processes } = worker;
	let lineEnds = 0;
	let header = "";
	const sampler = processes ? sampleRss(processes) : null;
	const response = await requestStream(target.baseUrl, EXPORT_PATH, {
		headers: { authorization: target.authHeaders.authorization },
		onData(chunk) {
			let at = chunk.indexOf(10);
			// The header line may span chunks (the dev proxy re-chunks the body).
			if (lineEnds === 0 && header.length < 4096) header += chunk.toString("utf8", 0, at === -1 ? chunk.length : at);
			while (at !== -1) {
				lineEnds++;
				if (capture && !capture.done && lineEnds === capture.rows + 1) {
					capture.chunks.push(chunk.subarray(0, at + 1));
					capture.done = true;
				}
				at = chunk.indexOf(10, at + 1);
			}
			if (capture && !capture.done) capture.chunks.push(chunk);
		},
	});
	const memory = memoryOf(sampler);
	if (response.status !== 200) throw new Error(`GET ${EXPORT_PATH}: ${response.status} ${response.errorBody}`);
	if (!response.complete) throw new Error(`GET ${EXPORT_PATH}: the transfer was cut off after ${response.bytes} bytes`);
	header = header.trimEnd();
	if (!header.startsWith("id,externalId,email,phone,businessUnit,"))
		throw new Error(`unexpected CSV header: ${header}`);
	const rows = lineEnds - 1;
	if (rows !== worker.contacts) throw new Error(`the export has ${rows} rows for ${worker.contacts} contacts`);
	if (capture && !capture.done) throw new Error(`the export has fewer than ${capture.rows} rows to capture`);
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

/** POST /v1/imports/contacts with a CSV body; checks the limits first and the report's counts after. */
async function importOnce(worker, csv, { lines, businessUnit, expect }) {
	const { target, processes } = worker;
	if (csv.length > MAX_IMPORT_BYTES) throw new Error(`import body of ${csv.length} bytes is over the 50 MiB limit`);
	if (lines > MAX_IMPORT_LINES) throw new Error(`import of ${lines} lines is over the ${MAX_IMPORT_LINES} line limit`);
	const sampler = processes ? sampleRss(processes) : null;
	const { json: report, ms } = await requestJson(
		target.baseUrl,
		`${IMPORT_PATH}?businessUnit=${encodeURIComponent(businessUnit)}`,
		{
			method: "POST",
			headers: { authorization: target.authHeaders.authorization, "content-type": "text/csv" },
			body: csv,
			agent: LONG_CALL,
			timeoutMs: 1_800_000,
		},
	);
	const memory = memoryOf(sampler);
	const counts = `processed ${report.processed}, created ${report.created}, updated ${report.updated}, unchanged ${report.unchanged}, failed ${report.failed}`;
	if (report.failed > 0)
		throw new Error(`import: ${counts}; first errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
	if (report.processed !== lines) throw new Error(`import of ${lines} lines: ${counts}`);
	for (const [key, value] of Object.entries(expect)) {
		if (report[key] !== value) throw new Error(`import of ${lines} lines: expected ${key} ${value}, got ${counts}`);
	}
	return { lines, bytes: csv.length, ms, report, memory };
}

/** [externalId, email, phone] of each data row of an export (synthetic data: no quoted fields). */
function identitiesOf(csv) {
	const rows = csv.toString("utf8").split("\r\n");
	const header = rows.shift().split(",");
	const [externalId, email, phone] = ["externalId", "email", "phone"].map((column) => header.indexOf(column));
	const identities = [];
	for (const row of rows) {
		if (row === "") continue;
		if (row.includes('"')) throw new Error(`a quoted export row, not expected for synthetic contacts: ${row}`);
		const fields = row.split(",");
		identities.push([fields[externalId] || null, fields[email] || null, fields[phone] || null]);
	}
	return identities;
}

/** Deletes the contacts (and their ledger rows and idempotency keys) of the given business units. */
async function deleteUnits(target, units) {
	const list = units.map((unit) => `'${unit}'`).join(", ");
	const ids = `SELECT id FROM contacts WHERE business_unit IN (${list})`;
	for (const sql of [
		`DELETE FROM idempotency_keys WHERE contact_id IN (${ids})`,
		`DELETE FROM ledger WHERE contact_id IN (${ids})`,
		`DELETE FROM contacts WHERE business_unit IN (${list})`,
	]) {
		await target.post("/__bench/sql", { sql, params: [] });
	}
}

function logExport(log, label, result) {
	log(
		`  ${label}: ${fmtInt(result.rows)} rows in ${seconds(result.ms)} (${fmtInt((result.rows / result.ms) * 1000)} rows/s), RSS ${fmtMiB(result.memory.beforeBytes)} → peak ${fmtMiB(result.memory.peakBytes)} (${fmtSignedMiB(result.memory.growthBytes)})`,
	);
}

async function measureExports(ctx, workers, rounds) {
	const results = workers.map(() => ({ first: null, export: [], raw: [] }));
	const capture = { rows: REIMPORT_LINES, chunks: [], done: false };
	// Warm-up: the raw read of the first 10,000 rows, then the first whole export in each worker,
	// measured but kept apart: it is when the worker's heaps and the local database's cache grow to
	// their working size, which they keep. The large worker's captures the rows to import back.
	for (const [w, worker] of workers.entries()) {
		await requestJson(worker.target.baseUrl, "/__bench/raw-read", {
			method: "POST",
			headers: worker.target.authHeaders,
			body: JSON.stringify({ limit: 10_000 }),
		});
		results[w].first = await exportOnce(worker, w === 0 ? capture : null);
		logExport(ctx.log, `first ${sizeLabel(worker.contacts)} export (warm-up)`, results[w].first);
	}
	if (!capture.done) throw new Error("the first export did not capture the rows to import back");
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
	return { results, capture: Buffer.concat(capture.chunks) };
}

export async function measure(ctx) {
	// Under wrangler dev the dev proxy keeps growing (about 90 MiB per 100k rows read, never given
	// back) until it restarts the worker mid-export: measured under the worker-only runtime.
	if (ctx.runtime === "wrangler-dev") {
		ctx.log("  skipped under wrangler dev (its proxy grows and restarts the worker at 1M rows; see bench/README.md)");
		return { skipped: true };
	}
	const quick = ctx.options.quick;
	const large = quick ? 100_000 : 1_000_000;
	const small = large / 10;
	// Two rounds at 1M: under `wrangler dev` each call leaves about 1 GB in the dev proxy (README).
	const rounds = 2;
	const reimportRounds = quick ? 2 : 3;
	const newContacts = quick ? 500 : 2_000;

	ctx.log(`export: contacts.csv of ${fmtInt(large)} and ${fmtInt(small)} contacts (second worker), ${rounds} rounds`);
	const main = await prepareWorker(ctx, large);
	const smallTarget = await ctx.startWorker(`data-${sizeLabel(small)}`);
	const workers = [main];
	try {
		workers.push(await prepareWorker(smallTarget, small));
		const exports = await measureExports(ctx, workers, rounds);
		await smallTarget.stop();

		// (a) The first 100,000 rows of the export, imported back: every line already holds.
		const reimportCsv = exports.capture;
		const identities = identitiesOf(reimportCsv);
		if (identities.length !== REIMPORT_LINES) throw new Error(`captured ${identities.length} rows to import back`);
		ctx.log(
			`import (a): ${fmtInt(REIMPORT_LINES)} exported lines imported back (${fmtMiB(reimportCsv.length)}), ${reimportRounds} rounds`,
		);
		const lookupBody = JSON.stringify({ lines: identities });
		const reimport = { import: [], raw: [] };
		for (let round = 0; round < reimportRounds; round++) {
			const steps = [
				async () => {
					const result = await importOnce(main, reimportCsv, {
						lines: REIMPORT_LINES,
						businessUnit: "default",
						expect: { created: 0, updated: 0, unchanged: REIMPORT_LINES },
					});
					reimport.import.push(result);
					ctx.log(
						`  round ${round + 1}, import: ${fmtInt(result.lines)} lines in ${seconds(result.ms)} (${fmtInt((result.lines / result.ms) * 1000)} lines/s), RSS growth ${fmtSignedMiB(result.memory.growthBytes)}`,
					);
				},
				async () => {
					const sampler = main.processes ? sampleRss(main.processes) : null;
					const { json, ms } = await requestJson(ctx.baseUrl, "/__bench/raw-import-lookup", {
						method: "POST",
						headers: ctx.authHeaders,
						body: lookupBody,
						agent: LONG_CALL,
						timeoutMs: 600_000,
					});
					const memory = memoryOf(sampler);
					if (json.contacts !== REIMPORT_LINES) {
						throw new Error(`raw-import-lookup found ${json.contacts} contacts for ${REIMPORT_LINES} lines`);
					}
					reimport.raw.push({ lines: REIMPORT_LINES, batches: json.batches, ms, memory });
					ctx.log(
						`  round ${round + 1}, raw lookups: ${fmtInt(REIMPORT_LINES)} lines in ${seconds(ms)} (${json.batches} batches)`,
					);
				},
			];
			for (const step of round % 2 === 0 ? steps : steps.reverse()) await step();
		}

		// (b) New contacts, one Opt Out each; the raw baseline writes the same contacts in another
		// business unit. Taking turns: raw, import, raw.
		ctx.log(`import (b): ${fmtInt(newContacts)} new contacts, one change each`);
		const units = [IMPORT_UNIT, `${RAW_UNIT}-1`, `${RAW_UNIT}-2`];
		await deleteUnits(ctx, units); // leftovers of an interrupted --keep-data run
		const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
		const emails = Array.from(
			{ length: newContacts },
			(_, i) => `import-${tag}-${String(i + 1).padStart(6, "0")}@example.com`,
		);
		const newCsv = Buffer.from(`email,optedOut:email\r\n${emails.map((email) => `${email},true\r\n`).join("")}`);
		const rawInserts = [];
		const rawInsert = async (unit) => {
			const sampler = main.processes ? sampleRss(main.processes) : null;
			const { json, ms } = await requestJson(ctx.baseUrl, "/__bench/raw-insert-contacts", {
				method: "POST",
				headers: ctx.authHeaders,
				body: JSON.stringify({ emails, businessUnit: unit }),
				agent: LONG_CALL,
				timeoutMs: 600_000,
			});
			const memory = memoryOf(sampler);
			for (const key of ["contacts", "ledger", "idempotencyKeys"]) {
				if (json[key] !== newContacts) throw new Error(`raw-insert-contacts wrote ${json[key]} ${key}`);
			}
			rawInserts.push({ ms, memory });
			ctx.log(`  raw insert of ${fmtInt(newContacts)} contacts: ${seconds(ms)}`);
		};
		let created;
		try {
			await rawInsert(`${RAW_UNIT}-1`);
			created = await importOnce(main, newCsv, {
				lines: newContacts,
				businessUnit: IMPORT_UNIT,
				expect: { created: newContacts, updated: 0, unchanged: 0 },
			});
			ctx.log(
				`  import: ${fmtInt(newContacts)} new contacts in ${seconds(created.ms)} (${fmt((newContacts / created.ms) * 1000)} lines/s)`,
			);
			await rawInsert(`${RAW_UNIT}-2`);
			// Every created contact has its Opt Out in the ledger, written by its Durable Object.
			const ledger = await ctx.post("/__bench/sql", {
				sql: "SELECT l.id FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.business_unit = ?1 AND l.source = 'import' AND l.event = 'Opt Out'",
				params: [IMPORT_UNIT],
			});
			if (ledger.json.rows !== newContacts) {
				throw new Error(`the import wrote ${ledger.json.rows} ledger rows for ${newContacts} new contacts`);
			}
		} finally {
			await deleteUnits(ctx, units);
		}
		return {
			large,
			small,
			rounds,
			reimportRounds,
			exports: workers.map((worker, w) => ({
				contacts: worker.contacts,
				processes: worker.processes?.map((p) => p.role) ?? null,
				...exports.results[w],
			})),
			header: exports.results[0].first.header,
			reimport,
			created: { ...created, raw: rawInserts },
		};
	} finally {
		await smallTarget.stop();
	}
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
	const multi = runs.length > 1;
	const label = (run) => (multi ? [run.label] : []);
	const first = runs[0].data;
	const summaries = runs.map((run) => ({ run, sizes: run.data.exports.map(exportSummary) }));
	const reimportLines = REIMPORT_LINES;
	const newContacts = first.created.lines;

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
				fmtSignedMiB(m.workerGrowth),
				s.processes?.includes("dev proxy") ? fmtSignedMiB(m.proxyGrowth) : "–",
				fmtInt(m.samples),
			]),
		),
	);
	const proxyNotes = runs.flatMap((run) => {
		const large = run.data.exports[0];
		const calls = [...large.export, ...large.raw];
		const before = calls.map((call) => call.memory.proxyBeforeBytes).filter(Number.isFinite);
		if (before.length === 0) return [];
		const range = (list) => {
			const growth = list.map((call) => call.memory.proxyGrowthBytes);
			return `${fmtSignedMiB(Math.min(...growth))} to ${fmtSignedMiB(Math.max(...growth))}`;
		};
		return [
			`${run.label}, ${sizeLabel(large.contacts)} contacts: the dev proxy's workerd grew by ${range(large.export)} per export and ${range(large.raw)} per raw read, and was at ${fmtMiB(before[0])} before the first measured call and ${fmtMiB(before[before.length - 1])} before the last. ` +
				"The raw read answers a few bytes, so what the proxy gains during it comes from the worker's D1 queries (their DevTools Network events pass through the proxy to wrangler), not from the response. The deployed worker has no such proxy.",
		];
	});
	const flatNotes = summaries.map(({ run, sizes }) => {
		const [big, little] = sizes;
		return `${run.label}: export rows/s at ${sizeLabel(big.contacts)} vs. ${sizeLabel(little.contacts)}: ${fmtRatio(big.exportRate / little.exportRate)} (raw read ${fmtRatio(big.rawRate / little.rawRate)}); peak growth of the worker's workerd during the export ${fmtSignedMiB(big.exportMemory.workerGrowth)} at ${sizeLabel(big.contacts)} vs. ${fmtSignedMiB(little.exportMemory.workerGrowth)} at ${sizeLabel(little.contacts)} (raw read ${fmtSignedMiB(big.rawMemory.workerGrowth)} vs. ${fmtSignedMiB(little.rawMemory.workerGrowth)}; the first export ${fmtSignedMiB(big.firstMemory.workerGrowth)} vs. ${fmtSignedMiB(little.firstMemory.workerGrowth)}, at ${fmtInt((big.contacts / big.firstMs) * 1000)} and ${fmtInt((little.contacts / little.firstMs) * 1000)} rows/s).`;
	});

	const importRows = runs.flatMap((run) => {
		const { reimport, created } = run.data;
		const reMs = median(reimport.import.map((r) => r.ms));
		const lookupMs = median(reimport.raw.map((r) => r.ms));
		const rawInsertMs = median(created.raw.map((r) => r.ms));
		const newRate = (created.lines / created.ms) * 1000;
		return [
			[
				...label(run),
				`(a) re-import of ${fmtInt(reimportLines)} exported lines, all unchanged`,
				`${fmtInt((reimportLines / reMs) * 1000)} lines/s (${seconds(reMs)})`,
				`${fmtInt((reimportLines / lookupMs) * 1000)} lines/s (${seconds(lookupMs)}): raw lookups`,
				fmtRatio(reMs / lookupMs),
			],
			[
				...label(run),
				`(b) ${fmtInt(created.lines)} new contacts, one Opt Out each`,
				`${fmt(newRate)} lines/s (${seconds(created.ms)})`,
				`${fmtInt((created.lines / rawInsertMs) * 1000)} rows/s (${seconds(rawInsertMs)}): raw insert`,
				fmtRatio(created.ms / rawInsertMs),
			],
			[
				...label(run),
				`(b) extrapolated to ${fmtInt(reimportLines)} new contacts`,
				`≈ ${seconds((reimportLines / newRate) * 1000)} (extrapolation, not measured)`,
				"",
				"",
			],
		];
	});
	const importNotes = runs.map((run) => {
		const { reimport, created } = run.data;
		const r = reimport.import[0].report;
		const c = created.report;
		const proxy = run.data.exports[0].processes?.includes("dev proxy");
		const growth = (calls) => {
			const most = (key) => fmtSignedMiB(Math.max(...calls.map((x) => x.memory[key])));
			return proxy ? `${most("growthBytes")} / ${most("workerGrowthBytes")}` : most("growthBytes");
		};
		return (
			`${run.label}: import reports: (a) processed ${fmtInt(r.processed)}, unchanged ${fmtInt(r.unchanged)}, updated ${r.updated}, created ${r.created}, failed ${r.failed} (every round); (b) processed ${fmtInt(c.processed)}, created ${fmtInt(c.created)}, failed ${c.failed}, and ${fmtInt(created.lines)} Opt Out rows with source import in the ledger. ` +
			`Peak RSS growth${proxy ? " (all workerd / the worker's own; the sum can grow less than the worker alone when the proxy gives memory back meanwhile)" : ""}: (a) import ${growth(reimport.import)}, its raw lookups ${growth(reimport.raw)}; (b) import ${growth([created])}.`
		);
	});

	return {
		title,
		aimsMissed: [],
		sections: [
			{
				title: `Contacts export: ${fmtInt(first.large)} and ${fmtInt(first.small)} contacts vs. raw keyset reads`,
				intro:
					`\`GET ${EXPORT_PATH}\` (admin token, no filter: every contact, ${first.header.split(",").length} columns with one topic column), streamed to the bench and counted as it arrives (rows = line ends − header, checked against the stored contacts; the transfer must end cleanly), ` +
					`against \`POST /__bench/raw-read\`: the same rows and columns read with the same keyset-paged SELECT (\`WHERE id > ? ORDER BY id LIMIT 1000\`) in one request, each page dropped, only a count returned (no JSON parse of the consent, no CSV encoding, no response stream). ` +
					`The smaller size runs in a second worker with a database of its own. After a warm-up (a raw read of 10,000 rows, then a first whole export in each worker, whose memory is reported apart below), all calls take turns: ${first.rounds} rounds in alternating order; medians of the time from request to last byte. ` +
					"ratio = export time / raw read time.",
				table: {
					head: [...(multi ? ["runtime"] : []), "measurement", "value", "baseline (raw read)", "ratio"],
					rows: exportRows,
				},
				notes: flatNotes,
			},
			{
				title: "Worker memory during the export",
				intro:
					"Resident memory (VmRSS from /proc) of all workerd processes in the worker's process group, summed, sampled every 50 ms during each call: before the call (median of the rounds), the peak during it (highest of the rounds), and the growth (peak − before, of the round where it was largest), with that round's growth by the middle of the call: memory that grows with the rows keeps rising in the second half, flat memory does not. " +
					"The worker's workerd holds the isolate and Miniflare's local D1 (SQLite), so the raw read's growth is the database's share. " +
					"Under `wrangler dev` a second workerd, wrangler's dev proxy (the one listening on the public port: every request, the streamed body and the DevTools events of every subrequest pass through it), is counted in the sum and shown on its own; the worker's own process is the column to read for the export. " +
					"Memory that does not grow with the rows is flat: compare the two sizes, and the growth by half-time with the whole call's.",
				table: {
					head: [
						...(multi ? ["runtime"] : []),
						"call",
						"RSS before",
						"peak",
						"growth",
						"growth by half-time",
						"worker's workerd: growth",
						"dev proxy's workerd: growth",
						"samples",
					],
					rows: memoryRows,
				},
				notes: proxyNotes,
			},
			{
				title: "Contacts import",
				intro:
					`\`POST ${IMPORT_PATH}\` (text/csv, admin token). ` +
					`(a) The first ${fmtInt(reimportLines)} rows of the export imported back (at the import limit of ${fmtInt(MAX_IMPORT_LINES)} lines): every line is parsed, its contact looked up (one D1 batch of three reads per 250 lines) and diffed by the reducer, and nothing is written; the import report must say ${fmtInt(reimportLines)} unchanged. ` +
					`Baseline: \`/__bench/raw-import-lookup\`, the import's own three lookup statements for the same lines in the same batches, nothing else. ${first.reimportRounds} rounds taking turns. ` +
					`(b) ${fmtInt(newContacts)} new contacts (\`email,optedOut:email\`, one Opt Out each): each is one D1 insert and one write through its contact's Durable Object (state, ledger row, idempotency key), six at a time, so 100,000 of them would take many minutes; they are measured at this size and the time for 100,000 is extrapolated linearly. ` +
					"Baseline: `/__bench/raw-insert-contacts`, the same contacts (in another business unit), ledger rows and idempotency keys as one D1 batch of three `INSERT … SELECT` over `json_each`, run before and after the import (median). Both sets are deleted afterwards. " +
					"ratio = import time / baseline time.",
				table: {
					head: [...(multi ? ["runtime"] : []), "measurement", "value", "baseline", "ratio"],
					rows: importRows,
				},
				notes: [
					...importNotes,
					"Locally, every contact's Durable Object runs inside the worker's workerd process, so the memory growth during (b) includes the objects it created (and the first object's setup); in production they do not live in the worker's process.",
				],
			},
		],
	};
}
