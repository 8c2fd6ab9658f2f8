import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { effectiveTopicStatus } from "../consent/decision";
import {
	type ChannelChoices,
	type PreferenceConflict,
	preferenceChoices,
	preferenceEvents,
} from "../consent/preferences";
import { topicAvailableIn } from "../consent/topics";
import { CHANNELS, type Channel, emptyConsentState, type TopicDefinition, UNSUBSCRIBE_REASONS } from "../consent/types";
import {
	channelsOptedOutBy,
	isUnsubscribed,
	type UnsubscribeScope,
	undoEvents,
	unsubscribeEvents,
} from "../consent/unsubscribe";
import type { EventContext } from "../contacts/contact-actor";
import { type IncomingEvent, linkBaseFor, recordEvents, requestContext } from "../contacts/record-events";
import { type Contact, findOrCreateLead } from "../db/contacts";
import { loadTopics } from "../db/topics";
import { getConfig } from "../env";
import { toApiError } from "../http/errors";
import type { AppEnv } from "../http/router";
import { renderConfirmedPage, renderConfirmPage } from "../pages/confirm";
import { type ErrorMessageKey, renderErrorPage } from "../pages/error-page";
import { pickLocale, translator } from "../pages/i18n";
import { renderPreferencesPage } from "../pages/preferences";
import {
	MAX_COMMENT_LENGTH,
	type UnsubscribeScope as PageScope,
	renderResubscribedPage,
	renderUnsubscribedPage,
	renderUnsubscribePage,
} from "../pages/unsubscribe";

import { type LinkFailure, type LinkTarget, resolveLink } from "./link-target";

/**
 * The public link pages: /u (unsubscribe, RFC 8058 one-click), /p (preference center),
 * /c (double-opt-in confirmation). GET and HEAD never change anything: mail scanners fetch every
 * link. No API key: the signed token is the authorization, and its scope (topic, channel or
 * everything) bounds what a page may change.
 */
export const pagesRouter = new Hono<AppEnv>();

type PageContext = Context<AppEnv>;

/** Personal pages: never cached, never indexed. The global middleware adds the CSP. */
const PAGE_HEADERS = { "cache-control": "no-store", "x-robots-tag": "noindex" };

function localize(c: PageContext, businessUnit: string | null) {
	const locale = pickLocale(businessUnit, c.req.header("accept-language"), getConfig(c.env).businessUnitLocales);
	return { locale, t: translator(locale) };
}

const page = (c: PageContext, html: string, status: ContentfulStatusCode = 200) => c.html(html, status, PAGE_HEADERS);

function errorPage(
	c: PageContext,
	status: ContentfulStatusCode,
	message: ErrorMessageKey,
	businessUnit: string | null,
) {
	const { locale, t } = localize(c, businessUnit);
	return page(c, renderErrorPage(locale, t, message), status);
}

const failurePage = (c: PageContext, failure: LinkFailure) =>
	errorPage(c, failure.status, failure.message, failure.businessUnit);

/** Form fields, repeated names kept. Form-encoded or multipart; anything else is read as form-encoded text. */
type Form = Map<string, string[]>;

