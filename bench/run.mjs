#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --suite consent] [-- --runtime wrangler-dev] [-- --strict] [-- --out f.md]`
// Runs the Node-only suites first (no worker), then bundles the bench worker once
// (bench/wrangler.bench.toml, entry bench/bench-worker.ts) and for each runtime starts it on a free
// 127.0.0.1 port with an empty state in bench/.data/state, runs the other suites' measurements
// against it, and always stops it.
// Then renders one markdown report (bench/results/latest.md for full runs, and stdout).
// Figures are ratios measured side by side in one run, never absolute-time assertions.
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { requestJson } from "./lib/http.mjs";
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

const dataDir = join(benchDir, ".data");
const config = join(benchDir, "wrangler.bench.toml");
const authHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
/** Every worker still running, stopped at the end whatever happens. */
const live = new Set();

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
			runsBySuite[name].push({ runtime, label: RUNTIMES[runtime], data: await modules[name].measure(ctx) });
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
			"Batch check: `API/raw` is what the service adds on top of the bare SQL lookup (HTTP parsing, auth, validation of 10,000 recipients, its richer statement, the decision rules, the JSON answer). `growth` is the same call at 100x the stored contacts (each size in a worker of its own, their calls taking turns, so it is side by side too): an indexed lookup should stay roughly flat; the raw SQL growth shows what the database itself pays for the bigger table, which the API cannot avoid.",
			"Single check: `consent / healthz` is the consent check's throughput as a share of a route that does no work, through the same stack; `plain SQL / healthz` is the same for a bench route that only runs the lookup, the best any route with one D1 query can do here; `consent / plain SQL` is therefore what the service's own code costs. p50/p99 are per-request latencies under that load.",
			"Data: exports stream contacts.csv and count rows as they arrive, against a bench route that reads the same rows with the same keyset-paged SELECTs and only counts them; peak memory is the summed RSS of the worker's workerd processes, sampled every 50 ms. Imports are reported at full size for lines that change nothing and at a smaller size for new contacts (one Durable Object write each), with the 100k time extrapolated.",
			"Offline signing: the `@consent-edge/links` package in the bench's own Node process (no worker), its links per second against the bare HMAC-SHA-256 over the same token bodies, their rounds taking turns.",
			"Aims: batch API/raw ≤ 2x at both sizes, API growth flat (≤ 1.5x for 100x contacts, or no more than the raw SQL's own growth), single-check throughput ≥ 50% of /healthz, offline signing ≥ 50% of raw HMAC and 1,000,000 links in seconds.",
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
