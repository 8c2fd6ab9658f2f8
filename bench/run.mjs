#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --suite consent] [-- --runtime wrangler-dev] [-- --strict] [-- --out f.md]`
// Runs the Node-only suites first (no worker), then bundles the bench worker once
// (bench/wrangler.bench.toml, entry bench/bench-worker.ts) and for each runtime starts it on a free
// 127.0.0.1 port with an empty state in bench/.data/state, runs the other suites' measurements
// against it, and always stops it.
// Then renders one markdown report (bench/results/latest.md for full runs, and stdout).
// Figures are ratios measured side by side in one run, never absolute-time assertions.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { requestJson } from "./lib/http.mjs";
import { workerdGroups } from "./lib/procmem.mjs";
import { machineInfo, renderReport, writeReport } from "./lib/report.mjs";
import { buildWorker, startServer } from "./lib/server.mjs";

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, "..");

/**
 * Suites in run order. Each module exports `name`, `title`, `measure(ctx)` → data (against one
 * running worker) and `render(runs)` → { title, sections, aimsMissed } over one run per runtime.
 * A suite exporting `needsWorker = false` runs once, in this Node process, before any worker starts
 * (its ctx has `options`, `log` and `root` only), and renders one run labelled with Node's version.
 */
const SUITES = {
	consent: () => import("./suites/consent.mjs"),
	"one-click": () => import("./suites/one-click.mjs"),
	webhooks: () => import("./suites/webhooks.mjs"),
	imports: () => import("./suites/imports.mjs"),
	data: () => import("./suites/data.mjs"),
	signing: () => import("./suites/signing.mjs"),
};

/** How the worker is started; the first is the primary one (`wrangler dev`, as developers run it). */
const RUNTIMES = {
	"wrangler-dev": "wrangler dev",
	"worker-only": "worker only",
};

const ADMIN_TOKEN = "bench-admin-token"; // bench/wrangler.bench.toml [vars]

const { values: args } = parseArgs({
	options: {
		quick: { type: "boolean", default: false },
		suite: { type: "string", multiple: true },
		runtime: { type: "string", multiple: true },
		"keep-data": { type: "boolean", default: false },
		"data-dir": { type: "string" },
		strict: { type: "boolean", default: false },
		out: { type: "string" },
		help: { type: "boolean", default: false },
	},
});

if (args.help) {
	console.log(`npm run bench -- [options]
  --quick         smaller sizes and shorter runs, to try changes (report to stdout only unless --out)
  --suite NAME    run only this suite (repeatable): ${Object.keys(SUITES).join(", ")}
                  (signing needs no worker: --suite signing alone takes about 20 s)
  --runtime NAME  run only this runtime (repeatable): ${Object.keys(RUNTIMES).join(", ")}
  --keep-data     reuse bench/.data instead of starting from an empty database (one runtime only)
  --data-dir DIR  the bundle, databases and worker logs here instead of bench/.data (one run at a
                  time per directory: a second run on the same one stops at once)
  --strict        exit 1 when an aim is missed
  --out FILE      write the report here (default bench/results/latest.md for full runs)`);
	process.exit(0);
}

const suites = args.suite ?? Object.keys(SUITES);
const runtimes = args.runtime ?? Object.keys(RUNTIMES);
for (const [kind, names, known] of [
	["suite", suites, SUITES],
	["runtime", runtimes, RUNTIMES],
]) {
	for (const name of names) {
		if (!known[name]) {
			console.error(`unknown ${kind} "${name}"; known: ${Object.keys(known).join(", ")}`);
			process.exit(2);
		}
	}
}
const fullRun = !args.quick && !args.suite && !args.runtime && !args["keep-data"];
const outFile = args.out ? resolve(args.out) : fullRun ? join(benchDir, "results", "latest.md") : null;

