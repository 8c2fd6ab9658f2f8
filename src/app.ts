import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { apiKeysRouter } from "./api/api-keys";
import { blocklistRouter } from "./api/blocklist";
import { consentRouter } from "./api/consent";
import { deadLettersRouter } from "./api/dead-letters";
import { eventsRouter } from "./api/events";
import { exportsRouter } from "./api/exports";
import { importsRouter } from "./api/imports";
import { leadsRouter } from "./api/leads";
import { linksRouter } from "./api/links";
import { statsRouter } from "./api/stats";
import { suppressionsRouter } from "./api/suppressions";
import { topicsRouter } from "./api/topics";
import { usersRouter } from "./api/users";
import { CROSSENGAGE_TAG, crossEngageRouter, XNG_SECURITY_SCHEME } from "./crossengage/routes";
import { XNG_AUTH_HEADER } from "./http/auth";
import { bookmarks, documentBookmarks } from "./http/bookmark";
import { ApiError, problem, toApiError } from "./http/errors";
import { createRouter } from "./http/router";
import { securityHeaders } from "./http/security-headers";
import { adminRouter } from "./web/admin/routes";
import { contentSecurityPolicy } from "./web/common/csp";
import { APP_CSS } from "./web/common/styles";
import { themeRouter } from "./web/common/theme";
import { confirmRouter } from "./web/confirm/routes";
import { renderDocs } from "./web/docs/view";
import { preferencesRouter } from "./web/preferences/routes";
import { selfServiceRouter } from "./web/preferences/self-service";
import { signupRouter } from "./web/signup/routes";
import type { TurnstileVerifier } from "./web/signup/turnstile";
import { unsubscribeRouter } from "./web/unsubscribe/routes";
import type { VerifyDeps } from "./webhooks/provider";
import { webhooksRouter } from "./webhooks/route";

export const MAX_BODY_BYTES = 1024 * 1024;

const healthz = createRoute({
	method: "get",
	path: "/healthz",
	operationId: "getHealth",
	tags: ["Service"],
	summary: "Liveness",
	description: "Answers 200 while the worker runs; touches no storage. Needs no key.",
	// Public on purpose: load balancers and uptime checks call it without a key.
	security: [],
	responses: {
		200: {
			description: "Up",
			content: {
				"application/json": { schema: z.object({ ok: z.literal(true) }).openapi("Health"), example: { ok: true } },
			},
		},
	},
});

export interface AppOptions {
	/** Replaces what webhook verification fetches or remembers (tests: their own SNS certificates). */
	webhookDeps?: Partial<VerifyDeps>;
	/** Turnstile's siteverify for POST /subscribe (src/web/signup/turnstile.ts); tests give their own. */
	turnstileVerifier?: TurnstileVerifier;
}

