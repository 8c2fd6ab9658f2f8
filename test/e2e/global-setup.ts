import type { TestProject } from "vitest/node";
import { E2E_BRAND } from "./brand";
import { type ChildProcess, node, nodeProcess, root } from "./node";

/**
 * Global setup of the browser tests (vitest.e2e.config.ts): the service under `wrangler dev` on a
 * free port, with its own state in a temp dir (migrations applied there), and every secret given
 * with --var, so a clean clone works and a stray .dev.vars changes nothing; and a second one with
 * Turnstile on. Provides the base URLs, the admin token and the Chromium path to the tests
 * (`inject("e2e")`); the teardown stops each wrangler and its children (the whole process group)
 * and removes the temp dirs.
 */

export type E2eSetup =
	| { baseUrl: string; turnstileBaseUrl: string; adminToken: string; chromiumPath: string; linkSigningKeys: string }
	| { skip: string };

declare module "vitest" {
	export interface ProvidedContext {
		e2e: E2eSetup;
	}
}

const ADMIN_TOKEN = "e2e-admin-token";
const LINK_SIGNING_KEYS = JSON.stringify({ e2e: "e2e-link-signing-secret-0123456789" });
const SUPPRESSION_PEPPER = "e2e-suppression-pepper";
const STARTUP_TIMEOUT_MS = 120_000;

// One branded business unit (test/e2e/brand.ts); every other unit keeps the defaults.
const BRANDING = JSON.stringify({
	[E2E_BRAND.businessUnit]: { name: E2E_BRAND.name, logoUrl: E2E_BRAND.logoUrl, accent: E2E_BRAND.accent },
});
/** The second worker's Turnstile secret: any value turns the check on. */
const TURNSTILE_SECRET = "e2e-turnstile-secret";
const BUSINESS_UNIT_LOCALES = JSON.stringify({ de: "de", at: "de", ch: "de", [E2E_BRAND.businessUnit]: "pl" });

const wrangler = node.join(root, "node_modules", ".bin", "wrangler");

/** The environment of every wrangler call: no prompts, no metrics, no .dev.vars / .env / process env as secrets. */
function wranglerEnv(): Record<string, string | undefined> {
	return {
		...nodeProcess.env,
		CI: "true",
		WRANGLER_SEND_METRICS: "false",
		CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "false",
		CLOUDFLARE_INCLUDE_PROCESS_ENV: "false",
		NO_COLOR: "1",
		FORCE_COLOR: "0",
	};
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = node.createServer();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			const port = typeof address === "object" && address ? address.port : 0;
			server.close((error) => (error ? reject(error) : resolve(port)));
		});
	});
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether any process of the group is still alive. */
function groupAlive(pgid: number): boolean {
	try {
		nodeProcess.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}

function killGroup(pgid: number, signal: "SIGTERM" | "SIGKILL") {
	try {
		nodeProcess.kill(-pgid, signal);
	} catch {
		// already gone
	}
}

/** SIGTERM to wrangler's process group (wrangler, esbuild, workerd), SIGKILL after 5 s. */
async function stopGroup(pgid: number) {
	killGroup(pgid, "SIGTERM");
	for (let waited = 0; waited < 5_000 && groupAlive(pgid); waited += 100) await sleep(100);
	if (groupAlive(pgid)) killGroup(pgid, "SIGKILL");
	for (let waited = 0; waited < 2_000 && groupAlive(pgid); waited += 100) await sleep(100);
}

const tail = (text: string, max = 8_000) => (text.length > max ? `…${text.slice(-max)}` : text);

async function waitForHealth(baseUrl: string, child: ChildProcess, output: () => string) {
	const deadline = Date.now() + STARTUP_TIMEOUT_MS;
	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(
				`wrangler dev exited (${child.exitCode ?? child.signalCode}) before ${baseUrl}/healthz answered:\n${tail(output())}`,
			);
		}
		try {
			const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
			if (response.ok) return;
		} catch {
			// not listening yet
		}
		await sleep(250);
	}
	throw new Error(
		`wrangler dev did not answer ${baseUrl}/healthz within ${STARTUP_TIMEOUT_MS / 1000} s:\n${tail(output())}`,
	);
}

/** A `wrangler dev` of the worker with its own local state, as global setup starts it. */
interface Worker {
	baseUrl: string;
	stop: () => Promise<void>;
}