async function readForm(c: PageContext): Promise<Form | null> {
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

const first = (form: Form, name: string): string | null => form.get(name)?.[0] ?? null;

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
function record(
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

// ---------------------------------------------------------------------------------------------
// /u/{token}: unsubscribe

function scopeOf(target: LinkTarget): PageScope {
	if (target.topic) return { topic: target.topic.name };
	if (target.channel) return { channel: target.channel };
	return { everything: true };
}

/** What the link's unsubscribe reaches: its topic, its channel, or every channel. */
const unsubscribeScopeOf = (target: LinkTarget): UnsubscribeScope => ({
	topic: target.topic?.key ?? null,
	channel: target.channel,
});

pagesRouter.get("/u/:token", async (c) => {
	const token = c.req.param("token");
	const resolved = await resolveLink(c.env, token, "manage");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const { locale, t } = localize(c, target.businessUnit);
	const already = target.contact ? isUnsubscribed(unsubscribeScopeOf(target), target.contact.consent) : false;
	return page(c, renderUnsubscribePage({ locale, t, token, scope: scopeOf(target), already }));
});

pagesRouter.post("/u/:token", async (c) => {
	const token = c.req.param("token");
	const form = await readForm(c);
	const resolved = await resolveLink(c.env, token, "manage");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	if (!form) return errorPage(c, 400, "error.invalid", target.businessUnit);

	// RFC 8058 one-click from a mailbox provider: apply at once, 200 with a short body, never a redirect.
	if (form.has("List-Unsubscribe")) {
		await record(c, target, unsubscribeEvents(unsubscribeScopeOf(target)), "one_click");
		const { t } = localize(c, target.businessUnit);
		return c.text(t("unsub.oneClick"), 200, PAGE_HEADERS);
	}

	const { locale, t } = localize(c, target.businessUnit);
	if (first(form, "action") === "undo") {
		await record(c, target, undoEvents(unsubscribeScopeOf(target), form.get("channel") ?? []), "unsubscribe_page");
		return page(c, renderResubscribedPage({ locale, t, token }));
	}

	const properties: Record<string, unknown> = {};
	const reason = first(form, "reason");
	if (reason && (UNSUBSCRIBE_REASONS as readonly string[]).includes(reason)) properties.reason = reason;
	const comment = first(form, "comment")?.trim().slice(0, MAX_COMMENT_LENGTH);
	if (comment) properties.comment = comment;

	const before = target.contact?.consent ?? emptyConsentState();
	const scope = unsubscribeScopeOf(target);
	const result = await record(c, target, unsubscribeEvents(scope, properties), "unsubscribe_page");
	const after = result.contact.consent;
	const undoChannels = channelsOptedOutBy(scope, before, after);
	const changed = target.topic
		? before.topics[target.topic.key]?.status !== after.topics[target.topic.key]?.status
		: undoChannels.length > 0;
	return page(c, renderUnsubscribedPage({ locale, t, token, scope: scopeOf(target), changed, undoChannels }));
});

// ---------------------------------------------------------------------------------------------
// /p/{token}: preference center

function choicesFor(
	target: LinkTarget,
	contact: Contact | null,
	topics: Map<string, TopicDefinition>,
): ChannelChoices[] {
	const available = [...topics.values()].filter(
		(topic) => topicAvailableIn(topic, target.businessUnit) && (!target.channel || topic.channel === target.channel),
	);
	const addresses = contact ?? target.leadSubject;
	const addressChannels: Channel[] = [];
	if (addresses && "email" in addresses && addresses.email) addressChannels.push("email");
	if (addresses && "phone" in addresses && addresses.phone) addressChannels.push("sms");
	return preferenceChoices(contact?.consent ?? emptyConsentState(), available, target.channel, addressChannels);
}

pagesRouter.get("/p/:token", async (c) => {
	const token = c.req.param("token");
	const [resolved, topics] = await Promise.all([resolveLink(c.env, token, "manage"), loadTopics(c.env)]);
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const { locale, t } = localize(c, target.businessUnit);
	const choices = choicesFor(target, target.contact, topics);
	return page(
		c,
		renderPreferencesPage({ locale, t, token, choices, scope: target.channel, notice: null, conflicts: [] }),
	);
});

pagesRouter.post("/p/:token", async (c) => {
	const token = c.req.param("token");
	const form = await readForm(c);
	const [resolved, topics] = await Promise.all([resolveLink(c.env, token, "manage"), loadTopics(c.env)]);
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	if (!form) return errorPage(c, 400, "error.invalid", target.businessUnit);
	const { locale, t } = localize(c, target.businessUnit);

	let events: IncomingEvent[];
	let notice: string | null;
	let conflicts: PreferenceConflict[] = [];
	if (first(form, "action") === "unsubscribe_all") {
		events = [{ event: "Opt Out", channel: target.channel }];
		notice = target.channel
			? t("prefs.unsubscribedAllChannel", { messages: t(`channelMessages.${target.channel}`) })
			: t("prefs.unsubscribedAll");
	} else {
		// Only what the form showed: a topic or channel added since then is not touched.
		const shownChannels = new Set(form.get("shown_channel") ?? []);
		const shownTopics = new Set(form.get("shown_topic") ?? []);
		const shown = choicesFor(target, target.contact, topics)
			.filter((group) => shownChannels.has(group.channel))
			.map((group) => ({ ...group, topics: group.topics.filter((topic) => shownTopics.has(topic.key)) }));
		const stopped = new Set(
			(form.get("stop") ?? []).filter((v): v is Channel => (CHANNELS as readonly string[]).includes(v)),
		);
		({ events, conflicts } = preferenceEvents(target.contact?.consent ?? emptyConsentState(), shown, topics, {
			topics: new Set(form.get("topic") ?? []),
			stopped,
		}));
		// Never "saved" for a choice that was not applied: conflicts get their own message.
		notice = conflicts.length === 0 ? t("prefs.saved") : events.length > 0 ? t("prefs.savedOthers") : null;
	}

	let contact = target.contact;
	// An unchanged form writes nothing (and makes no lead).
	if (events.length > 0) contact = (await record(c, target, events, "preference_center", topics)).contact;
	const choices = choicesFor(target, contact, topics);
	return page(c, renderPreferencesPage({ locale, t, token, choices, scope: target.channel, notice, conflicts }));
});

// ---------------------------------------------------------------------------------------------
// /c/{token}: double-opt-in confirmation

interface Confirmation {
	state: "ready" | "already" | "nothing";
	topics: TopicDefinition[];
	/** Only loaded for links without a topic (they confirm every pending topic of their channel). */
	topicMap: Map<string, TopicDefinition> | null;
}

async function confirmationFor(c: PageContext, target: LinkTarget): Promise<Confirmation> {
	const state = target.contact?.consent ?? emptyConsentState();
	if (target.topic) {
		// Subscribed with the channel open: nothing left to confirm. Subscribed behind an opt-out: confirming opens it.
		const already = effectiveTopicStatus(state, target.topic.key) === "subscribed";
		return { state: already ? "already" : "ready", topics: [target.topic], topicMap: null };
	}
	if (!target.contact) return { state: "nothing", topics: [], topicMap: null };
	const topicMap = await loadTopics(c.env);
	const pending = Object.entries(state.topics)
		.filter(([, topic]) => topic.status === "pending" && (!target.channel || topic.channel === target.channel))
		.map(([key]) => topicMap.get(key))
		.filter((topic): topic is TopicDefinition => topic !== undefined);
	return { state: pending.length > 0 ? "ready" : "nothing", topics: pending, topicMap };
}

pagesRouter.get("/c/:token", async (c) => {
	const token = c.req.param("token");
	const resolved = await resolveLink(c.env, token, "confirm");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const { locale, t } = localize(c, target.businessUnit);
	const confirmation = await confirmationFor(c, target);
	const topicNames = confirmation.topics.map((topic) => topic.name);
	return page(c, renderConfirmPage({ locale, t, token, state: confirmation.state, topicNames }));
});

pagesRouter.post("/c/:token", async (c) => {
	const token = c.req.param("token");
	const resolved = await resolveLink(c.env, token, "confirm");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const { locale, t } = localize(c, target.businessUnit);
	const confirmation = await confirmationFor(c, target);
	if (confirmation.state === "nothing") {
		return page(c, renderConfirmPage({ locale, t, token, state: "nothing", topicNames: [] }));
	}
	// A repeated confirmation is harmless: recorded, changes nothing.
	const event: IncomingEvent = target.topic
		? { event: "Confirm Subscription", topic: target.topic.key }
		: { event: "Confirm Subscription", channel: target.channel };
	const result = await record(c, target, [event], "confirmation_page", confirmation.topicMap ?? undefined);
	const signer = await getConfig(c.env).linkSigner;
	const manageToken = await signer.sign({
		purpose: "manage",
		subject: { contactId: result.contact.id },
		channel: target.channel ?? target.topic?.channel,
		issuedAt: Math.floor(Date.now() / 1000),
	});
	return page(
		c,
		renderConfirmedPage({
			locale,
			t,
			topicNames: confirmation.topics.map((topic) => topic.name),
			preferencesUrl: `/p/${manageToken}`,
		}),
	);
});

// Unexpected failures (a D1 outage) get a friendly page too, never a stack trace.
pagesRouter.onError((error, c) => {
	const known = toApiError(error);
	if (known && known.status < 500) return errorPage(c, known.status, "error.invalid", null);
	console.error("link page failed", c.req.method, new URL(c.req.url).pathname.slice(0, 3), error);
	return errorPage(c, 500, "error.generic", null);
});
