#!/usr/bin/env node
// `npm start [-- --port 8788]`: the service on http://localhost:8787 with local D1, Durable Objects
// and Queues. Creates .dev.vars from .dev.vars.example when missing, applies migrations to the
// local database, prints the development admin token, then runs `wrangler dev` with any extra flags.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wrangler = join(root, "node_modules", ".bin", "wrangler");
const args = process.argv.slice(2);

const devVars = join(root, ".dev.vars");
if (!existsSync(devVars)) {
	copyFileSync(join(root, ".dev.vars.example"), devVars);
	console.log("Created .dev.vars from .dev.vars.example (development secrets; never deploy them).");
}
const adminToken = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1]?.trim();

// Migrations go to the same local state wrangler dev uses (.wrangler/state, or --persist-to).
const persistIndex = args.indexOf("--persist-to");
const persist = persistIndex >= 0 ? ["--persist-to", args[persistIndex + 1]] : [];
const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", ...persist], {
	cwd: root,
	stdio: "inherit",
	env: { ...process.env, CI: "true" }, // no confirmation prompt
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const portIndex = args.indexOf("--port");
const port = portIndex >= 0 ? args[portIndex + 1] : "8787";
console.log(`
consent-edge is starting on http://localhost:${port}
  API docs:     http://localhost:${port}/docs
  Admin token:  ${adminToken || "(ADMIN_TOKEN is empty in .dev.vars: admin calls are refused)"}
  Try:          curl -H "Authorization: Bearer ${adminToken}" "http://localhost:${port}/v1/consent?email=ann@example.de&channel=email"
`);

const dev = spawn(wrangler, ["dev", ...(portIndex >= 0 ? [] : ["--port", port]), ...args], {
	cwd: root,
	stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));
