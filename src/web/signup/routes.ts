import { z } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { BusinessUnitSchema, EmailSchema, TopicKeySchema } from "../../api/schemas";
import { normalizeBusinessUnit } from "../../consent/normalize";
import { resolveTopic, topicProblemMessage } from "../../consent/topics";
import type { TopicDefinition } from "../../consent/types";
import { type IncomingEvent, linkBaseFor, recordEvents, requestContext } from "../../contacts/record-events";
import { createLead } from "../../db/contacts";
import { loadTopics } from "../../db/topics";
import { type Bindings, getConfig } from "../../env";
import { ApiError, type FieldError, problem } from "../../http/errors";
import type { AppEnv } from "../../http/router";
import { page, pageShell } from "../common/page";
import type { RateLimitResult } from "../common/rate-limiter";
import { checkChallenge, MAX_TURNSTILE_TOKEN, siteverify, TURNSTILE_FIELD, type TurnstileVerifier } from "./turnstile";
import { renderSignupPage, type SignupPageOutcome } from "./view";

/*
 * POST /subscribe — the public sign-up endpoint. A plain HTML form on the sender's site:
 *
 *   <form method="post" action="https://consent.example.com/subscribe">
 *     <input type="hidden" name="businessUnit" value="de">
 *     <label>Email <input type="email" name="email" required></label>
 *     <label><input type="checkbox" name="topics" value="newsletter-kids"> Kids newsletter</label>
 *     <label><input type="checkbox" name="topics" value="newsletter-pets"> Pets newsletter</label>
 *     <!-- honeypot: hidden from people (CSS, not type=hidden), bots fill it in -->
 *     <input name="website" tabindex="-1" autocomplete="off" class="visually-hidden" aria-hidden="true">
 *     <button>Sign up</button>
 *   </form>
 *
 * or `fetch(…, {method: "POST", headers: {"content-type": "application/json"},
 * body: JSON.stringify({email, businessUnit, topics: ["newsletter-kids"]})})` from an origin listed in
 * SIGNUP_ALLOWED_ORIGINS. Subscribe events are recorded with source `signup_form`; double-opt-in
 * topics become pending and their ledger rows carry the confirmUrl, which the outbound webhook
 * delivers to the sender's mailer. Nothing is sent from here.
 *
 * Order of checks: origin (403) → media type (415) → body (400) → per-IP limit (429) → validation
 * (400) → Turnstile when TURNSTILE_SECRET_KEY is set (403; 503 when siteverify cannot be asked) →
 * per-address limit (429) → honeypot → write. Turnstile comes before the per-address limit so that
 * a bot cannot use up a person's attempts without solving a challenge for each. Everything after validation is the same
 * whatever the address: the answer (202, same body and headers) never says whether the address
 * was known, already subscribed or blocked.
 */

/**
 * Per IP (IPv6 per /64, since one host usually holds a whole /64): 10 attempts in 10 minutes.
 * A person signs up once, perhaps twice after a typo; 10 leaves room for a few people behind one
 * NAT (an office, a carrier-grade NAT) while a script from one address gets one attempt a minute.
 * Every readable attempt from an accepted origin counts, whether its fields are valid or not.
 */
export const IP_LIMIT = { limit: 10, windowSeconds: 10 * 60 } as const;
/**
 * Per address: 3 attempts an hour. Each accepted sign-up to a double-opt-in topic makes the sender
 * mail a confirmation link; the limit keeps the endpoint from being used to flood someone's inbox
 * (from many IPs). It counts attempts for the address, whether or not it belongs to a contact, so a
 * 429 says nothing about who is known. The key is a SHA-256 of the address without its "+tag", so
 * sub-addresses of one mailbox share the limit and no address is kept in clear.
 */
export const ADDRESS_LIMIT = { limit: 3, windowSeconds: 60 * 60 } as const;
/** Humans leave this field empty; a filled one gets the usual 202 and nothing is written. */
export const HONEYPOT_FIELD = "website";
export const MAX_SIGNUP_TOPICS = 20;

type Mode = "form" | "json";

type Outcome =
	| { kind: "accepted" }
	| { kind: "invalid"; errors: FieldError[]; problems: Array<"email" | "topicsMissing" | "form">; malformed?: boolean }
	| { kind: "rateLimited"; retryAfterSeconds: number }
	| { kind: "forbidden" }
	| { kind: "challengeFailed" }
	| { kind: "challengeUnavailable" }
	| { kind: "error" };

