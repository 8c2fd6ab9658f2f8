import type { D1Migration } from "@cloudflare/vitest-plugin";

declare global {
	namespace Cloudflare {
		interface Env {
			/** Set in vitest.config.ts: the migrations test/setup.ts applies. */
			TEST_MIGRATIONS: D1Migration[];
		}
	}
}
