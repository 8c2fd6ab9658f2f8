/**
 * POST /webhooks/{provider}: verify on the raw bytes, parse, put the normalized events on
 * WEBHOOK_QUEUE, answer. Nothing is stored before the signature holds; the answer comes only once
 * the events are queued (a failed enqueue is a 500, and the provider retries).
 */
import { Hono } from "hono";
import { forgetToken, rememberToken } from "../db/webhook-tokens";
import type { Bindings } from "../env";
import { ApiError } from "../http/errors";
import type { AppEnv } from "../http/router";
import { sendInBatches } from "../queue-batch";
import type { WebhookEventMessage } from "./consumer";
import { PROVIDER_NAMES, type Provider, type ProviderName, type VerifyDeps, WebhookBodyError } from "./provider";
import { PROVIDERS } from "./providers";

const CERTIFICATE_CACHE_MS = 24 * 60 * 60 * 1000;
// The certificates' text, not their fetch promises: workerd warns when one request awaits another's.
const certificates = new Map<string, { pem: string; expires: number }>();

/** SNS signing certificates, fetched at most once a day per URL (ses.ts checks the URL first). */
async function fetchCertificate(url: string): Promise<string> {
	const cached = certificates.get(url);
	if (cached && cached.expires > Date.now()) return cached.pem;
	const response = await fetch(url);
	if (!response.ok) throw new Error(`certificate ${url}: ${response.status}`);
	const pem = await response.text();
	certificates.set(url, { pem, expires: Date.now() + CERTIFICATE_CACHE_MS });
	return pem;
}

async function confirmSubscription(url: string): Promise<void> {
	const response = await fetch(url);
	await response.arrayBuffer();
	if (!response.ok) throw new Error(`SNS subscription confirmation answered ${response.status}`);
}

/** Remembers a signed token until it expires; false when it was seen (a replay). */
function tokenMemory(env: Bindings) {
	return async (provider: ProviderName, token: string, ttlSeconds: number): Promise<boolean> => {
		const now = new Date();
		const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
		return rememberToken(env, { provider, token, expiresAt }, now.toISOString());
	};
}

async function forgetTokens(env: Bindings, tokens: Array<[ProviderName, string]>): Promise<void> {
	for (const [provider, token] of tokens) {
		await forgetToken(env, provider, token);
	}
}

export function defaultVerifyDeps(env: Bindings): VerifyDeps {
	return {
		fetchCertificate,
		confirmSubscription,
		now: () => Math.floor(Date.now() / 1000),
		rememberToken: tokenMemory(env),
	};
}

function configuredProvider(env: Bindings, name: string): Provider {
	const provider = (PROVIDER_NAMES as readonly string[]).includes(name) ? PROVIDERS[name as ProviderName] : undefined;
	// Unknown and unconfigured look the same: the answer does not tell which providers are set up.
	if (!provider?.configured(env)) throw new ApiError(404, "NOT_FOUND", "No webhook is configured at this path.");
	return provider;
}

export function webhooksRouter(deps: Partial<VerifyDeps> = {}) {
	return (
		new Hono<AppEnv>()
			// Mandrill checks a webhook URL with a HEAD request when it is saved (Hono answers HEAD
			// with the GET route, without a body). Nothing changes on either.
			.get("/webhooks/:provider", (c) => {
				configuredProvider(c.env, c.req.param("provider"));
				return c.body(null, 200);
			})
			.post("/webhooks/:provider", async (c) => {
				const provider = configuredProvider(c.env, c.req.param("provider"));
				const request = {
					url: c.req.url,
					method: c.req.method,
					headers: c.req.raw.headers,
					body: new Uint8Array(await c.req.arrayBuffer()),
				};
				const verifyDeps = { ...defaultVerifyDeps(c.env), ...deps };
				// Tokens remembered during verification are forgotten again when queueing fails: the
				// provider's retry of the same signed request must not count as a replay.
				const remembered: Array<[ProviderName, string]> = [];
				const rememberToken = verifyDeps.rememberToken;
				verifyDeps.rememberToken = async (name, token, ttl) => {
					const fresh = await rememberToken(name, token, ttl);
					if (fresh) remembered.push([name, token]);
					return fresh;
				};
				const verified = await provider.verify(request, c.env, verifyDeps);
				if (!verified.ok) {
					console.warn(`webhook ${provider.name}: refused (${verified.reason})`);
					throw new ApiError(401, "INVALID_SIGNATURE", "The webhook signature or credentials are not valid.");
				}
				if ("done" in verified) return c.text(verified.done.body, verified.done.status as 200);

				let parsed: ReturnType<Provider["parse"]>;
				try {
					parsed = provider.parse(request, c.env);
				} catch (error) {
					if (error instanceof WebhookBodyError) throw new ApiError(400, "VALIDATION_FAILED", error.message);
					throw error;
				}
				const receivedAt = new Date().toISOString();
				try {
					await sendInBatches<WebhookEventMessage>(
						c.env.WEBHOOK_QUEUE,
						parsed.events.map((event) => ({ kind: "webhook-event", provider: provider.name, event, receivedAt })),
					);
				} catch (error) {
					await forgetTokens(c.env, remembered);
					throw error;
				}
				if (parsed.problems.length > 0) {
					console.warn(`webhook ${provider.name}: ${parsed.problems.length} events not understood`, parsed.problems);
				}
				if (parsed.reply) return c.body(parsed.reply.body, 200, { "content-type": parsed.reply.contentType });
				// 200 even with problems: a provider's retry would not make a bad event good.
				return c.json({ accepted: parsed.events.length, ignored: parsed.ignored, problems: parsed.problems }, 200);
			})
	);
}
