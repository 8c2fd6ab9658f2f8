#!/usr/bin/env node
// Builds `consent-edge/links`, the link signer for senders (src/links/public.ts):
//   dist/links.js    one self-contained ES module (esbuild, platform neutral, no dependencies)
//   dist/links.d.ts  its type declarations (TypeScript's compiler API), standing alone
// `npm run build` runs this; so do `npm test` (the Node test config builds first), `npm pack` and
// the signing benchmark. dist/ is git-ignored.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "src", "links", "public.ts");

/**
 * @param {{ types?: boolean, log?: (line: string) => void }} [options] types: false skips the
 *   declarations (about 1 s of the build) when only the JavaScript is needed.
 * @returns {Promise<{ js: string, dts: string | null }>} the written paths
 */
export async function buildLinks({ types = true, log = () => {} } = {}) {
	const started = performance.now();
	const { build } = await import("esbuild");
	const js = join(root, "dist", "links.js");
	const result = await build({
		entryPoints: [entry],
		outfile: js,
		bundle: true,
		format: "esm",
		platform: "neutral",
		target: "es2022",
		// node:crypto is imported dynamically, only where it exists; never bundled.
		external: ["node:*"],
		legalComments: "none",
		banner: {
			js: "// consent-edge/links: generated from src/links/public.ts by scripts/build-links.mjs. Do not edit.",
		},
		logLevel: "silent",
		metafile: true,
	});
	const inputs = Object.keys(result.metafile.inputs);
	const foreign = inputs.filter((input) => !input.startsWith("src/"));
	if (foreign.length > 0) throw new Error(`dist/links.js must bundle only src/ files, not ${foreign.join(", ")}`);
	const dts = join(root, "dist", "links.d.ts");
	// The declarations take TypeScript about 2 s: made again only when an input changed.
	const newestInput = Math.max(
		...[...inputs.map((input) => join(root, input)), fileURLToPath(import.meta.url)].map(mtime),
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

/** Declarations of public.ts alone; every exported type lives there, so the file must import nothing. */
async function writeDeclarations(outFile) {
	const ts = (await import("typescript")).default;
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
		rootDir: join(root, "src"),
		outDir: join(root, "dist", ".types"),
	});
	const emitted = program.emit(undefined, (fileName, data) => {
		if (resolve(fileName) === join(root, "dist", ".types", "links", "public.d.ts")) text = data;
	});
	// Types are checked by `npm run typecheck` against the Workers types; here only the emit must work.
	const problems = [
		...program.getSyntacticDiagnostics(),
		...program.getDeclarationDiagnostics(),
		...emitted.diagnostics,
	];
	if (problems.length > 0) {
		throw new Error(
			ts.formatDiagnostics(problems, {
				getCanonicalFileName: (f) => f,
				getCurrentDirectory: () => root,
				getNewLine: () => "\n",
			}),
		);
	}
	if (text === null) throw new Error("TypeScript emitted no declarations for src/links/public.ts");
	if (/^\s*(import|export .* from)\b/m.test(text)) {
		throw new Error("dist/links.d.ts would import other files: declare every exported type in src/links/public.ts");
	}
	mkdirSync(dirname(outFile), { recursive: true });
	writeFileSync(outFile, `// consent-edge/links: generated from src/links/public.ts. Do not edit.\n${text}`);
	return outFile;
}

// `node scripts/build-links.mjs`: build and say so.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	buildLinks({ log: (line) => console.log(line.replaceAll(`${root}/`, "")) }).catch((error) => {
		console.error(error.message ?? error);
		process.exit(1);
	});
}
