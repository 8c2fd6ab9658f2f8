/**
 * What every link page (/u, /p, /c) shares: its headers, language, error pages, form reading,
 * and the one write path for what the person did. GET and HEAD never change anything: mail
 * scanners fetch every link. No API key: the signed token is the authorization, and its scope
 * (topic, channel or everything) bounds what a page may change.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { IncomingEvent, TopicDefinition } from "../../consent/types";
import type { EventContext } from "../../contacts/contact-actor";
import { type LinkFailure, type LinkTarget, linkTopics, linkWriteTarget } from "../../contacts/link-target";
import { linkBaseFor, recordEvents, requestContext } from "../../contacts/record-events";
import { getConfig } from "../../env";
import { toApiError } from "../../http/errors";
import type { AppEnv } from "../../http/router";
import { type Brand, brandFor } from "./branding";
import { contentSecurityPolicy } from "./csp";
import { type ErrorMessageKey, renderErrorPage } from "./error-page";
import { localeOf, pickLocale, translator } from "./i18n";
import { type PageShell, withLanguage } from "./layout";
import { maskedAddressOf } from "./mask";

export type PageContext = Context<AppEnv>;

/**
 * Personal pages: never cached, never indexed. The global middleware adds the CSP; a page with a
 * logo sends its own, the same with the logo's origin (`brandHeaders`).
 */
export const PAGE_HEADERS = { "cache-control": "no-store", "x-robots-tag": "noindex" };

/** The name pages show for the sender when BRANDING names none: the service's host. */
function hostOf(c: PageContext): string {
	const base = getConfig(c.env).publicBaseUrl;
	try {
		return new URL(base ?? c.req.url).host;
	} catch {
		return new URL(c.req.url).host;
	}
}

export interface ShellOptions {
	businessUnit: string | null;
	/** The masked address the page is for. */
	address?: string | null;
	/** Whether the language switch links to this page: not for an answer only a POST can show again. */
	languageSwitch?: boolean;
	/** A page whose form's POST is checked to come from our own page (`fromOwnPage`). */
	referrerPolicy?: "same-origin";
}

/**
 * What frames the page: its language (the switch's `?lang=`, the business unit's, Accept-Language),
 * the business unit's branding, the address, and the switch's links to the page itself.
 */
export function pageShell(c: PageContext, options: ShellOptions): PageShell {
	const config = getConfig(c.env);
	const chosen = localeOf(c.req.query("lang"));
	const locale = pickLocale(options.businessUnit, c.req.header("accept-language"), config.businessUnitLocales, chosen);
	return {
		locale,
		t: translator(locale),
		brand: brandFor(config.branding, options.businessUnit, hostOf(c)),
		address: options.address ?? null,
		switchPath: options.languageSwitch === false ? null : new URL(c.req.url).pathname,
		link: (path) => withLanguage(path, chosen),
		...(options.referrerPolicy ? { referrerPolicy: options.referrerPolicy } : {}),
	};
}

/** The frame of a page reached by a link: its business unit and the masked address it is for. */
export const linkShell = (c: PageContext, target: LinkTarget): PageShell =>
	pageShell(c, { businessUnit: target.businessUnit, address: maskedAddressOf(target) });

/** The CSP with the logo's origin for a page that shows one; nothing otherwise (the global policy holds). */
const brandHeaders = (brand: Brand): Record<string, string> =>
	brand.logoOrigin ? { "content-security-policy": contentSecurityPolicy(brand.logoOrigin) } : {};

export const page = (c: PageContext, shell: PageShell, html: string, status: ContentfulStatusCode = 200) =>
	c.html(html, status, {
		...PAGE_HEADERS,
		...brandHeaders(shell.brand),
		...(shell.referrerPolicy ? { "referrer-policy": shell.referrerPolicy } : {}),
	});

export function errorPage(
	c: PageContext,
	status: ContentfulStatusCode,
	message: ErrorMessageKey,
	businessUnit: string | null,
) {
	const shell = pageShell(c, { businessUnit });
	return page(c, shell, renderErrorPage(shell, message), status);
}

/** What the error page says for each way a link can fail (src/contacts/link-target.ts). */
const FAILURE_MESSAGES: Record<LinkFailure["status"], ErrorMessageKey> = {
	400: "error.invalid",
	404: "error.notFound",
	410: "error.expired",
	500: "error.generic",
};

export const failurePage = (c: PageContext, failure: LinkFailure) =>
	errorPage(c, failure.status, FAILURE_MESSAGES[failure.status], failure.businessUnit);

/** Form fields, repeated names kept. Form-encoded or multipart; anything else is read as form-encoded text. */
export type Form = Map<string, string[]>;

export async function readForm(c: PageContext): Promise<Form | null> {
	const form: Form = new Map();
	const add = (name: string, value: unknown) => {
		if (typeof value === "string") form.set(name, [...(form.get(name) ?? []), value]);
	};
	const type = (c.req.header("content-type") ?? "").toLowerCase();
	try {
		if (type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")) {
			for (const [name, value] of await c.req.raw.formData()) add(name, value);
		} else {
			// RFC 8058 names the two form encodings; a client that sends the bare body without one still means it.
			for (const [name, value] of new URLSearchParams((await c.req.text()).trim())) add(name, value);
		}
	} catch {
		return null;
	}
	return form;
}

export const first = (form: Form, name: string): string | null => form.get(name)?.[0] ?? null;

/** Applies events through the one write path; `topics` defaults to the link's own topic. */
export function record(
	c: PageContext,
	target: LinkTarget,
	events: IncomingEvent[],
	source: EventContext["source"],
	topics?: Map<string, TopicDefinition>,
) {
	return recordEvents(
		c.env,
		linkWriteTarget(c.env, target),
		events,
		requestContext(c.req.raw, source, target.claims.campaign ?? null),
		linkBaseFor(c.env, c.req.raw),
		topics ?? linkTopics(target),
	);
}

/** A router for link pages: unexpected failures (a D1 outage) get a friendly page too, never a stack trace. */
export function pageRouter() {
	const router = new Hono<AppEnv>();
	router.onError((error, c) => {
		const known = toApiError(error);
		if (known && known.status < 500) return errorPage(c, known.status, "error.invalid", null);
		console.error("link page failed", c.req.method, new URL(c.req.url).pathname.slice(0, 3), error);
		return errorPage(c, 500, "error.generic", null);
	});
	return router;
}
