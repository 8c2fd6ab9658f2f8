import {
	CHANNELS,
	type Channel,
	type ChannelState,
	type ConsentEvent,
	type ConsentState,
	type FieldChange,
	type LedgerEffect,
	type TopicDefinition,
	type TopicStatus,
} from "./types";

export type TopicLookup = (key: string) => TopicDefinition | undefined;

/**
 * The consent rules of SPEC §2, the only code that changes consent state.
 *
 * Every accepted event yields an effect (and so a ledger row), with an empty `changes` list when
 * it changed nothing: the ledger is the proof of what arrived, stats count only real changes.
 *
 * Out-of-order delivery (ESPs retry for a day): preferences (a channel's opt-out, a topic's status)
 * follow the newest event by occurrence time. An event older than the preference's last setting is
 * skipped, so a stale unsubscribe cannot undo a later re-subscribe, nor a stale opt-in a later
 * opt-out; an event restating the current value with a newer time refreshes that time. Facts
 * (bounces, blocks) apply in arrival order.
 */
export function applyEvent(
	state: ConsentState,
	event: ConsentEvent,
	topicOf: TopicLookup,
): { state: ConsentState; effect: LedgerEffect } {
	const next: ConsentState = {
		blocked: state.blocked,
		channels: { ...state.channels },
		topics: { ...state.topics },
	};
	const changes: FieldChange[] = [];
	let refreshed = false;
	const at = event.occurredAt;

	const channelOf = (channel: Channel): ChannelState =>
		next.channels[channel] ?? { optedOut: false, bounced: false, changedAt: at, optedOutAt: null, bouncedAt: null };

	const setOptedOut = (channel: Channel, optedOut: boolean) => {
		const current = channelOf(channel);
		if (current.optedOutAt !== null && at < current.optedOutAt) return;
		if (current.optedOut === optedOut) {
			if (current.optedOutAt !== null && at > current.optedOutAt) {
				next.channels[channel] = { ...current, optedOutAt: at, changedAt: latest(current.changedAt, at) };
				refreshed = true;
			}
			return;
		}
		next.channels[channel] = { ...current, optedOut, optedOutAt: at, changedAt: latest(current.changedAt, at) };
		changes.push({ field: `channels.${channel}.optedOut`, from: current.optedOut, to: optedOut });
	};

	const setBounced = (channel: Channel, bounced: boolean) => {
		const current = channelOf(channel);
		if (current.bounced === bounced) return;
		next.channels[channel] = { ...current, bounced, bouncedAt: at, changedAt: latest(current.changedAt, at) };
		changes.push({ field: `channels.${channel}.bounced`, from: current.bounced, to: bounced });
	};

	const setTopic = (topic: TopicDefinition, status: TopicStatus) => {
		const current = next.topics[topic.key];
		if (current && at < current.changedAt) return;
		if (current?.status === status) {
			if (at > current.changedAt) {
				next.topics[topic.key] = { ...current, changedAt: at };
				refreshed = true;
			}
			return;
		}
		next.topics[topic.key] = { status, channel: topic.channel, changedAt: at };
		changes.push({ field: `topics.${topic.key}.status`, from: current?.status ?? null, to: status });
	};

	const channelsOf = (channel: Channel | null): readonly Channel[] => (channel ? [channel] : CHANNELS);

	switch (event.event) {
		case "Opt Out":
			for (const channel of channelsOf(event.channel)) setOptedOut(channel, true);
			break;
		case "Complaint":
			setOptedOut(event.channel ?? "email", true);
			break;
		case "Opt In":
			for (const channel of channelsOf(event.channel)) {
				setOptedOut(channel, false);
				if (event.properties.clearBounce === true) setBounced(channel, false);
			}
			break;
		case "Bounce":
			if (event.properties.type === "hard") setBounced(event.channel ?? "email", true);
			break;
		case "Subscribe": {
			const topic = requireTopic(event, topicOf);
			// A confirmed subscription is not sent back to pending by a repeated sign-up.
			if (topic.doubleOptIn && next.topics[topic.key]?.status === "subscribed") break;
			setTopic(topic, topic.doubleOptIn ? "pending" : "subscribed");
			break;
		}
		case "Confirm Subscription": {
			const confirmed = event.topic
				? [requireTopic(event, topicOf)]
				: Object.entries(next.topics)
						.filter(([, s]) => s.status === "pending" && (!event.channel || s.channel === event.channel))
						.map(([key]) => topicOf(key))
						.filter((topic): topic is TopicDefinition => topic !== undefined);
			for (const topic of confirmed) {
				setTopic(topic, "subscribed");
				setOptedOut(topic.channel, false);
			}
			break;
		}
		case "Unsubscribe":
			setTopic(requireTopic(event, topicOf), "unsubscribed");
			break;
		case "Block":
		case "Unblock": {
			const blocked = event.event === "Block";
			if (next.blocked !== blocked) {
				changes.push({ field: "blocked", from: next.blocked, to: blocked });
				next.blocked = blocked;
			}
			break;
		}
		default:
			// Custom events are recorded and forwarded, never change consent.
			break;
	}

	return {
		state: changes.length > 0 || refreshed ? next : state,
		effect: { event: event.event, channel: event.channel, topic: event.topic, changes },
	};
}

function latest(a: string, b: string): string {
	return a > b ? a : b;
}

function requireTopic(event: ConsentEvent, topicOf: TopicLookup): TopicDefinition {
	const topic = event.topic ? topicOf(event.topic) : undefined;
	// validateEvent runs before the reducer; reaching this is a programming error, not bad input.
	if (!topic) throw new Error(`reducer: "${event.event}" without a known topic`);
	return topic;
}
