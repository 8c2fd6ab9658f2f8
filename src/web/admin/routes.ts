import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { normalizeBusinessUnit } from "../../consent/normalize";
import { recentJobs } from "../../db/jobs";
import { campaignStats, optOutSeries, optOutTotals, recentEvents } from "../../db/stats";
import { type Bindings, getConfig } from "../../env";
import { secretsEqual } from "../../http/auth";
import type { AppEnv } from "../../http/router";
import { checkRange, INTERVALS, type Interval, parseTime, resolveRange, type StatsFilter } from "../../reports/stats";
import type { RateLimitResult } from "../common/rate-limiter";
import { fromOwnPage } from "../common/same-origin";
import { ipBucket } from "../signup/routes";
import { clearSession, hasSession, setSession } from "./session";
import { type DashboardProps, renderDashboardPage, renderJobsPage, renderLoginPage } from "./view";

/*
 * GET /admin: the dashboard, for the holder of ADMIN_TOKEN. A plain Hono router, not
 * part of the OpenAPI document: it answers HTML. Two ways in:
 * - `Authorization: Bearer <ADMIN_TOKEN>` (curl, a reverse proxy that adds it);
 * - the form at /admin/login, whose password is the token: it sets a signed 8-hour session cookie
 *   (src/web/admin/session.ts), HttpOnly, Secure, SameSite=Strict, Path=/admin.
 *
 * Cross-site requests: the cookie is SameSite=Strict, so no other site's page can make the browser
 * send it, and the CSP's form-action 'self' keeps forms on our pages from posting elsewhere. Every
 * post must besides come from our own origin (Sec-Fetch-Site or Origin), logout included.
 */

/**
 * Sign-in attempts per IP (IPv6 per /64): 10 in 15 minutes. Every attempt counts, the right token
 * too, because the count is taken before the token is compared: parallel guesses cannot all get
 * through before the first failure is recorded. An operator signs in once per 8-hour session.
 */
export const LOGIN_LIMIT = { limit: 10, windowSeconds: 15 * 60 } as const;

const RECENT_EVENTS = 50;
const RECENT_JOBS = 50;
/** How often the jobs page reloads itself while a job is queued or running. */
const JOBS_REFRESH_SECONDS = 3;
const TOP_CAMPAIGNS = 10;
const DAY_MS = 86_400_000;

export const adminRouter = new Hono<AppEnv>();

type AdminContext = Context<AppEnv>;

adminRouter.use("*", async (c, next) => {
	await next();
	// Pages with the ledger's contents: never cached, never indexed.
	c.header("cache-control", "no-store");
	c.header("x-robots-tag", "noindex");
	// Not the global no-referrer: with it, browsers send `Origin: null` on our own form posts.
	c.header("referrer-policy", "same-origin");
});

type Access = "bearer" | "session" | "bad-bearer" | "none";

async function accessOf(c: AdminContext): Promise<Access> {
	const adminToken = getConfig(c.env).adminToken;
	const header = c.req.header("authorization");
	if (header !== undefined) {
		const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
		return adminToken && match?.[1] && (await secretsEqual(match[1], adminToken)) ? "bearer" : "bad-bearer";
	}
	if (adminToken && (await hasSession(c, adminToken))) return "session";
	return "none";
}

/** Where to go after signing in: only a page of the dashboard, never another site. */
function safeNext(value: unknown): string {
	if (typeof value !== "string" || value.length > 2000) return "/admin";
	if (!/^\/admin(?:$|[?/])/.test(value) || value.includes("\\") || value.startsWith("/admin/log")) return "/admin";
	return value;
}

function hit(env: Bindings, key: string): Promise<RateLimitResult> {
	return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key)).hit(LOGIN_LIMIT.limit, LOGIN_LIMIT.windowSeconds);
}

const loginPage = (c: AdminContext, status: ContentfulStatusCode, props: Parameters<typeof renderLoginPage>[0]) =>
	c.html(renderLoginPage(props), status);

// ---------------------------------------------------------------------------------------------
// The dashboard

const dateOf = (time: Date) => time.toISOString().slice(0, 10);

/** Days for up to 3 months, weeks for up to 2 years, else months: a readable number of bars. */
function autoInterval(from: Date, to: Date): Interval {
	const days = (to.getTime() - from.getTime()) / DAY_MS;
	if (days <= 92) return "day";
	return days <= 2 * 366 ? "week" : "month";
}

type DashboardRequest = Pick<DashboardProps, "form" | "error"> & {
	filter: StatsFilter | null;
	interval: Interval;
	buckets: string[];
};

/**
 * The filter form's query: `from`/`to` as dates (or date-times, as in the API), `businessUnit`,
 * `interval` (auto by default). Empty fields mean the default; other parameters are ignored.
 */