export function createApp(options: AppOptions = {}) {
	const app = createRouter();

	app.use(securityHeaders(contentSecurityPolicy()));
	const defaultBodyLimit = bodyLimit({
		maxSize: MAX_BODY_BYTES,
		onError: () => {
			throw new ApiError(413, "PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB.");
		},
	});
	// Imports stream their body and enforce their own, larger limit (src/imports/importer.ts).
	app.use((c, next) => (c.req.path.startsWith("/v1/imports/") ? next() : defaultBodyLimit(c, next)));
	// The D1 bookmark on every successful write answer under /v1 (x-consent-bookmark).
	app.use(bookmarks());

	app.openapi(healthz, (c) => c.json({ ok: true as const }, 200));
	app.route("/", usersRouter);
	app.route("/", leadsRouter);
	app.route("/", eventsRouter);
	app.route("/", consentRouter);
	app.route("/", topicsRouter);
	app.route("/", blocklistRouter);
	app.route("/", suppressionsRouter);
	app.route("/", apiKeysRouter);
	app.route("/", linksRouter);
	app.route("/", unsubscribeRouter);
	app.route("/", preferencesRouter);
	app.route("/", selfServiceRouter);
	app.route("/", confirmRouter);
	app.route("/", signupRouter({ turnstileVerifier: options.turnstileVerifier }));
	app.route("/", deadLettersRouter);
	app.route("/", exportsRouter);
	app.route("/", importsRouter);
	app.route("/", statsRouter);
	app.route("/", crossEngageRouter);
	app.route("/admin", adminRouter);
	app.route("/", webhooksRouter(options.webhookDeps));
	documentBookmarks(app.openAPIRegistry as unknown as Parameters<typeof documentBookmarks>[0]);

	app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
		type: "http",
		scheme: "bearer",
		description:
			"`Authorization: Bearer <key>`: the ADMIN_TOKEN secret (every scope, every business unit), or a key from POST /v1/api-keys (its scopes, optionally limited to business units).",
	});
	app.openAPIRegistry.registerComponent("securitySchemes", XNG_SECURITY_SCHEME, {
		type: "apiKey",
		in: "header",
		name: XNG_AUTH_HEADER,
		description:
			"`X-XNG-AuthToken: <key>`, the header CrossEngage clients send: the same keys as `bearer`, taken by the CrossEngage-compatible routes only. An `Authorization` header, when present, is the one that counts.",
	});
	const openApiConfig = {
		openapi: "3.1.0",
		info: {
			title: "consent-edge",
			version: "0.1.0",
			description:
				"Subscription and consent service: may I send this kind of message on this channel about this topic to this person? " +
				"It keeps contacts (users with your externalId, leads with an email or phone) and their consent ledger, answers consent checks, " +
				"makes signed unsubscribe and preference links, and takes opt-outs from ESP webhooks.\n\n" +
				"Every operation under `/v1` needs `Authorization: Bearer <key>` with the scope it names. " +
				"Errors are `application/problem+json` (RFC 9457) with a stable `code`; invalid input lists every field in `errors`.\n\n" +
				"Reads may be served by read replicas. Every successful write answers with a bookmark in the `x-consent-bookmark` header; " +
				"send the newest one you got back in the same header on a consent check or statistics call, and that read sees your write. " +
				"Without it a read may lag the newest writes by a little.",
			license: { name: "MIT", identifier: "MIT" },
		},
		servers: [
			{ url: "/", description: "This service: the origin that serves this document" },
			{
				url: "{origin}",
				description: "A deployment of consent-edge (its PUBLIC_BASE_URL)",
				variables: {
					origin: {
						default: "http://127.0.0.1:8787",
						description: "Scheme, host and port; the default is `wrangler dev`.",
					},
				},
			},
		],
		tags: [
			{
				name: "Consent",
				description: "May I send this message to this person? One recipient, or up to 10,000 at once.",
			},
			{
				name: "Users and leads",
				description:
					"Contacts with their consent state and ledger: users (named by your externalId) and leads (an email or phone in a business unit). Erasure (GDPR art. 17).",
			},
			{
				name: "Events",
				description: "Consent events (Opt Out, Subscribe, Bounce, …) for one contact, applied in order, all or none.",
			},
			{
				name: "Topics",
				description: "What people subscribe to: one channel each, optionally one business unit and double opt-in.",
			},
			{
				name: "Links",
				description: "Signed unsubscribe and preference-center links and the List-Unsubscribe headers (RFC 8058).",
			},
			{ name: "Blocklist", description: "Bare addresses that get no message at all, in every business unit." },
			{
				name: "Suppressions",
				description: "Addresses (kept only as keyed hashes) that get no marketing, whatever contact has them.",
			},
			{
				name: "Data",
				description: "Bulk import of contacts and their consent; CSV exports of contacts and of the ledger.",
			},
			{ name: "Stats", description: "Opt-outs over time and unsubscribe rates per campaign." },
			{
				name: "API keys",
				description: "Keys with scopes, optionally limited to business units. Needs the `admin` scope.",
			},
			{ name: "Dead letters", description: "Queue messages that failed every retry: inspect, replay or discard." },
			{
				name: CROSSENGAGE_TAG,
				description:
					"CrossEngage's user-management calls under `/crossengage`, for senders moving over: change only the base URL and the key. Users and leads keep their traits at the top level; `optOut` and traits that stand for topics (`providerRefs.crossengage`) become consent events in the ledger.",
			},
			{ name: "Service", description: "The service itself." },
		],
	};
	app.doc31("/openapi.json", openApiConfig);
	app.get("/docs", (c) => c.html(renderDocs(app.getOpenAPI31Document(openApiConfig) as never)));
	app.route("/", themeRouter);
	app.get("/assets/app.css", (c) =>
		c.body(APP_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }),
	);

	app.notFound((c) =>
		problem(c, new ApiError(404, "NOT_FOUND", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`)),
	);
	app.onError((err, c) => {
		const known = toApiError(err);
		if (known) return problem(c, known);
		// Only unexpected failures are logged; the answer never carries the message or stack.
		console.error("unhandled error", c.req.method, new URL(c.req.url).pathname, err);
		return problem(c, new ApiError(500, "INTERNAL", "Something went wrong on our side; the request was not applied."));
	});
	return app;
}
