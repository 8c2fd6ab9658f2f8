import { effectiveTopicStatus } from "./decision";
import {
	CHANNELS,
	type Channel,
	type ConsentState,
	type IncomingEvent,
	type TopicDefinition,
	type TopicStatus,
} from "./types";

/** One topic as the preference center shows it. */
export interface TopicChoice {
	key: string;
	name: string;
	description: string | null;
	doubleOptIn: boolean;
	/** The effective status: unsubscribed while the channel is opted out. */
	status: TopicStatus | null;
	/** Whether the person gets this topic now: the checkbox is ticked. */
	receiving: boolean;
}

export interface ChannelChoices {
	channel: Channel;
	optedOut: boolean;
	topics: TopicChoice[];
}

/**
 * Without a channel opt-out, does the person get this topic? Subscribed, or (an opt-out system) no
 * status at all for a topic without double opt-in; pending and unsubscribed do not.
 */
function receivesIgnoringChannel(state: ConsentState, topic: TopicDefinition): boolean {
	const status = state.topics[topic.key]?.status;
	return status === "subscribed" || (status === undefined && !topic.doubleOptIn);
}

/**
 * The preference center's content: per channel, its opt-out and its topics (those of the contact's
 * business unit, already filtered by the caller). A channel link shows its channel only; a link
 * without channel shows the channels that matter to this person: those with topics, those with a
 * state, and those of their addresses.
 */
export function preferenceChoices(
	state: ConsentState,
	topics: TopicDefinition[],
	scope: Channel | null,
	addressChannels: Channel[],
): ChannelChoices[] {
	let channels: Channel[];
	if (scope) channels = [scope];
	else {
		const relevant = new Set<Channel>([
			...addressChannels,
			...topics.map((topic) => topic.channel),
			...(Object.keys(state.channels) as Channel[]),
		]);
		channels = CHANNELS.filter((channel) => relevant.has(channel));
		if (channels.length === 0) channels = [...CHANNELS];
	}
	return channels.map((channel) => {
		const optedOut = state.channels[channel]?.optedOut === true;
		return {
			channel,
			optedOut,
			topics: topics
				.filter((topic) => topic.channel === channel)
				.sort((a, b) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key))
				.map((topic) => ({
					key: topic.key,
					name: topic.name,
					description: topic.description,
					doubleOptIn: topic.doubleOptIn,
					status: effectiveTopicStatus(state, topic.key),
					receiving: !optedOut && receivesIgnoringChannel(state, topic),
				})),
		};
	});
}

export interface SubmittedChoices {
	/** Topic keys ticked. */
	topics: Set<string>;
	/** Channels whose "stop all" box is ticked. */
	stopped: Set<Channel>;
}

/** A topic the person ticked while its channel's "stop all" box stayed ticked: not applied. */
export interface PreferenceConflict {
	channel: Channel;
	topic: string;
}

/**
 * The events that make what the person sees equal what they submitted, and nothing more
 * (only the differences; an unchanged form records nothing), and the choices that could not be
 * applied. `shown` is the part of the page the form was rendered with, so a topic added in
 * between is never touched.
 *
 * - A channel whose "stop all" box changed: Opt Out / Opt In.
 * - A topic in a channel that stays (or becomes) open: ticked but not received → Subscribe, or
 *   Confirm Subscription for a double-opt-in topic (the person acts through a link sent to them;
 *   Subscribe would only send another confirmation); unticked but received → Unsubscribe. This
 *   compares with the topic's own status, since that status is what the person will get once the
 *   channel is open: a topic shown unticked under a stopped channel stays unticked when it opens.
 * - A topic in a channel that stays (or becomes) stopped: only a box the person changed counts,
 *   so statuses paused behind the opt-out are kept. Unticking one unsubscribes it; ticking one
 *   cannot be honoured while everything of the channel is stopped: it is a conflict, shown to the
 *   person with what to change, and applies nothing.
 */
export function preferenceEvents(
	state: ConsentState,
	choices: ChannelChoices[],
	topics: Map<string, TopicDefinition>,
	submitted: SubmittedChoices,
): { events: IncomingEvent[]; conflicts: PreferenceConflict[] } {
	const channelEvents: IncomingEvent[] = [];
	const topicEvents: IncomingEvent[] = [];
	const conflicts: PreferenceConflict[] = [];
	for (const group of choices) {
		const open = !submitted.stopped.has(group.channel);
		if (open === group.optedOut) channelEvents.push({ event: open ? "Opt In" : "Opt Out", channel: group.channel });
		for (const shown of group.topics) {
			const topic = topics.get(shown.key);
			if (!topic) continue;
			const receives = receivesIgnoringChannel(state, topic);
			const wanted = submitted.topics.has(topic.key);
			const baseline = open ? receives : shown.receiving;
			if (wanted === baseline) continue;
			if (!wanted) {
				if (receives) topicEvents.push({ event: "Unsubscribe", topic: topic.key });
			} else if (!open) {
				conflicts.push({ channel: group.channel, topic: topic.key });
			} else if (!receives) {
				topicEvents.push({ event: topic.doubleOptIn ? "Confirm Subscription" : "Subscribe", topic: topic.key });
			}
		}
	}
	return { events: [...channelEvents, ...topicEvents], conflicts };
}