const runStarted = performance.now();
const log = (line) =>
	console.log(`[bench ${((performance.now() - runStarted) / 1000).toFixed(0).padStart(3)} s] ${line}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
	process.on(signal, async () => {
		log(`${signal}: stopping the workers`);
		await stopAll();
		process.exit(130);
	});
}

const modules = Object.fromEntries(await Promise.all(suites.map(async (name) => [name, await SUITES[name]()])));
/** suite name → [{ runtime, label, data }] */
const runsBySuite = Object.fromEntries(suites.map((name) => [name, []]));
const warnings = [];
if (!fullRun) warnings.push("Partial, --quick or --keep-data run: not the acceptance configuration.");

const dataDir = args["data-dir"] ? resolve(args["data-dir"]) : join(benchDir, ".data");
// One run per data directory: a second one would delete the first one's bundle and databases.
const lockFile = join(dataDir, "run.lock");
mkdirSync(dataDir, { recursive: true });
try {
	const holder = JSON.parse(readFileSync(lockFile, "utf8"));
	let alive = false;
	try {
		process.kill(holder.pid, 0);
		alive = true;
	} catch {
		// gone: a run that was killed
	}
	if (alive && holder.pid !== process.pid) {
		console.error(
			`another bench run (pid ${holder.pid}, since ${holder.started}: ${holder.command}) is using ${relative(process.cwd(), dataDir) || "."}; wait for it, or give this run --data-dir DIR`,
		);
		process.exit(2);
	}
} catch {
	// no lock
}
writeFileSync(
	lockFile,
	JSON.stringify({ pid: process.pid, started: new Date().toISOString(), command: process.argv.slice(1).join(" ") }),
);
process.on("exit", () => {
	try {
		if (JSON.parse(readFileSync(lockFile, "utf8")).pid === process.pid) rmSync(lockFile);
	} catch {
		// already gone
	}
});
const config = join(benchDir, "wrangler.bench.toml");
const authHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
/** Every worker still running, stopped at the end whatever happens. */
const live = new Set();
/** Process groups of every worker this run started (its workerd processes are in them). */
const ownGroups = new Set();

/**
 * On a shared machine another bench run, a test suite or a `wrangler dev` competes for the cores:
 * checked before and after each suite, and said in the report (the figures of that suite may be off).
 */
const disturbed = new Map();
function checkOtherWorkerd(suite) {
	const groups = workerdGroups();
	if (!groups) return;
	const others = [...groups].filter(([pgid]) => !ownGroups.has(pgid)).reduce((sum, [, count]) => sum + count, 0);
	if (others > 0) disturbed.set(suite, Math.max(disturbed.get(suite) ?? 0, others));
}

async function stopAll() {
	for (const worker of live) {
		await worker.stop();
		live.delete(worker);
	}
}

/** What a suite gets for one running worker. */
function targetFor(worker) {
	return {
		baseUrl: worker.baseUrl,
		/** The worker's process group (its pid: started detached), e.g. to read the memory of its workerd processes. */
		processGroup: worker.pid,
		/** Its state directory (the local D1, Durable Objects, R2, workflows), e.g. to watch the database file grow. */
		persistTo: worker.persistTo,
		authHeaders,
		options: { quick: args.quick },
		/** Shared between the suites run against this worker, e.g. how many contacts are seeded. */
		state: {},
		log,
		get: (path) => requestJson(worker.baseUrl, path, { headers: authHeaders }),
		post: (path, body) =>
			requestJson(worker.baseUrl, path, { method: "POST", headers: authHeaders, body: JSON.stringify(body) }),
		stop: async () => {
			await worker.stop();
			live.delete(worker);
		},
	};
}

const nodeSuites = suites.filter((name) => modules[name].needsWorker === false);
const workerSuites = suites.filter((name) => modules[name].needsWorker !== false);

try {
	for (const name of nodeSuites) {
		log(`suite ${name}: ${modules[name].title} (Node ${process.version}, no worker)`);
		const ctx = { options: { quick: args.quick }, log, root };
		runsBySuite[name].push({
			runtime: "node",
			label: `Node ${process.version}`,
			data: await modules[name].measure(ctx),
		});
	}
	const entry = workerSuites.length > 0 ? buildWorker({ root, config, outDir: join(dataDir, "build"), log }) : null;
	for (const runtime of workerSuites.length > 0 ? runtimes : []) {
		log(`runtime ${runtime} (${RUNTIMES[runtime]})`);
		const start = async (name) => {
			const worker = await startServer({
				root,
				config,
				entry,
				persistTo: join(dataDir, name ? `state-${name}` : "state"),
				logFile: join(dataDir, `${runtime}${name ? `-${name}` : ""}.log`),
				runtime,
				fresh: !args["keep-data"],
				log,
			});
			live.add(worker);
			ownGroups.add(worker.pid);
			return worker;
		};
		const main = await start();
		const ctx = {
			...targetFor(main),
			runtime,
			/** Another worker of the same runtime and bundle with its own database, e.g. for a second data size. */
			startWorker: async (name) => targetFor(await start(name)),
		};
		const bootBefore = (await ctx.post("/__bench/boot", {})).json.bootId;
		for (const name of workerSuites) {
			log(`suite ${name}: ${modules[name].title}`);
			const suite = `${name} (${RUNTIMES[runtime]})`;
			checkOtherWorkerd(suite);
			const data = await modules[name].measure(ctx);
			runsBySuite[name].push({ runtime, label: RUNTIMES[runtime], data });
			checkOtherWorkerd(suite);
			if (data?.skipped) disturbed.delete(suite);
		}
		// The bundle is fixed, so a different isolate means a crash or eviction mid-run: say so.
		const bootAfter = (await ctx.post("/__bench/boot", {})).json.bootId;
		if (bootAfter !== bootBefore) {
			const warning = `The worker's isolate restarted during the ${RUNTIMES[runtime]} run: its figures include a cold start. Check ${relative(root, main.logFile)} and run again.`;
			warnings.push(warning);
			log(`WARNING: ${warning}`);
		}
		log("stopping the workers");
		await stopAll();
	}
} catch (error) {
	console.error(`\nbench failed: ${error.stack ?? error}`);
	for (const worker of live) console.error(`worker log: ${relative(process.cwd(), worker.logFile)}`);
	process.exitCode = 1;
} finally {
	if (live.size > 0) {
		log("stopping the workers");
		await stopAll();
	}
}

