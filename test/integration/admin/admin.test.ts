import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { emptyConsentState } from "../../../src/consent/types";
import { LOGIN_LIMIT } from "../../../src/web/admin/routes";
import { SESSION_COOKIE, SESSION_SECONDS, sessionCookieValue } from "../../../src/web/admin/session";
import { ADMIN, BASE, unique } from "../../helpers";

/** A request as a browser (no API key) would send it; each test signs in from its own IP. */
function request(path: string, init: { method?: string; headers?: Record<string, string>; body?: BodyInit } = {}) {
	return exports.default.fetch(new Request(`${BASE}${path}`, { redirect: "manual", ...init }));
}

const uniqueIp = () => `10.${Array.from(crypto.getRandomValues(new Uint8Array(3))).join(".")}`;
// IPv6 addresses are limited per /64: a random prefix per test keeps tests apart.
const uniqueIpv6 = () =>
	`2001:db8:${Array.from(crypto.getRandomValues(new Uint16Array(2)), (n) => n.toString(16)).join(":")}::1`;

function login(
	token: string,
	ip = uniqueIpv6(),
	extra: Record<string, string> = {},
	headers: Record<string, string> = {},
) {
	return request("/admin/login", {
		method: "POST",
		headers: {
			"content-type": "application/x-www-form-urlencoded",
			"cf-connecting-ip": ip,
			origin: BASE,
			"sec-fetch-site": "same-origin",
			...headers,
		},
		body: new URLSearchParams({ username: "admin", token, ...extra }).toString(),
	});
}

