import { type Browser, type BrowserContext, chromium, type Locator, type Page, type Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, onTestFinished } from "vitest";
import type { DomWindow } from "./dom";
import { node, root } from "./node";

/**
 * What the browser tests share: the service started by global-setup.ts, a Chromium launched by
 * playwright-core (Debian's, never a downloaded one), the admin API for seeding and checking, a
 * watcher for console errors and CSP violations, and screenshots at phone and desktop width.
 */

const setup = inject("e2e");

/** Why the browser tests are skipped (no Chromium outside CI), or null. */
export const skipReason = "skip" in setup ? setup.skip : null;

/** describe() that skips when there is no Chromium (global-setup.ts fails instead when CI is set). */
export const describeE2e = describe.skipIf(skipReason !== null);

function server() {
	if ("skip" in setup) throw new Error(setup.skip);
	return setup;
}

export const baseUrl = () => server().baseUrl;
/** The second service of global-setup.ts: TURNSTILE_SECRET_KEY set, siteverify out of reach. */
export const turnstileBaseUrl = () => server().turnstileBaseUrl;
export const adminToken = () => server().adminToken;
/** The LINK_SIGNING_KEYS the service runs with, to sign links as a sender would. */
export const linkSigningKeys = () => server().linkSigningKeys;

// ---------------------------------------------------------------------------------------------
// Browser

/** Headless, no sandbox (containers), and nothing that talks to the network on its own. */
const CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-background-networking",
	"--disable-component-update",
	"--no-first-run",
	"--disable-default-apps",
	"--disable-sync",
	"--metrics-recording-only",
];

export function launchBrowser(): Promise<Browser> {
	return chromium.launch({ executablePath: server().chromiumPath, headless: true, args: CHROMIUM_ARGS });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/** One Chromium for the describe block: launched before its tests, closed after them. */
export function useBrowser(): () => Browser {
	let browser: Browser | undefined;
	beforeAll(async () => {
		browser = await launchBrowser();
	});
	afterAll(async () => {
		await browser?.close();
	});
	return () => {
		if (!browser) throw new Error("the browser did not start");
		return browser;
	};
}

/**
 * A fresh browser profile (no cookies; the locale sets Accept-Language) with one page, watched
 * for console errors and CSP violations; closed when the test ends.
 */
export async function openPage(browser: Browser, locale = "en-US") {
	const context = await browser.newContext({ viewport: DESKTOP, locale });
	onTestFinished(() => context.close());
	await reportCspViolations(context);
	const page = await context.newPage();
	return { context, page, watcher: watch(page) };
}

/** Runs an action that navigates (a click on a submit button, Enter in a form) and returns the new document's response. */
/**
 * Answers `url` (on a service's origin) with a sign-up form as a sender's own page would show it:
 * the hidden `fields`, an email box holding `email`, and a "Sign up" button that POSTs to /subscribe.
 * `type: "text"` lets the browser send an address that is not one.
 */
export function routeSignupForm(
	page: Page,
	url: string,
	form: { locale: string; fields: Record<string, string>; email: string; type?: "email" | "text" },
) {
	const hidden = Object.entries(form.fields)
		.map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
		.join("");
	return page.route(url, (route) =>
		route.fulfill({
			contentType: "text/html; charset=utf-8",
			body: `<!doctype html><html lang="${form.locale}"><title>Sign-up</title><form method="post" action="/subscribe">${hidden}
				<label>Email <input type="${form.type ?? "email"}" name="email" value="${form.email}"></label>
				<button>Sign up</button></form></html>`,
		}),
	);
}

export async function navigation(page: Page, action: () => Promise<unknown>): Promise<Response | null> {
	const [response] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), action()]);
	return response;
}

/**
 * Collects everything that would mean a broken page: console errors and warnings (Chromium logs
 * CSP violations there), uncaught page errors, failed requests, subresources that answered >= 400,
 * and `securitypolicyviolation` events (a listener injected by the test runner, which the CSP does
 * not govern). A document may answer with an error status on purpose: `expectStatus` allows it.
 */