for (const [suite, count] of disturbed) {
	const warning = `Other workerd processes (${count}: another bench run, tests or wrangler dev) were running on this machine around the ${suite} suite: they compete for the cores, so its figures may be off. Run again on a quiet machine.`;
	warnings.push(warning);
	log(`WARNING: ${warning}`);
}

if (process.exitCode !== 1) {
	const rendered = suites.map((name) => modules[name].render(runsBySuite[name]));
	const missed = rendered.flatMap((suite) => suite.aimsMissed ?? []);
	const markdown = renderReport({
		date: new Date(),
		command: fullRun ? "npm run bench" : `npm run bench -- ${process.argv.slice(2).join(" ")}`,
		machine: machineInfo(root),
		totalMs: performance.now() - runStarted,
		warnings,
		howToRead: [
			"Every figure is measured in this one run, on this machine, with the service and its baseline side by side in the same local workerd; compare the ratios, not the absolute milliseconds (local workerd on a shared machine is not production).",
			"Runtimes: both run the same bundle (built once with `wrangler deploy --dry-run`, so edits to src/ during the run change nothing) with the same bindings, Miniflare and workerd, each on an empty database. `wrangler dev` is the CLI as developers run it (`wrangler dev --no-bundle -c bench/wrangler.bench.toml`): its proxy worker (a second workerd) handles every request, and its always-attached DevTools inspector sends Network events for every subrequest (each D1 query is one) through that proxy to wrangler's Node process. `worker only` is the worker alone in one workerd (Miniflare with the options wrangler derives from the config, as @cloudflare/vitest-plugin runs it): closer to what the worker itself costs. D1 is Miniflare's local simulator in both: one query costs far more CPU here than it does in the worker in production, and far less latency.",
			"The load generator (Node) runs on the same cores as workerd, so absolute throughput is lower than the worker alone could do; it costs the same for both sides of a ratio.",
			'Workers: the consent suite and the export job run in the run\'s main worker (1M contacts); one-click, webhooks, the imports and the synchronous exports each start a worker of their own with a fresh database (bench/README.md, "Workers"), so their figures do not depend on which suites ran before.',
			"Batch check: `API/raw` is what the service adds on top of the bare SQL lookup (HTTP parsing, auth, validation of 10,000 recipients, its richer statement, the decision rules, the JSON answer). `growth` is the same call at 100x the stored contacts (each size in a worker of its own, their calls taking turns, so it is side by side too): an indexed lookup should stay roughly flat; the raw SQL growth shows what the database itself pays for the bigger table, which the API cannot avoid.",
			"Single check: `consent / plain SQL` is the consent check's throughput as a ratio of a bench route that only runs its lookup (`/__bench/raw-lookup`), the best any route with one D1 query can do here: what the service's own code costs. `/healthz` (no work) is shown for scale. p50/p99 are per-request latencies under that load.",
			"Write path: one-click POSTs against `/__bench/minimal-one-click` (one lookup and one write batch: the least a correct unsubscribe needs); a 1,000-event SendGrid batch end to end (POST, queue, consumer, every contact's ledger row) against one raw D1 batch of the same rows; imports of new and of unchanged lines against raw inserts and raw lookups of the same lines, in the same requests; the import job (workflow) against raw inserts in its worker, with the worker's memory over the job.",
			"Data: the synchronous export at its largest size and a tenth of it, streamed and counted, against a bench route that reads the same rows with the same keyset-paged SELECTs and only counts them; peak memory is the RSS of the worker's workerd, sampled every 50 ms. Larger exports are jobs, timed from the POST to the last byte of the download.",
			"Offline signing: the `@consent-edge/links` package in the bench's own Node process (no worker), its links per second against the bare HMAC-SHA-256 over the same token bodies, their rounds taking turns.",
			"Aims: batch API/raw ≤ 1.5x at both sizes and flat in size (growth ≤ 1.5x for 100x contacts, or no more than the raw SQL's own growth); single check ≥ 0.9x the plain-SQL route's throughput; one-click ≥ 0.6x the minimal route's throughput and p99 ≤ 3x its p99; webhook batch end to end ≤ 40x the raw batch; import of new contacts ≥ 0.2x the raw insert rate, re-import of unchanged lines ≤ 1.5x the raw lookup time; import job memory flat; offline signing ≥ 50% of raw HMAC and 1,000,000 links in seconds.",
		],
		suites: rendered,
	});
	console.log(`\n${markdown}`);
	if (outFile) {
		writeReport(outFile, markdown);
		log(`report written to ${relative(process.cwd(), outFile)}`);
	}
	if (missed.length > 0) {
		log(`aims missed: ${missed.join("; ")}`);
		if (args.strict) process.exitCode = 1;
	}
}
