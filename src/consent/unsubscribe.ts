/**
 * What unsubscribing means, wherever a person or their mailbox asks for it: a link's one-click,
 * the unsubscribe page and its undo, a provider's unsubscribe and resubscribe.
 */
import { effectiveTopicStatus } from "./decision";
import { CHANNELS, type Channel, type ConsentState, type IncomingEvent } from "./types";

/** What an unsubscribe reaches: a topic, a channel, or (neither) every channel. */
export interface UnsubscribeScope {
	topic: string | null;
	channel: Channel | null;
}

/** A topic scope unsubscribes that topic, a channel scope opts out that channel, else every channel. */
export function unsubscribeEvents(scope: UnsubscribeScope, properties: Record<string, unknown> = {}): IncomingEvent[] {
	if (scope.topic) return [{ event: "Unsubscribe", channel: scope.channel, topic: scope.topic, properties }];
	return [{ event: "Opt Out", channel: scope.channel, properties }];
}

/** Whether the person gets nothing of the scope any more. */
export function isUnsubscribed(scope: UnsubscribeScope, state: ConsentState): boolean {
	if (scope.topic) return effectiveTopicStatus(state, scope.topic) === "unsubscribed";
	return channelsOf(scope).every((channel) => state.channels[channel]?.optedOut === true);
}

const channelsOf = (scope: UnsubscribeScope): readonly Channel[] => (scope.channel ? [scope.channel] : CHANNELS);

/** The channels an unsubscribe of the scope opted out, from the states before and after it. */
export function channelsOptedOutBy(scope: UnsubscribeScope, before: ConsentState, after: ConsentState): Channel[] {
	if (scope.topic) return [];
	return channelsOf(scope).filter(
		(channel) => !before.channels[channel]?.optedOut && after.channels[channel]?.optedOut,
	);
}

/**
 * Undo restores what the person had: a topic scope makes the topic subscribed again at once
 * ("Confirm Subscription": no second double-opt-in round, since the person acts through a link sent
 * to them or their mailbox, and the topic's channel is opened too, since they asked to get this
 * topic); a channel or everything scope opts in again only the channels `reopen` names (those the
 * unsubscribe opted out), or the whole scope when it names none.
 */
export function undoEvents(scope: UnsubscribeScope, reopen: readonly string[] = []): IncomingEvent[] {
	if (scope.topic) return [{ event: "Confirm Subscription", channel: scope.channel, topic: scope.topic }];
	const asked = channelsOf(scope).filter((channel) => reopen.includes(channel));
	const channels = asked.length > 0 ? asked : channelsOf(scope);
	if (!scope.channel && channels.length === CHANNELS.length) return [{ event: "Opt In" }];
	return channels.map((channel) => ({ event: "Opt In", channel }));
}