/**
 * Starts `wrangler dev` on a free port with an empty local database (migrated), the secrets given
 * as `--var` (nothing of the checkout's .dev.vars or .env), and waits until it answers.
 */
async function startWorker(extraVars: Record<string, string>): Promise<Worker> {
	const stateDir = node.mkdtempSync(node.join(node.tmpdir(), "consent-edge-e2e-"));
	const removeState = () => node.rmSync(stateDir, { recursive: true, force: true });
	try {
		const migrate = node.spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], {
			cwd: root,
			encoding: "utf8",
			env: wranglerEnv(),
			timeout: 120_000,
		});
		if (migrate.status !== 0) {
			throw new Error(
				`wrangler d1 migrations apply failed (${migrate.status ?? migrate.error?.message}):\n${tail(`${migrate.stdout}\n${migrate.stderr}`)}`,
			);
		}
	} catch (error) {
		removeState();
		throw error;
	}

	// An empty env file: with --env-file, wrangler reads neither .dev.vars nor .env of the checkout.
	const envFile = node.join(stateDir, "e2e.env");
	node.writeFileSync(envFile, "");
	const port = await freePort();
	const baseUrl = `http://127.0.0.1:${port}`;
	const vars = { ADMIN_TOKEN, LINK_SIGNING_KEYS, SUPPRESSION_PEPPER, PUBLIC_BASE_URL: baseUrl, ...extraVars };
	const child = node.spawn(
		wrangler,
		[
			"dev",
			"--port",
			String(port),
			"--ip",
			"127.0.0.1",
			"--persist-to",
			stateDir,
			"--env-file",
			envFile,
			"--show-interactive-dev-session=false",
			...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
		],
		{ cwd: root, env: wranglerEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] },
	);
	let output = "";
	const collect = (chunk: Uint8Array | string) => {
		output = tail(output + (typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)), 200_000);
	};
	child.stdout.on("data", collect);
	child.stderr.on("data", collect);
	child.on("error", (error) => collect(`\nspawn failed: ${error.message}\n`));
	const pgid = child.pid;
	// If vitest dies without teardown, do not leave workerd behind.
	const onExit = () => {
		if (pgid) killGroup(pgid, "SIGKILL");
	};
	nodeProcess.once("exit", onExit);

	const stop = async () => {
		nodeProcess.removeListener("exit", onExit);
		if (pgid) await stopGroup(pgid);
		removeState();
	};

	try {
		if (!pgid) throw new Error(`wrangler dev did not start:\n${tail(output)}`);
		await waitForHealth(baseUrl, child, () => output);
		// The --var secrets are the ones in effect (not a .dev.vars or .env of the checkout).
		const check = await fetch(`${baseUrl}/v1/topics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
		if (!check.ok) throw new Error(`the admin token given with --var is refused (${check.status}):\n${tail(output)}`);
	} catch (error) {
		await stop();
		throw error;
	}
	return { baseUrl, stop };
}

export default async function setup(project: TestProject) {
	const chromiumPath = nodeProcess.env.CHROMIUM_PATH || "/usr/bin/chromium";
	if (!node.existsSync(chromiumPath)) {
		const message = `Chromium not found at ${chromiumPath}: apt-get install chromium`;
		if (nodeProcess.env.CI) throw new Error(message);
		console.warn(`\n[e2e] browser tests skipped. ${message}\n`);
		project.provide("e2e", { skip: message });
		return;
	}

	// The service as most tests see it, and a second one with Turnstile on for POST /subscribe
	// (its siteverify cannot be reached from here: the tests see the refused and unavailable answers).
	// One after the other: two wrangler dev starting at once race for the same local ports.
	const main = await startWorker({ BRANDING, BUSINESS_UNIT_LOCALES });
	let turnstile: Worker;
	try {
		turnstile = await startWorker({ TURNSTILE_SECRET_KEY: TURNSTILE_SECRET });
	} catch (error) {
		await main.stop();
		throw error;
	}
	const teardown = async () => {
		await Promise.all([main.stop(), turnstile.stop()]);
	};

	project.provide("e2e", {
		baseUrl: main.baseUrl,
		turnstileBaseUrl: turnstile.baseUrl,
		adminToken: ADMIN_TOKEN,
		chromiumPath,
		linkSigningKeys: LINK_SIGNING_KEYS,
	});
	return teardown;
}