export function watch(page: Page) {
	const problems: string[] = [];
	const allowedDocuments = new Set<string>();
	page.on("console", (message) => {
		const type = message.type();
		if (type !== "error" && type !== "warning") return;
		const text = message.text();
		const url = message.location().url;
		if (text.startsWith("Failed to load resource") && allowedDocuments.has(url)) return;
		problems.push(`console ${type}: ${text}${url ? ` (${url})` : ""}`);
	});
	page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
	page.on("requestfailed", (request) => {
		problems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ""}`);
	});
	page.on("response", (response) => {
		const request = response.request();
		if (response.status() < 400) return;
		if (request.isNavigationRequest() && allowedDocuments.has(response.url())) return;
		problems.push(`HTTP ${response.status()}: ${request.method()} ${response.url()}`);
	});
	return {
		problems,
		/** The document at this URL is expected to answer with an error status (the error page). */
		expectStatus(url: string) {
			allowedDocuments.add(url);
		},
	};
}

/** Reports CSP violations to the console, where watch() sees them. Call before the first navigation. */
async function reportCspViolations(context: BrowserContext) {
	await context.addInitScript(() => {
		const { document } = globalThis as unknown as DomWindow;
		document.addEventListener("securitypolicyviolation", (event) => {
			console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
		});
	});
}

/** Checks what every public page must be: its status, the strict CSP, the stylesheet applied. */
export async function expectPage(page: Page, response: Response | null, status = 200) {
	expect(response, "navigation response").not.toBeNull();
	expect(response?.status()).toBe(status);
	const csp = (await response?.allHeaders())?.["content-security-policy"] ?? "";
	expect(csp).toContain("default-src 'none'");
	expect(csp).not.toContain("unsafe-inline");
	// The one stylesheet loaded under the CSP, with its rules (an inline style would have been refused).
	const sheets = await page.evaluate(() =>
		[...(globalThis as unknown as DomWindow).document.styleSheets].map((sheet) => ({
			path: sheet.href ? new URL(sheet.href).pathname : null,
			rules: sheet.cssRules.length,
		})),
	);
	// A business unit's accent colour comes as a second stylesheet of ours.
	expect(sheets.length).toBeGreaterThanOrEqual(1);
	expect(sheets.length).toBeLessThanOrEqual(2);
	expect(sheets[0]?.path).toBe("/assets/app.css");
	expect(sheets[0]?.rules).toBeGreaterThan(10);
	if (sheets[1]) expect(sheets[1].path).toMatch(/^\/assets\/theme\/[0-9a-f]{6}\.css$/);
	expect(await page.locator("h1").count()).toBe(1);
}

// ---------------------------------------------------------------------------------------------
// axe-core

/** WCAG 2.1 A and AA. */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

interface AxeViolation {
	id: string;
	impact: string | null;
	help: string;
	nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

interface AxeWindow {
	axe: {
		run(
			context: unknown,
			options: {
				runOnly: { type: "tag"; values: string[] };
				rules: Record<string, { enabled: boolean }>;
				resultTypes: string[];
			},
		): Promise<{ violations: AxeViolation[] }>;
	};
	document: unknown;
}

let axeSource: string | undefined;

/**
 * Runs axe-core (WCAG 2.1 AA rules) on the page as it is and expects no violation. The pages'
 * CSP forbids inline scripts, so `page.addScriptTag({content})` would be refused: axe's source is
 * evaluated through the DevTools protocol instead (`page.evaluate`), which the page's CSP does not
 * govern. No `bypassCSP`: the page is checked under its real policy, and the watcher would still
 * report any violation.
 */
export async function expectNoAxeViolations(page: Page, what: string, options: { skipRules?: string[] } = {}) {
	expect(await axeViolations(page, options), `axe-core on ${what}`).toEqual([]);
}

/** axe-core's WCAG 2.1 AA violations on the page as it is: each rule with the elements that break it. */
export async function axeViolations(
	page: Page,
	{ skipRules = [] }: { skipRules?: string[] } = {},
): Promise<Array<{ rule: string; nodes: string[] }>> {
	axeSource ??= node.readFileSync(node.join(root, "node_modules", "axe-core", "axe.min.js"), "utf8");
	await page.evaluate(axeSource);
	return page.evaluate(
		async ({ tags, skip }) => {
			const { axe, document } = globalThis as unknown as AxeWindow;
			const result = await axe.run(document, {
				runOnly: { type: "tag", values: tags },
				rules: Object.fromEntries(skip.map((rule) => [rule, { enabled: false }])),
				resultTypes: ["violations"],
			});
			return result.violations.map((violation) => ({
				rule: `${violation.id} (${violation.impact}): ${violation.help}`,
				nodes: violation.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary ?? ""}`),
			}));
		},
		{ tags: WCAG_TAGS, skip: skipRules },
	);
}

// ---------------------------------------------------------------------------------------------
// Screenshots and layout

const SCREENSHOTS = node.join(root, "test", "e2e", "screenshots");

