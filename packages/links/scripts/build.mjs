#!/usr/bin/env node
// Builds @consent-edge/links from src/index.ts:
//   dist/index.js    one self-contained ES module (esbuild, platform neutral, no dependencies)
//   dist/index.d.ts  its type declarations (TypeScript's compiler API), standing alone
// `npm run build` (here, or `npm run build` at the repository root) runs this; so do `npm pack`
// (prepack), the Node tests (vitest.node.config.ts at the root, vitest.config.ts here) and the
// benchmarks. esbuild and typescript come from the repository root (dev tools of the workspace);
// the package itself has no dependencies. dist/ is git-ignored.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The package directory (packages/links). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(packageRoot, "src", "index.ts");
const BANNER = "// @consent-edge/links: generated from src/index.ts by scripts/build.mjs. Do not edit.";

/**
 * @param {{ types?: boolean, log?: (line: string) => void }} [options] types: false skips the
 *   declarations (about 1 s of the build) when only the JavaScript is needed.
 * @returns {Promise<{ js: string, dts: string | null }>} the written paths
 */
export async function build({ types = true, log = () => {} } = {}) {
	const started = performance.now();
	const esbuild = await import("esbuild");
	const js = join(packageRoot, "dist", "index.js");
	const result = await esbuild.build({
		absWorkingDir: packageRoot,
		entryPoints: [entry],
		outfile: js,
		bundle: true,
		format: "esm",
		platform: "neutral",
		target: "es2022",
		// node:crypto is imported dynamically, only where it exists; never bundled.
		external: ["node:*"],
		legalComments: "none",
		banner: { js: BANNER },
		logLevel: "silent",
		metafile: true,
	});
	// Metafile inputs are relative to absWorkingDir: everything bundled must be this package's source.
	const inputs = Object.keys(result.metafile.inputs);
	const foreign = inputs.filter((input) => !input.startsWith("src/"));
	if (foreign.length > 0) throw new Error(`dist/index.js must bundle only src/ files, not ${foreign.join(", ")}`);
	const dts = join(packageRoot, "dist", "index.d.ts");
	// The declarations take TypeScript about 2 s: made again only when an input changed.
	const newestInput = Math.max(
		...[...inputs.map((input) => join(packageRoot, input)), fileURLToPath(import.meta.url)].map(mtime),
	);
	if (types && mtime(dts) <= newestInput) await writeDeclarations(dts);
	log(`built ${types ? `${js} and ${dts}` : js} in ${Math.round(performance.now() - started)} ms`);
	return { js, dts: types ? dts : null };
}

function mtime(path) {
	try {
		return statSync(path).mtimeMs;
	} catch {
		return 0;
	}
}

/** Declarations of src/index.ts alone; every exported type lives there, so the file must import nothing. */
async function writeDeclarations(outFile) {
	const ts = (await import("typescript")).default;
	const outDir = join(packageRoot, "dist", ".types");
	let text = null;
	const program = ts.createProgram([entry], {
		declaration: true,
		emitDeclarationOnly: true,
		target: ts.ScriptTarget.ES2022,
		module: ts.ModuleKind.ES2022,
		moduleResolution: ts.ModuleResolutionKind.Bundler,
		lib: ["lib.es2023.d.ts"],
		types: [],
		strict: true,
		skipLibCheck: true,
		noCheck: true,
		rootDir: join(packageRoot, "src"),
		outDir,
	});
	const emitted = program.emit(undefined, (fileName, data) => {
		if (resolve(fileName) === join(outDir, "index.d.ts")) text = data;
	});
	// Types are checked by `npm run typecheck` (tsconfig.json here) and the root's tsc; here only the emit must work.
	const problems = [
		...program.getSyntacticDiagnostics(),
		...program.getDeclarationDiagnostics(),
		...emitted.diagnostics,
	];
	if (problems.length > 0) {
		throw new Error(
			ts.formatDiagnostics(problems, {
				getCanonicalFileName: (f) => f,
				getCurrentDirectory: () => packageRoot,
				getNewLine: () => "\n",
			}),
		);
	}
	if (text === null) throw new Error("TypeScript emitted no declarations for src/index.ts");
	if (/^\s*(import|export .* from)\b/m.test(text)) {
		throw new Error("dist/index.d.ts would import other files: declare every exported type in src/index.ts");
	}
	mkdirSync(dirname(outFile), { recursive: true });
	writeFileSync(outFile, `${BANNER}\n${text}`);
	return outFile;
}

// `node scripts/build.mjs` (npm run build): build and say so, on stderr: as prepack, stdout is
// `npm pack --json`'s.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	build({ log: (line) => console.error(line.replaceAll(`${packageRoot}/`, "")) }).catch((error) => {
		console.error(error.message ?? error);
		process.exit(1);
	});
}
