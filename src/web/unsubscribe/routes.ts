/**
 * /u/{token}: the unsubscribe page, and RFC 8058 one-click. A topic link unsubscribes that topic,
 * a channel link the channel, a link with neither every channel.
 */
import { emptyConsentState, UNSUBSCRIBE_REASONS } from "../../consent/types";
import { channelsOptedOutBy, isUnsubscribed, undoEvents, unsubscribeEvents } from "../../consent/unsubscribe";
import { type LinkTarget, resolveLink, unsubscribeScopeOf } from "../../contacts/link-target";
import {
	errorPage,
	failurePage,
	first,
	linkShell,
	page,
	pageRouter,
	pageShell,
	readForm,
	record,
} from "../common/page";
import {
	MAX_COMMENT_LENGTH,
	type UnsubscribeScope as PageScope,
	renderOneClickPage,
	renderResubscribedPage,
	renderUnsubscribedPage,
	renderUnsubscribePage,
} from "./view";

export const unsubscribeRouter = pageRouter();

function scopeOf(target: LinkTarget): PageScope {
	if (target.topic) return { topic: target.topic.name };
	if (target.channel) return { channel: target.channel };
	return { everything: true };
}

unsubscribeRouter.get("/u/:token", async (c) => {
	const token = c.req.param("token");
	const resolved = await resolveLink(c.env, token, "manage");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const shell = linkShell(c, target);
	const already = target.contact ? isUnsubscribed(unsubscribeScopeOf(target), target.contact.consent) : false;
	return page(c, shell, renderUnsubscribePage({ shell, token, scope: scopeOf(target), already }));
});

unsubscribeRouter.post("/u/:token", async (c) => {
	const token = c.req.param("token");
	const form = await readForm(c);
	const resolved = await resolveLink(c.env, token, "manage");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	if (!form) return errorPage(c, 400, "error.invalid", target.businessUnit);

	// RFC 8058 one-click from a mailbox provider: apply at once, 200 with a short body, never a redirect.
	if (form.has("List-Unsubscribe")) {
		await record(c, target, unsubscribeEvents(unsubscribeScopeOf(target)), "one_click");
		// Read by a mailbox provider, not a person: no address to mask, no switch back to a POST answer.
		const shell = pageShell(c, { businessUnit: target.businessUnit, languageSwitch: false });
		return page(c, shell, renderOneClickPage({ shell, scope: scopeOf(target) }));
	}

	const shell = linkShell(c, target);
	if (first(form, "action") === "undo") {
		await record(c, target, undoEvents(unsubscribeScopeOf(target), form.get("channel") ?? []), "unsubscribe_page");
		return page(c, shell, renderResubscribedPage({ shell, token }));
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
	return page(c, shell, renderUnsubscribedPage({ shell, token, scope: scopeOf(target), changed, undoChannels }));
});
