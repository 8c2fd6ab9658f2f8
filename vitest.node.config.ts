import { defineConfig } from "vitest/config";
// @ts-expect-error: a plain ES module without declarations (the project has no @types/node)
import { build } from "./packages/links/scripts/build.mjs";

// Tests that run in Node rather than workerd: the @consent-edge/links package's own tests
// (packages/links/test: the built signer as senders install it) and test/node (its tokens against
// the worker's LinkSigner). `npm test` runs this config after the workerd one (vitest.config.ts).
export default defineConfig(async () => {
	// The tests import packages/links/dist/index.js: build it first, never a stale or missing build.
	await build();
	return {
		test: {
			include: ["test/node/**/*.test.ts", "packages/links/test/**/*.test.ts"],
			environment: "node",
			testTimeout: 60_000,
		},
	};
});
