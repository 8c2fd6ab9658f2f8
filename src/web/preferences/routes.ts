/** /p/{token}: the preference center. */
import {
	type ChannelChoices,
	type PreferenceConflict,
	preferenceChoices,
	preferenceEvents,
} from "../../consent/preferences";
import { topicAvailableIn } from "../../consent/topics";
import {
	CHANNELS,
	type Channel,
	emptyConsentState,
	type IncomingEvent,
	type TopicDefinition,
} from "../../consent/types";
import { type LinkTarget, resolveLink } from "../../contacts/link-target";
import type { Contact } from "../../db/contacts";
import { loadTopics } from "../../db/topics";
import { errorPage, failurePage, first, linkShell, page, pageRouter, readForm, record } from "../common/page";
import { renderPreferencesPage } from "./view";

export const preferencesRouter = pageRouter();

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

preferencesRouter.get("/p/:token", async (c) => {
	const token = c.req.param("token");
	const [resolved, topics] = await Promise.all([resolveLink(c.env, token, "manage"), loadTopics(c.env)]);
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const shell = linkShell(c, target);
	const choices = choicesFor(target, target.contact, topics);
	return page(
		c,
		shell,
		renderPreferencesPage({ shell, token, choices, scope: target.channel, notice: null, conflicts: [] }),
	);
});

preferencesRouter.post("/p/:token", async (c) => {
	const token = c.req.param("token");
	const form = await readForm(c);
	const [resolved, topics] = await Promise.all([resolveLink(c.env, token, "manage"), loadTopics(c.env)]);
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	if (!form) return errorPage(c, 400, "error.invalid", target.businessUnit);
	const shell = linkShell(c, target);
	const { t } = shell;

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
	return page(c, shell, renderPreferencesPage({ shell, token, choices, scope: target.channel, notice, conflicts }));
});
