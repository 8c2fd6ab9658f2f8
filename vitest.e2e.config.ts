import { defineConfig } from "vitest/config";

// The public pages in a real browser: playwright-core drives Debian's Chromium (/usr/bin/chromium,
// or CHROMIUM_PATH; never a downloaded browser) against the service under `wrangler dev`, which
// test/e2e/global-setup.ts starts with its own state. One file at a time: one wrangler, two cores.
// `npm run test:e2e`; part of `npm test`.
export default defineConfig({
	test: {
		include: ["test/e2e/**/*.test.ts"],
		environment: "node",
		globalSetup: ["./test/e2e/global-setup.ts"],
		fileParallelism: false,
		testTimeout: 120_000,
		hookTimeout: 120_000,
		teardownTimeout: 30_000,
	},
});