const TopicsSchema = z.array(TopicKeySchema).min(1, "choose at least one topic").max(MAX_SIGNUP_TOPICS);
const signupFields = {
	email: EmailSchema,
	businessUnit: BusinessUnitSchema,
	topics: TopicsSchema,
	[HONEYPOT_FIELD]: z.string().max(2048).optional(),
	[TURNSTILE_FIELD]: z.string().max(MAX_TURNSTILE_TOKEN).optional(),
};
/** JSON callers are held to the API's rule: unknown fields are rejected. */
const JsonSignupSchema = z.strictObject(signupFields);
/** HTML forms often carry extra fields (a submit button's name, the site's own tokens): ignored. */
const FormSignupSchema = z.object(signupFields);

function modeOf(contentType: string | undefined): Mode | null {
	const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase();
	if (type === "application/json") return "json";
	if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data") return "form";
	return null;
}

/** The serialized origin of an http(s) URL; null for anything else (including the opaque "null"). */
function originOf(value: string): string | null {
	try {
		const url = new URL(value);
		return url.protocol === "https:" || url.protocol === "http:" ? url.origin : null;
	} catch {
		return null;
	}
}

type OriginCheck = { kind: "none" | "own" | "foreign" } | { kind: "allowed"; origin: string };

/**
 * No Origin header (server-to-server, curl) and our own origin are fine; other origins must be
 * listed in SIGNUP_ALLOWED_ORIGINS. A page in a sandbox or after a privacy redirect sends
 * `Origin: null`, which is refused: it cannot be told apart from any other site.
 */
function checkOrigin(env: Bindings, request: Request): OriginCheck {
	const header = request.headers.get("origin");
	if (header === null) return { kind: "none" };
	const origin = originOf(header);
	if (!origin) return { kind: "foreign" };
	if (isOwnOrigin(env, request, origin)) return { kind: "own" };
	return allowedOrigins(env).has(origin) ? { kind: "allowed", origin } : { kind: "foreign" };
}

function isOwnOrigin(env: Bindings, request: Request, origin: string): boolean {
	const publicBase = getConfig(env).publicBaseUrl;
	return origin === new URL(request.url).origin || (publicBase !== null && origin === originOf(publicBase));
}

function allowedOrigins(env: Bindings): Set<string> {
	return new Set(
		getConfig(env)
			.signupAllowedOrigins.map(originOf)
			.filter((origin): origin is string => origin !== null),
	);
}

/** The page the form was on, for a "back" link, when it belongs to our own or an allowed origin. */
function backLinkFor(env: Bindings, request: Request): string | null {
	const referer = request.headers.get("referer");
	const origin = referer ? originOf(referer) : null;
	if (!referer || !origin) return null;
	return isOwnOrigin(env, request, origin) || allowedOrigins(env).has(origin) ? referer : null;
}

/** Rate-limit bucket of an IP: IPv4 as is, IPv6 by its /64 prefix, IPv4-mapped IPv6 as IPv4. */
export function ipBucket(ip: string | null | undefined): string {
	const value = (ip ?? "").trim().toLowerCase();
	if (value === "") return "unknown";
	if (!value.includes(":")) return value;
	const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(value);
	if (mapped?.[1]) return mapped[1];
	const halves = value.split("::");
	if (halves.length > 2) return value;
	const head = halves[0] ? halves[0].split(":") : [];
	const tail = halves[1] ? halves[1].split(":") : [];
	const groups =
		halves.length === 2
			? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail]
			: head;
	return `${groups
		.slice(0, 4)
		.map((group) => group.replace(/^0+(?=.)/, ""))
		.join(":")}::/64`;
}