const cookieOf = (response: Response) => (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";

async function seedLedger(businessUnit: string, rows: Array<Record<string, string | null>>) {
	const id = crypto.randomUUID();
	await env.DB.prepare("INSERT INTO contacts (id, business_unit, consent) VALUES (?, ?, ?)")
		.bind(id, businessUnit, JSON.stringify(emptyConsentState()))
		.run();
	await env.DB.batch(
		rows.map((row) =>
			env.DB.prepare(
				`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, reason, campaign,
				   occurred_at, received_at)
				 VALUES (?, ?, ?, ?, '[]', 1, '{}', ?, ?, ?, ?, ?)`,
			).bind(
				id,
				row.event ?? "Opt Out",
				row.channel === undefined ? "email" : row.channel,
				row.topic ?? null,
				row.source ?? "one_click",
				row.reason ?? null,
				row.campaign ?? null,
				row.at,
				row.at,
			),
		),
	);
}

describe("GET /admin", () => {
	it("sends a visitor without credentials to the sign-in page, keeping the filter", async () => {
		const plain = await request("/admin");
		expect(plain.status).toBe(302);
		expect(plain.headers.get("location")).toBe("/admin/login");
		const filtered = await request("/admin?businessUnit=de&from=2026-11-01");
		expect(filtered.headers.get("location")).toBe(
			`/admin/login?next=${encodeURIComponent("/admin?businessUnit=de&from=2026-11-01")}`,
		);
		const page = await request("/admin/login");
		expect(page.status).toBe(200);
		expect(page.headers.get("cache-control")).toBe("no-store");
		const csp = page.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("default-src 'none'");
		expect(csp).toContain("form-action 'self'");
		const html = await page.text();
		expect(html).toContain('<form method="post" action="/admin/login"');
		expect(html).toContain('<label for="token">Admin token</label>');
		expect(html).not.toContain("<script");
	});

	it("shows the dashboard to the admin token as bearer, with the seeded numbers in the chart", async () => {
		const unit = unique("adm");
		const campaign = `<script>alert(1)</script>${unique("c")}`;
		await seedLedger(unit, [
			{ at: "2026-11-03T08:00:00.000Z", reason: "too_many", campaign },
			{ at: "2026-11-03T09:00:00.000Z", reason: "too_many" },
			{ at: "2026-11-03T23:59:59.999Z", channel: "sms", source: "webhook:twilio" },
			{ at: "2026-11-05T00:00:00.000Z", event: "Unsubscribe", topic: "kids", source: "preference_center" },
			{ at: "2026-11-05T01:00:00.000Z", event: "Subscribe", topic: "kids", source: "api" },
		]);
		const response = await request(`/admin?from=2026-11-02&to=2026-11-08&businessUnit=${unit}`, {
			headers: { authorization: `Bearer ${ADMIN}` },
		});
		expect(response.status).toBe(200);
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(response.headers.get("content-security-policy")).not.toContain("unsafe-inline");
		const html = await response.text();
		expect(html).not.toContain("<script");
		expect(html).not.toContain("style=");
		// The chart: an accessible SVG whose bars carry the counts per UTC day.
		expect(html).toMatch(
			/<svg class="chart" viewBox="0 0 960 330" role="img" aria-labelledby="chart-title chart-desc">/,
		);
		expect(html).toContain('<title id="chart-title">Opt-outs per day, 2026-11-02 to 2026-11-08 (UTC)</title>');
		expect(html).toContain('<desc id="chart-desc">4 in total; the most, 3, in 2026-11-03.</desc>');
		expect(html).toContain("<title>2026-11-03: 3</title>");
		expect(html).toContain("<title>2026-11-05: 1</title>");
		expect(html.match(/<rect x=/g)).toHaveLength(2);
		// The same numbers as a table, every day of the range.
		expect(html).toContain('<td>2026-11-03</td><td class="num">3</td>');
		expect(html).toContain('<td>2026-11-04</td><td class="num">0</td>');
		expect(html).toContain('<td>2026-11-08</td><td class="num">0</td>');
		// Breakdowns, campaigns (escaped) and the latest events, the Subscribe too.
		expect(html).toMatch(/<td>email<\/td><td class="num">3<\/td>/);
		expect(html).toMatch(/<td>too_many<\/td><td class="num">2<\/td>/);
		expect(html).toMatch(/<td>webhook:twilio<\/td><td class="num">1<\/td>/);
		expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
		expect(html).toContain('<time datetime="2026-11-05T01:00:00.000Z">2026-11-05 01:00:00</time>');
		expect(html).toContain('value="2026-11-02"');
		expect(html).toContain('value="2026-11-08"');
		// Signed in by bearer: there is no session to sign out of.
		expect(html).not.toContain("Sign out");
	});

	it("picks weeks for longer ranges and answers 400 with the form for a bad filter", async () => {
		const bearer = { authorization: `Bearer ${ADMIN}` };
		const weeks = await request(`/admin?from=2026-01-01&to=2026-06-30&businessUnit=${unique("adm")}`, {
			headers: bearer,
		});
		expect(weeks.status).toBe(200);
		expect(await weeks.text()).toContain("Opt-outs per week, 2025-12-29 to 2026-06-29 (UTC)");
		for (const query of ["from=someday", "from=2026-11-05&to=2026-11-01", "interval=hour", "businessUnit=%C3%A4"]) {
			const bad = await request(`/admin?${query}`, { headers: bearer });
			expect(bad.status, query).toBe(400);
			const html = await bad.text();
			expect(html).toContain('role="alert"');
			expect(html).toContain('<form method="get" action="/admin"');
		}
	});

	it("refuses a wrong bearer token with 401", async () => {
		const response = await request("/admin", { headers: { authorization: "Bearer not-the-token" } });
		expect(response.status).toBe(401);
		expect(response.headers.get("www-authenticate")).toContain("Bearer");
	});
});

describe("signing in and out", () => {
	it("sets a signed, HttpOnly, Secure, SameSite=Strict session cookie for /admin that opens the dashboard", async () => {
		const response = await login(ADMIN);
		expect(response.status).toBe(303);
		expect(response.headers.get("location")).toBe("/admin");
		const setCookie = response.headers.get("set-cookie") ?? "";
		const attributes = setCookie.split(";").map((part) => part.trim());
		// A Hono signed cookie: the value, a dot and its base64 HMAC-SHA-256, URL-encoded.
		expect(attributes[0]?.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
		const value = decodeURIComponent(attributes[0]?.slice(SESSION_COOKIE.length + 1) ?? "");
		expect(value).toMatch(/^v2\.\d+\.[\w-]{16}\.[A-Za-z0-9+/]{43}=$/);
		expect(attributes).toEqual(
			expect.arrayContaining(["HttpOnly", "Secure", "SameSite=Strict", "Path=/admin", `Max-Age=${SESSION_SECONDS}`]),
		);
		expect(setCookie).not.toContain(ADMIN);
		const expires = Number(attributes[0]?.split(".")[1]);
		expect(Math.abs(expires - (Date.now() / 1000 + 8 * 3600))).toBeLessThan(60);

		const dashboard = await request("/admin", { headers: { cookie: cookieOf(response) } });
		expect(dashboard.status).toBe(200);
		const html = await dashboard.text();
		expect(html).toContain("<h1>Opt-outs and unsubscribes</h1>");
		expect(html).toContain('<form method="post" action="/admin/logout">');
		// Signed in already: the sign-in page sends you on.
		const again = await request("/admin/login", { headers: { cookie: cookieOf(response) } });
		expect(again.status).toBe(302);
		expect(again.headers.get("location")).toBe("/admin");
	});

	it("goes back to the page asked for, only ever within /admin", async () => {
		const next = async (value: string) => (await login(ADMIN, uniqueIpv6(), { next: value })).headers.get("location");
		expect(await next("/admin?businessUnit=de&from=2026-11-01")).toBe("/admin?businessUnit=de&from=2026-11-01");
		for (const value of ["https://evil.example/admin", "//evil.example/admin", "/administrator", "/admin/logout"]) {
			expect(await next(value), value).toBe("/admin");
		}
	});

	it("answers a wrong token with 401 and, after the limit, 429 even for the right one", async () => {
		const ip = uniqueIp();
		for (let attempt = 1; attempt <= LOGIN_LIMIT.limit; attempt++) {
			const response = await login(`wrong-${attempt}`, ip);
			expect(response.status).toBe(401);
			expect(response.headers.get("set-cookie")).toBeNull();
			expect(await response.text()).toContain("That is not the admin token.");
		}
		const limited = await login(ADMIN, ip);
		expect(limited.status).toBe(429);
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(limited.headers.get("set-cookie")).toBeNull();
		expect(await limited.text()).toContain("Too many sign-in attempts");
		// Another network is not affected.
		expect((await login(ADMIN, uniqueIp())).status).toBe(303);
	});

	it("refuses tampered, expired, foreign and bare-token cookies", async () => {
		const valid = cookieOf(await login(ADMIN)).slice(SESSION_COOKIE.length + 1);
		const signed = decodeURIComponent(valid);
		// A character inside the signature, changed (the last one before the padding also carries
		// padding bits a lenient decoder ignores: changing it may leave the bytes as they are).
		const at = signed.length - 10;
		const tampered = encodeURIComponent(
			`${signed.slice(0, at)}${signed[at] === "A" ? "B" : "A"}${signed.slice(at + 1)}`,
		);
		const [version, exp, ...rest] = signed.split(".");
		const longer = encodeURIComponent([version, String(Number(exp) + 3600), ...rest].join("."));
		const unsigned = encodeURIComponent(signed.slice(0, signed.lastIndexOf(".")));
		const expired = await sessionCookieValue(ADMIN, Date.now() - SESSION_SECONDS * 1000 - 1000);
		const tooLong = await sessionCookieValue(ADMIN, Date.now() + 3600 * 1000);
		const otherKey = await sessionCookieValue("another-deployments-token");
		// The hand-made format before Hono's signed cookies: signed in again after the upgrade.
		const previousFormat = `v1.${Math.floor(Date.now() / 1000) + 3600}.${"a".repeat(16)}.${"b".repeat(43)}`;
		for (const value of [
			tampered,
			longer,
			unsigned,
			expired,
			tooLong,
			otherKey,
			previousFormat,
			ADMIN,
			"",
			"v2.9999999999.x.y",
		]) {
			const response = await request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${value}` } });
			expect(response.status, value).toBe(302);
			expect(response.headers.get("location")).toBe("/admin/login");
		}
		expect((await request("/admin", { headers: { cookie: `${SESSION_COOKIE}=${valid}` } })).status).toBe(200);
	});

	it("signs out by clearing the cookie", async () => {
		const response = await request("/admin/logout", { method: "POST", headers: { origin: BASE } });
		expect(response.status).toBe(303);
		expect(response.headers.get("location")).toBe("/admin/login?signedOut");
		const setCookie = response.headers.get("set-cookie") ?? "";
		expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=;`));
		expect(setCookie).toContain("Max-Age=0");
		expect(setCookie).toContain("Path=/admin");
		expect(await (await request("/admin/login?signedOut")).text()).toContain("You are signed out.");
	});

	it("refuses a sign-in or sign-out posted from another site, or from nowhere it can tell", async () => {
		const foreign: Array<Record<string, string>> = [
			{ origin: "https://evil.example", "sec-fetch-site": "" },
			{ origin: "null" },
			{ "sec-fetch-site": "cross-site", origin: BASE },
			{ "sec-fetch-site": "same-site", origin: BASE },
			{ "sec-fetch-site": "same-origin", origin: "https://evil.example" },
		];
		for (const headers of foreign) {
			const response = await login(ADMIN, uniqueIpv6(), {}, headers);
			expect(response.status, JSON.stringify(headers)).toBe(403);
			expect(response.headers.get("set-cookie")).toBeNull();
		}
		// Neither header: not a browser's own form.
		const bare = await request("/admin/login", {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": uniqueIpv6() },
			body: new URLSearchParams({ token: ADMIN }).toString(),
		});
		expect(bare.status).toBe(403);
		expect((await login(ADMIN, uniqueIpv6(), {}, { origin: BASE, "sec-fetch-site": "same-origin" })).status).toBe(303);

		// Logging someone out from another site is refused too: the session cookie stays.
		const foreignLogouts: Array<Record<string, string>> = [
			{ origin: "https://evil.example" },
			{ "sec-fetch-site": "cross-site" },
			{},
		];
		for (const headers of foreignLogouts) {
			const response = await request("/admin/logout", { method: "POST", headers });
			expect(response.status, JSON.stringify(headers)).toBe(403);
			expect(response.headers.get("set-cookie")).toBeNull();
		}
	});

	it("is switched off without ADMIN_TOKEN", async () => {
		const app = createApp();
		const bare = { ...env, ADMIN_TOKEN: "" };
		const fetch = (path: string, init?: RequestInit) => app.fetch(new Request(`${BASE}${path}`, init), bare);
		expect((await fetch("/admin/login")).status).toBe(503);
		expect((await fetch("/admin")).status).toBe(302);
		const post = await fetch("/admin/login", {
			method: "POST",
			headers: { "content-type": "application/x-www-form-urlencoded", origin: BASE },
			body: "token=",
		});
		expect(post.status).toBe(503);
		expect((await fetch("/admin", { headers: { authorization: "Bearer " } })).status).toBe(401);
	});
});
