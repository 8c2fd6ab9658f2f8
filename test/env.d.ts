import type { D1Migration } from "@cloudflare/vitest-plugin";

declare global {
	namespace Cloudflare {
		interface Env {
			/** Set in vitest.config.ts: the migrations test/setup.ts applies. */
			TEST_MIGRATIONS: D1Migration[];
			/** Set in vitest.config.ts: an empty D1 database for test/integration/db/migrations.test.ts (upgrades with data). */
			MIGRATION_DB: D1Database;
			/** Base64 PKCS#8 of the ECDSA P-256 key whose public half is SENDGRID_WEBHOOK_PUBLIC_KEY. */
			TEST_SENDGRID_PRIVATE_KEY: string;
			/** The stand-in receiver of outbound webhooks (vitest.config.ts); GET /__received lists what it got. */
			WEBHOOK_RECEIVER: Fetcher;
		}
	}
}
