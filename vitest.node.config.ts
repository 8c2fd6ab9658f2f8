import { defineConfig } from "vitest/config";
// @ts-expect-error: a plain ES module without declarations (the project has no @types/node)
import { buildLinks } from "./scripts/build-links.mjs";

// Tests that run in Node rather than workerd: test/node (the built `consent-edge/links` module as
// senders import it). `npm test` runs this config after the workerd one (vitest.config.ts).
export default defineConfig(async () => {
	// The tests import dist/links.js: build it first, so they never test a stale or missing build.
	await buildLinks();
	return {
		test: {
			include: ["test/node/**/*.test.ts"],
			environment: "node",
			testTimeout: 60_000,
		},
	};
});
