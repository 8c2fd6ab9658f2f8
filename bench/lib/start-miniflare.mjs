#!/usr/bin/env node
// Child process for the "worker-only" runtime: the bundled bench worker in the very Miniflare and
// workerd that wrangler 4 uses for `wrangler dev`, with the bindings wrangler derives from
// bench/wrangler.bench.toml, but without wrangler's dev proxy worker and DevTools inspector in front
// (one workerd process, like @cloudflare/vitest-plugin). Usage:
//   start-miniflare.mjs CONFIG BUNDLED_ENTRY PORT PERSIST_DIR
// SIGTERM disposes Miniflare and exits.
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const [config, entry, port, persistTo] = process.argv.slice(2);
const require = createRequire(import.meta.url);
// wrangler's own (nested) miniflare, not whatever version another package hoisted to the top.
const wranglerRequire = createRequire(require.resolve("wrangler"));
const { Miniflare } = wranglerRequire("miniflare");
const { unstable_getMiniflareWorkerOptions } = wranglerRequire("wrangler");

const { workerOptions } = unstable_getMiniflareWorkerOptions(resolve(config));
const mf = new Miniflare({
	host: "127.0.0.1",
	port: Number(port),
	// The layout `wrangler dev --persist-to DIR` and `wrangler d1 migrations apply --persist-to DIR` use.
	defaultPersistRoot: join(resolve(persistTo), "v3"),
	// modulesRoot: module names are paths relative to it, and workerd refuses names with ".." (a
	// bundle outside the working directory, with --data-dir).
	workers: [
		{
			name: "consent-edge-bench",
			...workerOptions,
			modules: true,
			modulesRoot: dirname(resolve(entry)),
			scriptPath: resolve(entry),
		},
	],
});
const url = await mf.ready;
console.log(`ready on ${url.href}`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"]) {
	process.on(signal, async () => {
		if (stopping) return;
		stopping = true;
		await mf.dispose();
		process.exit(0);
	});
}