function readDashboardQuery(c: AdminContext): DashboardRequest {
	const field = (name: string) => c.req.query(name)?.trim() || undefined;
	const raw = {
		from: field("from"),
		to: field("to"),
		businessUnit: field("businessUnit"),
		interval: field("interval"),
	};
	const intervalChoice = (INTERVALS as readonly string[]).includes(raw.interval ?? "")
		? (raw.interval as Interval)
		: "auto";
	const form: DashboardRequest["form"] = {
		from: raw.from ?? "",
		to: raw.to ?? "",
		businessUnit: raw.businessUnit ?? "",
		interval: intervalChoice,
	};
	const fail = (error: string): DashboardRequest => ({ form, error, filter: null, interval: "day", buckets: [] });

	const from = raw.from === undefined ? undefined : parseTime(raw.from, "from");
	const to = raw.to === undefined ? undefined : parseTime(raw.to, "to");
	if (from === null) return fail("“From” is not a date (2026-11-01).");
	if (to === null) return fail("“To” is not a date (2026-11-30).");
	if (raw.interval !== undefined && raw.interval !== "auto" && intervalChoice === "auto") {
		return fail("The interval is day, week or month.");
	}
	const businessUnit = raw.businessUnit === undefined ? null : normalizeBusinessUnit(raw.businessUnit);
	if (businessUnit === null && raw.businessUnit !== undefined) {
		return fail("A business unit is letters, digits, _ and -, at most 64.");
	}
	const range = resolveRange(from, to);
	if (!range) return fail("“From” must be before “To”.");
	const interval = intervalChoice === "auto" ? autoInterval(range.from, range.to) : intervalChoice;
	const checked = checkRange(range.from, range.to, interval);
	if (!checked.ok) return fail(`The range has ${checked.message}.`);
	// The form shows the range as used: `to` is exclusive, the field is the last day included.
	form.from = raw.from ?? dateOf(range.from);
	form.to = raw.to ?? dateOf(new Date(range.to.getTime() - 1));
	return { form, error: null, filter: { ...range, businessUnit }, interval, buckets: checked.buckets };
}

adminRouter.get("/", async (c) => {
	const access = await accessOf(c);
	if (access === "bad-bearer") {
		c.header("www-authenticate", 'Bearer realm="consent-edge admin"');
		return loginPage(c, 401, { next: "/admin", error: "The bearer token is not this deployment's admin token." });
	}
	if (access === "none") {
		const search = new URL(c.req.url).search;
		return c.redirect(search ? `/admin/login?next=${encodeURIComponent(`/admin${search}`)}` : "/admin/login", 302);
	}
	const request = readDashboardQuery(c);
	const signedIn = access === "session";
	const filter = request.filter;
	if (!filter) return c.html(renderDashboardPage({ ...request, data: null, signedIn }), 400);

	const [series, byChannel, byReason, bySource, campaigns, recent] = await Promise.all([
		optOutSeries(c.env, filter, request.interval, null),
		optOutTotals(c.env, filter, "channel"),
		optOutTotals(c.env, filter, "reason"),
		optOutTotals(c.env, filter, "source"),
		campaignStats(c.env, filter, { sent: null, limit: TOP_CAMPAIGNS }),
		recentEvents(c.env, filter, RECENT_EVENTS),
	]);
	const data = {
		...filter,
		interval: request.interval,
		buckets: request.buckets,
		series,
		byChannel,
		byReason,
		bySource,
		campaigns,
		recent,
	};
	return c.html(renderDashboardPage({ ...request, data, signedIn }), 200);
});

// ---------------------------------------------------------------------------------------------
// Jobs: running and recent imports and exports

adminRouter.get("/jobs", async (c) => {
	const access = await accessOf(c);
	if (access === "bad-bearer") {
		c.header("www-authenticate", 'Bearer realm="consent-edge admin"');
		return loginPage(c, 401, { next: "/admin/jobs", error: "The bearer token is not this deployment's admin token." });
	}
	if (access === "none") return c.redirect(`/admin/login?next=${encodeURIComponent("/admin/jobs")}`, 302);
	const jobs = await recentJobs(c.env, RECENT_JOBS);
	const running = jobs.some((job) => job.status === "queued" || job.status === "running");
	// The reloading can be turned off (WCAG 2.2.1): ?reload=off.
	const reloading = running && c.req.query("reload") !== "off";
	return c.html(
		renderJobsPage({
			jobs,
			signedIn: access === "session",
			refreshSeconds: reloading ? JOBS_REFRESH_SECONDS : null,
			reloadOff: running && !reloading,
		}),
		200,
	);
});

// ---------------------------------------------------------------------------------------------
// Signing in and out

adminRouter.get("/login", async (c) => {
	const next = safeNext(c.req.query("next"));
	if (!getConfig(c.env).adminToken) return loginPage(c, 503, { next, disabled: true });
	if ((await accessOf(c)) === "session") return c.redirect(next, 302);
	const notice = c.req.query("signedOut") !== undefined ? "You are signed out." : null;
	return loginPage(c, 200, { next, notice });
});

// Posts to /admin (sign-in, sign-out, any action) must come from our own pages (src/web/common/same-origin.ts).
adminRouter.on("POST", "*", async (c, next) => {
	if (!fromOwnPage(c)) return loginPage(c, 403, { next: "/admin", error: "Use this site's own forms." });
	return next();
});

adminRouter.post("/login", async (c) => {
	const adminToken = getConfig(c.env).adminToken;
	if (!adminToken) return loginPage(c, 503, { next: "/admin", disabled: true });

	// Counted before the token is compared, so that guesses sent in parallel are limited too.
	const limit = await hit(c.env, `admin-login:${ipBucket(c.req.header("cf-connecting-ip"))}`);
	if (!limit.allowed) {
		c.header("retry-after", String(limit.retryAfterSeconds));
		const minutes = Math.ceil(limit.retryAfterSeconds / 60);
		return loginPage(c, 429, {
			next: "/admin",
			error: `Too many sign-in attempts from your network. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
		});
	}

	let form: FormData;
	try {
		form = await c.req.raw.formData();
	} catch {
		return loginPage(c, 400, { next: "/admin", error: "The form could not be read; please try again." });
	}
	const next = safeNext(form.get("next"));
	const token = form.get("token");
	// Pasted tokens often carry a line break; ADMIN_TOKEN itself is read trimmed too.
	if (typeof token === "string" && token.trim() !== "" && (await secretsEqual(token.trim(), adminToken))) {
		await setSession(c, adminToken);
		return c.redirect(next, 303);
	}
	return loginPage(c, 401, { next, error: "That is not the admin token." });
});

adminRouter.post("/logout", (c) => {
	clearSession(c);
	return c.redirect("/admin/login?signedOut", 303);
});
