import { defineConfig } from "vitest/config";
// @ts-expect-error: a plain ES module without declarations (no @types/node here)
import { build } from "./scripts/build.mjs";

// `npm test` in this package: its own tests, in Node, against the build. The repository root runs
// the same files (with its own test/node) from vitest.node.config.ts.
export default defineConfig(async () => {
	await build();
	return {
		test: {
			include: ["test/**/*.test.ts"],
			environment: "node",
			testTimeout: 60_000,
		},
	};
});
