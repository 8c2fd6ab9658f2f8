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
 * Out-of-order delivery (ESPs retry for a day) must never re-grant what a later event took away:
 * a granting change (opt in, subscribe, confirm, clear bounce) older than the field's last change
 * is skipped. Restricting changes always apply: sending less is the safe side.
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
	const at = event.occurredAt;

	const setChannel = (channel: Channel, field: "optedOut" | "bounced", value: boolean, granting: boolean) => {
		const current: ChannelState = next.channels[channel] ?? { optedOut: false, bounced: false, changedAt: at };
		if (current[field] === value) return;
		if (granting && next.channels[channel] && at < current.changedAt) return;
		next.channels[channel] = { ...current, [field]: value, changedAt: at };
		changes.push({ field: `channels.${channel}.${field}`, from: current[field], to: value });
	};

	const setTopic = (topic: TopicDefinition, status: TopicStatus, granting: boolean) => {
		const current = next.topics[topic.key];
		if (current?.status === status) return;
		if (granting && current && at < current.changedAt) return;
		next.topics[topic.key] = { status, channel: topic.channel, changedAt: at };
		changes.push({ field: `topics.${topic.key}.status`, from: current?.status ?? null, to: status });
	};

	const channelsOf = (channel: Channel | null): readonly Channel[] => (channel ? [channel] : CHANNELS);

	switch (event.event) {
		case "Opt Out":
			for (const channel of channelsOf(event.channel)) setChannel(channel, "optedOut", true, false);
			break;
		case "Complaint":
			setChannel(event.channel ?? "email", "optedOut", true, false);
			break;
		case "Opt In":
			for (const channel of channelsOf(event.channel)) {
				setChannel(channel, "optedOut", false, true);
				if (event.properties.clearBounce === true) setChannel(channel, "bounced", false, true);
			}
			break;
		case "Bounce":
			if (event.properties.type === "hard") setChannel(event.channel ?? "email", "bounced", true, false);
			break;
		case "Subscribe": {
			const topic = requireTopic(event, topicOf);
			// A confirmed subscription is not sent back to pending by a repeated sign-up.
			if (topic.doubleOptIn && next.topics[topic.key]?.status === "subscribed") break;
			setTopic(topic, topic.doubleOptIn ? "pending" : "subscribed", true);
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
				setTopic(topic, "subscribed", true);
				setChannel(topic.channel, "optedOut", false, true);
			}
			break;
		}
		case "Unsubscribe":
			setTopic(requireTopic(event, topicOf), "unsubscribed", false);
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
		state: changes.length > 0 ? next : state,
		effect: { event: event.event, channel: event.channel, topic: event.topic, changes },
	};
}

function requireTopic(event: ConsentEvent, topicOf: TopicLookup): TopicDefinition {
	const topic = event.topic ? topicOf(event.topic) : undefined;
	// validateEvent runs before the reducer; reaching this is a programming error, not bad input.
	if (!topic) throw new Error(`reducer: "${event.event}" without a known topic`);
	return topic;
}