/** Rate-limit key of an address: SHA-256 of the address without a "+tag" in its local part. */
export async function addressKey(email: string): Promise<string> {
	const at = email.lastIndexOf("@");
	const local = email.slice(0, at);
	const mailbox = `${local.split("+")[0] || local}${email.slice(at)}`;
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(mailbox)));
	return `email:${Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

function hit(env: Bindings, key: string, rule: { limit: number; windowSeconds: number }): Promise<RateLimitResult> {
	return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).hit(rule.limit, rule.windowSeconds);
}

/** Form fields as the schema expects them; `topics` may repeat (also as PHP-style `topics[]`). */
async function readForm(request: Request): Promise<Record<string, unknown> | null> {
	let form: FormData;
	try {
		form = await request.formData();
	} catch {
		return null;
	}
	const text = (name: string) => {
		const value = form.get(name);
		return typeof value === "string" ? value : undefined;
	};
	return {
		email: text("email"),
		businessUnit: text("businessUnit"),
		topics: [...form.getAll("topics"), ...form.getAll("topics[]")].filter((v): v is string => typeof v === "string"),
		[HONEYPOT_FIELD]: text(HONEYPOT_FIELD),
		[TURNSTILE_FIELD]: text(TURNSTILE_FIELD),
	};
}

const MALFORMED = Symbol("malformed");

async function readJson(request: Request): Promise<unknown | typeof MALFORMED> {
	try {
		return await request.json();
	} catch {
		return MALFORMED;
	}
}

function checkTopics(keys: string[], businessUnit: string, topics: Map<string, TopicDefinition>): FieldError[] {
	// A sign-up by email takes email topics.
	const scope = { businessUnit, channel: "email" as const };
	return keys.flatMap((key, index) => {
		const resolved = resolveTopic(topics.get(key), scope);
		return "problem" in resolved
			? [{ path: `topics.${index}`, message: topicProblemMessage(key, resolved.problem, scope) }]
			: [];
	});
}

/** What a form caller is told about field errors (never the raw messages). */
function problemsOf(errors: FieldError[], raw: unknown): Array<"email" | "topicsMissing" | "form"> {
	const topics = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>).topics : undefined;
	const noTopics = !Array.isArray(topics) || topics.length === 0;
	return errors.map((error) =>
		error.path === "email" ? "email" : error.path === "topics" && noTopics ? "topicsMissing" : "form",
	);
}

function respond(
	c: Context<AppEnv>,
	mode: Mode | null,
	outcome: Outcome,
	businessUnit: string | null,
	backUrl: string | null,
) {
	if (outcome.kind === "rateLimited") c.header("retry-after", String(outcome.retryAfterSeconds));
	if (mode === "form") {
		const status = {
			accepted: 202,
			invalid: 400,
			rateLimited: 429,
			forbidden: 403,
			challengeFailed: 403,
			challengeUnavailable: 503,
			error: 500,
		} as const;
		const answer: SignupPageOutcome =
			outcome.kind === "invalid" ? { kind: "invalid", problems: outcome.problems } : { kind: outcome.kind };
		const back = outcome.kind === "forbidden" ? null : backUrl;
		// The answer to a POST: a language switch would have to post the sign-up again, so there is none.
		const shell = pageShell(c, { businessUnit, languageSwitch: false });
		return page(c, shell, renderSignupPage({ shell, outcome: answer, backUrl: back }), status[outcome.kind]);
	}
	switch (outcome.kind) {
		case "accepted":
			return c.json({ status: "accepted" as const }, 202);
		case "invalid": {
			if (outcome.malformed)
				return problem(c, new ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON."));
			const first = outcome.errors[0];
			const detail = first ? `${first.path || "body"}: ${first.message}` : "The sign-up is not valid.";
			return problem(c, new ApiError(400, "VALIDATION_FAILED", detail, outcome.errors));
		}
		case "rateLimited":
			return problem(c, new ApiError(429, "RATE_LIMITED", "Too many sign-up attempts; try again later."));
		case "forbidden":
			return problem(c, new ApiError(403, "FORBIDDEN", "This origin may not post sign-ups (SIGNUP_ALLOWED_ORIGINS)."));
		case "challengeFailed":
			return problem(
				c,
				new ApiError(
					403,
					"CHALLENGE_FAILED",
					`The Turnstile check is missing or did not pass: send the widget's token as ${TURNSTILE_FIELD}; each token is good for one sign-up.`,
				),
			);
		case "challengeUnavailable":
			return problem(
				c,
				new ApiError(
					503,
					"CHALLENGE_UNAVAILABLE",
					"The Turnstile check cannot be verified right now; try again later.",
				),
			);
		default:
			return problem(
				c,
				new ApiError(500, "INTERNAL", "Something went wrong on our side; the request was not applied."),
			);
	}
}

