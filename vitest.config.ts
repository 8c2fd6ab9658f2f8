// @ts-expect-error: a Node built-in; the project is typed for the Workers runtime (no @types/node)
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Provider secrets made for this run: the tests sign webhooks with them as the providers would.
const sendgridKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const secret = () => randomBytes(24).toString("base64url");

// Stands in for the receiver of outbound webhooks (every fetch the worker makes goes here): keeps
// what it got for the tests to read, and fails deliveries of campaign "fail-outbound" with a 500.
const RECEIVER = `
const received = [];
export default {
	async fetch(request) {
		const url = new URL(request.url);
		if (url.pathname === "/__received") return Response.json(received);
		const body = await request.text();
		received.push({ url: request.url, headers: Object.fromEntries(request.headers), body });
		return new Response(null, { status: body.includes('"campaign":"fail-outbound"') ? 500 : 204 });
	},
};`;

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
						QUEUE_RETRY_BASE_SECONDS: "0",
						OUTBOUND_WEBHOOK_URL: "https://receiver.example.test/consent-events",
						OUTBOUND_WEBHOOK_SECRET: secret(),
						SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridKeys.publicKey
							.export({ type: "spki", format: "der" })
							.toString("base64"),
						TEST_SENDGRID_PRIVATE_KEY: sendgridKeys.privateKey
							.export({ type: "pkcs8", format: "der" })
							.toString("base64"),
						MAILGUN_WEBHOOK_SIGNING_KEY: secret(),
						MANDRILL_WEBHOOK_KEY: secret(),
						MANDRILL_WEBHOOK_URL: "https://consent.example.test/webhooks/mandrill",
						MAILJET_WEBHOOK_BASIC_AUTH: `mailjet:${secret()}`,
						POSTMARK_WEBHOOK_BASIC_AUTH: `postmark:${secret()}`,
						SES_TOPIC_ARNS: "arn:aws:sns:eu-west-1:123456789012:ses-events",
						TWILIO_AUTH_TOKEN: secret(),
					},
					// An empty database only test/integration/db/migrations.test.ts uses: it upgrades a database with data
					// in it from an older migration; DB (wrangler.toml) stays as it is.
					d1Databases: ["MIGRATION_DB"],
					outboundService: "webhook-receiver",
					serviceBindings: { WEBHOOK_RECEIVER: "webhook-receiver" },
					workers: [{ name: "webhook-receiver", modules: true, compatibilityDate: "2026-04-01", script: RECEIVER }],
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
