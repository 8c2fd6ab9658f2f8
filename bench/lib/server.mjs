// Builds the bench worker once, starts it on a free 127.0.0.1 port with its own state directory,
// and stops it again (the whole process group: wrangler and the workerd processes it starts).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { join, relative } from "node:path";
import { request } from "./http.mjs";

export function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file, lines = 40) {
	try {
		return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
	} catch {
		return "(no log)";
	}
}

const wranglerEnv = () => ({ ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" });
const wranglerBin = (root) => join(root, "node_modules", ".bin", "wrangler");

function wranglerSync(root, args, log) {
	log(`$ wrangler ${args.join(" ")}`);
	const result = spawnSync(wranglerBin(root), args, {
		cwd: root,
		env: wranglerEnv(),
		encoding: "utf8",
		stdio: ["ignore", "pipe", "pipe"],
	});
	if (result.status !== 0) {
		throw new Error(`wrangler ${args[0]} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
	}
}

/**
 * Bundles the bench worker once (`wrangler deploy --dry-run`, the production bundle) so that every
 * runtime runs exactly the code of the moment the bench started: `wrangler dev` would otherwise
 * rebuild and restart the worker whenever someone edits a file under src/ during the run.
 * @returns {string} the bundled entry, absolute
 */
export function buildWorker({ root, config, outDir, log }) {
	rmSync(outDir, { recursive: true, force: true });
	wranglerSync(root, ["deploy", "--dry-run", "-c", relative(root, config), "--outdir", outDir], log);
	return join(outDir, "bench-worker.js");
}

/**
 * @param {object} options
 * @param {string} options.root       the repository root (wrangler runs there)
 * @param {string} options.config     the bench wrangler config, absolute (bindings, vars, migrations)
 * @param {string} options.entry      the bundled worker from buildWorker(), absolute
 * @param {string} options.persistTo  the state directory, absolute; emptied first when `fresh`
 * @param {string} options.logFile    where the worker's output goes, absolute
 * @param {"wrangler-dev" | "worker-only"} options.runtime
 *   "wrangler-dev": the `wrangler dev` CLI, as developers run it (its proxy worker and the DevTools
 *   inspector in front of the worker); "worker-only": the same bundle, bindings, Miniflare and workerd
 *   without them (bench/lib/start-miniflare.mjs).
 * @param {boolean} [options.fresh]
 * @param {(line: string) => void} options.log
 */
export async function startServer({ root, config, entry, persistTo, logFile, runtime, fresh = true, log }) {
	// Relative to the repository when inside it (shorter logs), absolute otherwise (--data-dir
	// elsewhere: workerd refuses paths that climb out of its directory with "..").
	const rel = (path) => (relative(root, path).startsWith("..") ? path : relative(root, path));
	if (fresh) rmSync(persistTo, { recursive: true, force: true });
	mkdirSync(persistTo, { recursive: true });

	wranglerSync(
		root,
		["d1", "migrations", "apply", "DB", "--local", "-c", rel(config), "--persist-to", rel(persistTo)],
		log,
	);

	const port = await freePort();
	let command;
	let args;
	if (runtime === "wrangler-dev") {
		command = wranglerBin(root);
		args = [
			"dev",
			rel(entry),
			"--no-bundle",
			"-c",
			rel(config),
			"--ip",
			"127.0.0.1",
			"--port",
			String(port),
			"--inspector-port",
			String(await freePort()),
			"--persist-to",
			rel(persistTo),
			"--show-interactive-dev-session=false",
			"--log-level",
			"warn",
		];
	} else if (runtime === "worker-only") {
		command = process.execPath;
		args = [
			rel(join(root, "bench", "lib", "start-miniflare.mjs")),
			rel(config),
			rel(entry),
			String(port),
			rel(persistTo),
		];
	} else {
		throw new Error(`unknown runtime "${runtime}"`);
	}
	log(`$ ${command === process.execPath ? "node" : "wrangler"} ${args.join(" ")}   (log: ${rel(logFile)})`);
	const out = openSync(logFile, "w");
	// detached: its own process group, so stop() reaches the workerd processes wrangler starts.
	const child = spawn(command, args, { cwd: root, env: wranglerEnv(), detached: true, stdio: ["ignore", out, out] });
	closeSync(out);
	let exited = null;
	const exitPromise = new Promise((resolve) =>
		child.on("exit", (code, signal) => {
			exited = { code, signal };
			resolve(exited);
		}),
	);

	const killGroup = (signal) => {
		try {
			process.kill(-child.pid, signal);
		} catch {
			// already gone
		}
	};
	// Last resort if the runner dies without reaching stop().
	const onExit = () => killGroup("SIGKILL");
	process.on("exit", onExit);

	let stopped = false;
	async function stop() {
		if (stopped) return;
		stopped = true;
		killGroup("SIGTERM");
		const result = await Promise.race([exitPromise, sleep(5000).then(() => null)]);
		// wrangler may exit before its workerd children; make sure the whole group is gone.
		await sleep(200);
		killGroup("SIGKILL");
		if (!result) await exitPromise;
		process.off("exit", onExit);
	}

	const baseUrl = `http://127.0.0.1:${port}`;
	const started = performance.now();
	try {
		for (;;) {
			if (exited) throw new Error(`the worker exited early (${JSON.stringify(exited)}):\n${tail(logFile)}`);
			if (performance.now() - started > 180_000) throw new Error(`no /healthz after 180 s:\n${tail(logFile)}`);
			try {
				const response = await request(baseUrl, "/healthz", { timeoutMs: 2000 });
				if (response.status === 200) break;
			} catch {
				// not listening yet
			}
			await sleep(250);
		}
	} catch (error) {
		await stop();
		throw error;
	}
	log(`worker up on ${baseUrl} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
	return { baseUrl, port, runtime, pid: child.pid, logFile, persistTo, stop };
}