async function handleSignup(
	c: Context<AppEnv>,
	mode: Mode,
	setLocale: (bu: string | null) => void,
	verifier: TurnstileVerifier,
): Promise<Outcome> {
	const env = c.env;
	const request = c.req.raw;

	const raw = mode === "json" ? await readJson(request) : await readForm(request);
	if (raw === null || raw === MALFORMED) {
		return { kind: "invalid", errors: [], problems: ["form"], malformed: mode === "json" };
	}
	const rawUnit = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>).businessUnit : undefined;
	setLocale(normalizeBusinessUnit(typeof rawUnit === "string" ? rawUnit : undefined));

	const ipLimit = await hit(env, `ip:${ipBucket(request.headers.get("cf-connecting-ip"))}`, IP_LIMIT);
	if (!ipLimit.allowed) return { kind: "rateLimited", retryAfterSeconds: ipLimit.retryAfterSeconds };

	const parsed = (mode === "json" ? JsonSignupSchema : FormSignupSchema).safeParse(raw);
	if (!parsed.success) {
		const errors = parsed.error.issues.map((issue) => ({
			path: issue.path.map(String).join("."),
			message: issue.message,
		}));
		return { kind: "invalid", errors, problems: problemsOf(errors, raw) };
	}
	const { email, businessUnit } = parsed.data;
	const topicKeys = [...new Set(parsed.data.topics)];
	const topics = await loadTopics(env);
	const topicErrors = checkTopics(topicKeys, businessUnit, topics);
	if (topicErrors.length > 0) return { kind: "invalid", errors: topicErrors, problems: ["form"] };

	const challenge = await checkChallenge(
		verifier,
		getConfig(env).turnstileSecret,
		parsed.data[TURNSTILE_FIELD],
		request.headers.get("cf-connecting-ip"),
	);
	if (challenge === "failed") return { kind: "challengeFailed" };
	if (challenge === "unavailable") return { kind: "challengeUnavailable" };

	const addressLimit = await hit(env, await addressKey(email), ADDRESS_LIMIT);
	if (!addressLimit.allowed) return { kind: "rateLimited", retryAfterSeconds: addressLimit.retryAfterSeconds };

	if ((parsed.data[HONEYPOT_FIELD] ?? "").trim() !== "") return { kind: "accepted" };

	const origin = request.headers.get("origin");
	const events: IncomingEvent[] = topicKeys.map((topic) => ({
		event: "Subscribe",
		topic,
		properties: origin ? { signupOrigin: origin } : {},
	}));
	await recordEvents(
		env,
		// Always the same single batch, known address or not: the answer's timing tells nothing.
		{ businessUnit, contact: () => createLead(env, { email, businessUnit }) },
		events,
		requestContext(request, "signup_form"),
		linkBaseFor(env, request),
		topics,
	);
	return { kind: "accepted" };
}

export interface SignupDeps {
	/** Asks Cloudflare's siteverify by default; tests give their own. */
	turnstileVerifier?: TurnstileVerifier;
}

/** POST /subscribe and its CORS preflight. */
export function signupRouter(deps: SignupDeps = {}) {
	const verifier = deps.turnstileVerifier ?? siteverify();
	const router = new Hono<AppEnv>();

	/*
	 * CORS, with hono/cors: an origin listed in SIGNUP_ALLOWED_ORIGINS gets Access-Control-Allow-Origin
	 * on the preflight and on the answer (which exposes Retry-After); our own origin and requests
	 * without Origin need none; every answer varies by Origin. A preflight from any other origin is
	 * refused with 403 here; its POST gets the handler's 403 (a page or a problem).
	 */
	router.use(
		"/subscribe",
		async (c, next) => {
			if (c.req.method === "OPTIONS") {
				c.header("allow", "POST, OPTIONS");
				if (checkOrigin(c.env, c.req.raw).kind === "foreign") {
					c.header("vary", "Origin");
					return c.body(null, 403);
				}
			}
			await next();
		},
		cors({
			origin: (origin, c) => (checkOrigin(c.env, c.req.raw).kind === "allowed" ? origin : null),
			allowMethods: ["POST"],
			allowHeaders: ["content-type"],
			exposeHeaders: ["Retry-After"],
			maxAge: 86400,
		}),
	);

	router.post("/subscribe", async (c) => {
		const env = c.env;
		const request = c.req.raw;
		const mode = modeOf(c.req.header("content-type"));
		c.header("cache-control", "no-store");
		// The answer page's language and branding follow the form's business unit once it is read.
		let pageUnit: string | null = null;
		const setLocale = (businessUnit: string | null) => {
			pageUnit = businessUnit;
		};
		const backUrl = mode === "form" ? backLinkFor(env, request) : null;

		if (checkOrigin(env, request).kind === "foreign") return respond(c, mode, { kind: "forbidden" }, null, null);
		if (mode === null) {
			return problem(
				c,
				new ApiError(
					415,
					"UNSUPPORTED_MEDIA_TYPE",
					"Send the sign-up as application/x-www-form-urlencoded, multipart/form-data or application/json.",
				),
			);
		}

		let outcome: Outcome;
		try {
			outcome = await handleSignup(c, mode, setLocale, verifier);
		} catch (err) {
			// JSON callers get the app's one error path; a person who posted a form gets a page.
			if (mode === "json") throw err;
			if (err instanceof ApiError && err.status === 400) {
				outcome = { kind: "invalid", errors: err.errors ?? [], problems: ["form"] };
			} else {
				console.error("sign-up failed", err);
				outcome = { kind: "error" };
			}
		}
		return respond(c, mode, outcome, pageUnit, backUrl);
	});

	router.all("/subscribe", (c) => {
		c.header("allow", "POST, OPTIONS");
		return problem(c, new ApiError(405, "METHOD_NOT_ALLOWED", "Sign up with POST /subscribe."));
	});
	return router;
}
