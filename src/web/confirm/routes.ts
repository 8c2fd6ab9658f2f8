/**
 * /c/{token}: the double-opt-in confirmation. The page shows a button; only its POST confirms:
 * scanners that run a real browser would run an auto-submit script too.
 */
import { effectiveTopicStatus } from "../../consent/decision";
import { emptyConsentState, type IncomingEvent, type TopicDefinition } from "../../consent/types";
import { type LinkTarget, resolveLink } from "../../contacts/link-target";
import { loadTopics } from "../../db/topics";
import { getConfig } from "../../env";
import { failurePage, linkShell, type PageContext, page, pageRouter, record } from "../common/page";
import { renderConfirmedPage, renderConfirmPage } from "./view";

export const confirmRouter = pageRouter();

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

confirmRouter.get("/c/:token", async (c) => {
	const token = c.req.param("token");
	const resolved = await resolveLink(c.env, token, "confirm");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const shell = linkShell(c, target);
	const confirmation = await confirmationFor(c, target);
	const topicNames = confirmation.topics.map((topic) => topic.name);
	return page(c, shell, renderConfirmPage({ shell, token, state: confirmation.state, topicNames }));
});

confirmRouter.post("/c/:token", async (c) => {
	const token = c.req.param("token");
	const resolved = await resolveLink(c.env, token, "confirm");
	if (!resolved.ok) return failurePage(c, resolved.failure);
	const { target } = resolved;
	const shell = linkShell(c, target);
	const confirmation = await confirmationFor(c, target);
	if (confirmation.state === "nothing") {
		return page(c, shell, renderConfirmPage({ shell, token, state: "nothing", topicNames: [] }));
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
		shell,
		renderConfirmedPage({
			shell,
			topicNames: confirmation.topics.map((topic) => topic.name),
			preferencesUrl: `/p/${manageToken}`,
		}),
	);
});

// Unexpected failures (a D1 outage) get a friendly page too, never a stack trace.
