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
import { linkBaseFor, recordEvents, requestContext } from "../../contacts/record-events";
import { type Contact, findOrCreateLead } from "../../db/contacts";
import { getConfig } from "../../env";
import { toApiError } from "../../http/errors";
import type { AppEnv } from "../../http/router";
import { type ErrorMessageKey, renderErrorPage } from "./error-page";
import { pickLocale, translator } from "./i18n";
import type { LinkFailure, LinkTarget } from "./link-target";

export type PageContext = Context<AppEnv>;

/** Personal pages: never cached, never indexed. The global middleware adds the CSP. */
export const PAGE_HEADERS = { "cache-control": "no-store", "x-robots-tag": "noindex" };

export function localize(c: PageContext, businessUnit: string | null) {
	const locale = pickLocale(businessUnit, c.req.header("accept-language"), getConfig(c.env).businessUnitLocales);
	return { locale, t: translator(locale) };
}

export const page = (c: PageContext, html: string, status: ContentfulStatusCode = 200) =>
	c.html(html, status, PAGE_HEADERS);

export function errorPage(
	c: PageContext,
	status: ContentfulStatusCode,
	message: ErrorMessageKey,
	businessUnit: string | null,
) {
	const { locale, t } = localize(c, businessUnit);
	return page(c, renderErrorPage(locale, t, message), status);
}

export const failurePage = (c: PageContext, failure: LinkFailure) =>
	errorPage(c, failure.status, failure.message, failure.businessUnit);

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

/** The contact, or for an email/phone link without one, the lead made now (only ever on a POST). */
function contactOf(c: PageContext, target: LinkTarget): () => Promise<Contact> {
	const { contact, leadSubject } = target;
	if (contact) return async () => contact;
	return () => findOrCreateLead(c.env, leadSubject as NonNullable<typeof leadSubject>);
}

/**
 * Applies events through the one write path. `topics` defaults to the link's own topic only: the
 * unsubscribe paths never load the topic table.
 */
export function record(
	c: PageContext,
	target: LinkTarget,
	events: IncomingEvent[],
	source: EventContext["source"],
	topics?: Map<string, TopicDefinition>,
) {
	return recordEvents(
		c.env,
		{ businessUnit: target.businessUnit, contact: contactOf(c, target) },
		events,
		requestContext(c.req.raw, source, target.claims.campaign ?? null),
		linkBaseFor(c.env, c.req.raw),
		topics ?? new Map(target.topic ? [[target.topic.key, target.topic]] : []),
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
