/**
 * One runtime for everything: the tests (the vitest plugin), `npm start` (wrangler dev) and
 * `npm run deploy` use the same wrangler, and the tests and `npm start` the same workerd, so
 * what passes here is what runs locally and what gets deployed.
 *
 * The vitest plugin brings its own newer wrangler, whose CLI needs a newer Node than this
 * project's; the `overrides` in package.json hand it the project's wrangler instead and move
 * wrangler's miniflare onto the plugin's workerd. This test holds that in place: an upgrade that
 * splits them again fails here, and the wrangler CLI must start on the Node that runs the tests.
 */
import { describe, expect, it } from "vitest";
import { node, nodeProcess, repositoryRoot } from "../../packages/links/test/node";

const readJson = (path: string) => JSON.parse(node.readFileSync(node.join(repositoryRoot, path), "utf8"));

interface LockEntry {
	version?: string;
	engines?: { node?: string };
}

const lock = readJson("package-lock.json") as { packages: Record<string, LockEntry> };
const manifest = readJson("package.json") as { devDependencies: Record<string, string> };

/** Every version of a package anywhere in the installed tree, per the lockfile. */
function versionsOf(name: string): Map<string, string[]> {
	const versions = new Map<string, string[]>();
	for (const [path, entry] of Object.entries(lock.packages)) {
		if (!path.endsWith(`node_modules/${name}`) || !entry.version) continue;
		versions.set(entry.version, [...(versions.get(entry.version) ?? []), path]);
	}
	return versions;
}

/** `>=20.3.0`-style lower bounds only: enough for the engines fields these packages declare. */
function satisfiesLowerBound(version: string, range: string): boolean {
	const bound = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
	if (!bound) throw new Error(`unexpected engines range ${range}`);
	const have = version.replace(/^v/, "").split(".").map(Number);
	const need = [bound[1], bound[2], bound[3]].map((part) => Number(part ?? 0));
	for (let i = 0; i < 3; i++) {
		if ((have[i] ?? 0) !== need[i]) return (have[i] ?? 0) > (need[i] ?? 0);
	}
	return true;
}

describe("toolchain", () => {
	it("installs one wrangler, the one package.json names, for the tests, npm start and deploy", () => {
		const wrangler = versionsOf("wrangler");
		expect([...wrangler.keys()]).toEqual([manifest.devDependencies.wrangler]);
	});

	it("installs one workerd, for the tests and npm start", () => {
		expect(versionsOf("workerd").size).toBe(1);
	});

	it("runs the wrangler CLI on this Node", () => {
		const engines = lock.packages["node_modules/wrangler"]?.engines?.node ?? ">=0";
		const version = (globalThis as unknown as { process: { version: string } }).process.version;
		expect(satisfiesLowerBound(version, engines)).toBe(true);
		const cli = node.spawnSync(
			nodeProcess.execPath,
			[node.join(repositoryRoot, "node_modules/wrangler/bin/wrangler.js"), "--version"],
			{ cwd: repositoryRoot, encoding: "utf8", timeout: 60_000 },
		);
		expect(cli.stderr).not.toMatch(/requires at least Node/i);
		expect(cli.status).toBe(0);
		expect(cli.stdout).toContain(manifest.devDependencies.wrangler);
	});
});
