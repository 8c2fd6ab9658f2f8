import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// One workerd for the whole run (wrangler.toml bindings, real local D1, Durable Objects and Queues);
// migrations are applied once by test/setup.ts. Tests seed their own, uniquely named data.
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					bindings: {
						TEST_MIGRATIONS: migrations,
						ADMIN_TOKEN: "test-admin-token",
						LINK_SIGNING_KEYS: JSON.stringify({
							t2: "test-signing-secret-two-0123456789",
							t1: "test-signing-secret-one-0123456789",
						}),
						SUPPRESSION_PEPPER: "test-pepper",
						PUBLIC_BASE_URL: "https://consent.example.test",
						SIGNUP_ALLOWED_ORIGINS: "https://shop.example, https://www.shop.example",
					},
				},
			}),
		],
		test: {
			include: ["test/**/*.test.ts"],
			// test/node runs in Node (vitest.node.config.ts), test/e2e in browsers.
			exclude: ["test/e2e/**", "test/node/**"],
			setupFiles: ["./test/setup.ts"],
			testTimeout: 30_000,
		},
	};
});