/** The page has no horizontal scroll at its current width. */
export async function expectNoHorizontalScroll(page: Page) {
	const { scrollWidth, clientWidth } = await page.evaluate(() => {
		const { documentElement } = (globalThis as unknown as DomWindow).document;
		return { scrollWidth: documentElement.scrollWidth, clientWidth: documentElement.clientWidth };
	});
	expect(scrollWidth, `horizontal scroll at ${clientWidth} px`).toBeLessThanOrEqual(clientWidth);
}

/**
 * Full-page screenshots of the current state at phone and desktop width
 * (test/e2e/screenshots/NAME-phone.png, NAME-desktop.png), checking at each that nothing scrolls
 * sideways. Resizing re-lays out the same document: no reload, no second POST.
 */
export async function capture(page: Page, name: string) {
	for (const [label, viewport] of [
		["phone", PHONE],
		["desktop", DESKTOP],
	] as const) {
		await page.setViewportSize(viewport);
		await expectNoHorizontalScroll(page);
		await page.screenshot({ path: node.join(SCREENSHOTS, `${name}-${label}.png`), fullPage: true });
	}
}

// ---------------------------------------------------------------------------------------------
// The admin API, for seeding and for checking what the pages did

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
	const response = await fetch(`${baseUrl()}${path}`, {
		method,
		headers: {
			authorization: `Bearer ${server().adminToken}`,
			...(body === undefined ? {} : { "content-type": "application/json" }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
	return JSON.parse(text) as T;
}

export const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

export interface TopicSeed {
	name: string;
	description?: string;
	channel?: "email" | "sms" | "whatsapp" | "push";
	doubleOptIn?: boolean;
}

/** A topic limited to one business unit, so that each test's preference center shows only its own. */
export async function putTopic(key: string, businessUnit: string, topic: TopicSeed) {
	await api("PUT", `/v1/topics/${key}`, { channel: "email", doubleOptIn: false, ...topic, businessUnit });
}

export interface ContactJson {
	id: string;
	externalId: string | null;
	email: string | null;
	businessUnit: string;
	consent: {
		channels: Record<string, { optedOut: boolean }>;
		topics: Record<string, { status: string; channel: string }>;
	};
}

export interface LedgerEntry {
	event: string;
	channel: string | null;
	topic: string | null;
	changed: boolean;
	properties: Record<string, unknown>;
	source: string;
	reason: string | null;
	feedback: string | null;
	campaign: string | null;
	userAgent: string | null;
}

/** A user (externalId) with an email and optionally a phone in the business unit, then the events. */
export async function seedUser(
	businessUnit: string,
	events: Array<Record<string, unknown>>,
	options: { phone?: string } = {},
) {
	const externalId = unique("e2e-user");
	const email = `${externalId}@example.de`;
	await api("PUT", `/v1/users/${externalId}`, {
		email,
		businessUnit,
		...(options.phone ? { phone: options.phone } : {}),
	});
	const result =
		events.length > 0
			? await api<ContactJson & { confirmations: Array<{ topic: string; confirmUrl: string }> }>("POST", "/v1/events", {
					id: externalId,
					events,
				})
			: { confirmations: [] };
	return { externalId, email, confirmations: result.confirmations };
}

export const getUser = (externalId: string) => api<ContactJson>("GET", `/v1/users/${encodeURIComponent(externalId)}`);

export async function historyOf(externalId: string): Promise<LedgerEntry[]> {
	const page = await api<{ events: LedgerEntry[] }>(
		"GET",
		`/v1/users/${encodeURIComponent(externalId)}/history?limit=1000`,
	);
	return page.events;
}

export interface Links {
	unsubscribeUrl: string;
	preferencesUrl: string;
}

export function linksFor(
	externalId: string,
	scope: { channel?: string; topic?: string; campaign?: string } = {},
): Promise<Links> {
	return api<Links>("POST", "/v1/links", { recipient: { externalId }, ...scope });
}

/** The URL with one character of the token's signature changed. */
export function tamper(url: string): string {
	const index = url.length - 5;
	const replacement = url[index] === "A" ? "B" : "A";
	return url.slice(0, index) + replacement + url.slice(index + 1);
}

/** An element's text with whitespace collapsed, as it reads. */
export async function text(locator: Locator): Promise<string> {
	return ((await locator.textContent()) ?? "").replace(/\s+/g, " ").trim();
}

/** The page's one h1. */
export const heading = (page: Page) => text(page.getByRole("heading", { level: 1 }));
