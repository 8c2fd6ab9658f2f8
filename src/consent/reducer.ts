import {
	CHANNELS,
	type Channel,
	type ChannelState,
	type ConsentEvent,
	type ConsentState,
	type FieldChange,
	type LedgerEffect,
	type TopicDefinition,
	type TopicState,
	type TopicStatus,
} from "./types";

export type TopicLookup = (key: string) => TopicDefinition | undefined;

/**
 * Events that state a preference (a channel's opt-out, a topic's status). Their final effect is
 * that of the time-ordered sequence, whatever order they arrive in. All other system events are
 * facts (bounces, blocks), applied in arrival order; custom events change nothing.
 */
export const PREFERENCE_EVENTS: ReadonlySet<string> = new Set([
	"Opt Out",
	"Opt In",
	"Subscribe",
	"Confirm Subscription",
	"Unsubscribe",
	"Complaint",
]);

export const isPreferenceEvent = (event: Pick<ConsentEvent, "event">): boolean => PREFERENCE_EVENTS.has(event.event);

/**
 * Set by the service (never by a caller) on a `Subscribe` of a suppressed address: the topic waits
 * for a confirmation even without double opt-in, so the person can come back through the link.
 */
export const CONFIRMATION_REQUIRED = "confirmationRequired";

type Part = "all" | "preferences" | "facts";

/**
 * The consent rules, the only code that changes consent state: one event applied to a state in
 * which every earlier preference event has been applied. Every accepted event yields an effect (and
 * so a ledger row), with an empty `changes` list when it changed nothing: the ledger is the proof
 * of what arrived, stats count only real changes.
 *
 * Events that arrive late (older than the newest preference already applied) are not applied with
 * this alone: `replayPreferences` re-folds the preference history in time order, so the newest
 * intent wins for every arrival order (see `isLate`).
 */
export function applyEvent(
	state: ConsentState,
	event: ConsentEvent,
	topicOf: TopicLookup,
): { state: ConsentState; effect: LedgerEffect } {
	const next = applyRules(state, event, topicOf, "all");
	return { state: next, effect: effectOf(event, state, next) };
}

/** The ledger effect of going from `before` to `after` through `event`. */
export function effectOf(event: ConsentEvent, before: ConsentState, after: ConsentState): LedgerEffect {
	return { event: event.event, channel: event.channel, topic: event.topic, changes: diffStates(before, after) };
}

/** When the newest preference event applied to this state happened; null when none was. */
export function preferenceClock(state: ConsentState): string | null {
	if (state.preferencesAt !== undefined) return state.preferencesAt;
	// States written before the clock was kept: the newest preference time they recorded.
	let clock: string | null = null;
	for (const channel of Object.values(state.channels)) clock = latestOf(clock, channel.optedOutAt);
	for (const topic of Object.values(state.topics)) clock = latestOf(clock, topic.changedAt);
	return clock;
}

/** A preference event older than one already applied: applying it on top would let it win wrongly. */
export function isLate(state: ConsentState, event: ConsentEvent): boolean {
	const clock = preferenceClock(state);
	return isPreferenceEvent(event) && clock !== null && event.occurredAt < clock;
}

/**
 * A preference event older than every preference it would set: in time order it would have been
 * overwritten already. (Late events it does not cover, such as a Confirm Subscription without
 * topic, need the replay to tell.)
 */
export function isSuperseded(state: ConsentState, event: ConsentEvent): boolean {
	if (!isLate(state, event)) return false;
	const newer = (time: string | null | undefined) => time !== null && time !== undefined && time > event.occurredAt;
	const channels = event.channel ? [event.channel] : CHANNELS;
	switch (event.event) {
		case "Opt Out":
		case "Opt In":
			return channels.every((channel) => newer(state.channels[channel]?.optedOutAt));
		case "Complaint":
			return newer(state.channels[event.channel ?? "email"]?.optedOutAt);
		case "Subscribe":
		case "Unsubscribe":
			return event.topic !== null && newer(state.topics[event.topic]?.changedAt);
		case "Confirm Subscription":
			return (
				event.topic !== null &&
				newer(state.topics[event.topic]?.changedAt) &&
				(event.channel === null || newer(state.channels[event.channel]?.optedOutAt))
			);
		default:
			return false;
	}
}

/**
 * The state whose preferences are the fold of `history` (every preference event of the contact,
 * any order; equal times keep their given order) and whose facts (blocked, bounced) are those of
 * `state`. Topics `topicOf` no longer knows (deleted since) keep their status as it is.
 */
export function replayPreferences(state: ConsentState, history: ConsentEvent[], topicOf: TopicLookup): ConsentState {
	const channels: ConsentState["channels"] = {};
	for (const channel of CHANNELS) {
		const current = state.channels[channel];
		if (current?.bounced || current?.bouncedAt) {
			const bouncedAt = current.bouncedAt;
			channels[channel] = {
				optedOut: false,
				bounced: current.bounced,
				changedAt: bouncedAt ?? current.changedAt,
				optedOutAt: null,
				bouncedAt,
				lastOptedOutAt: null,
				returnedAt: null,
			};
		}
	}
	const topics: ConsentState["topics"] = {};
	for (const [key, topic] of Object.entries(state.topics)) if (!topicOf(key)) topics[key] = topic;

	let replayed: ConsentState = {
		blocked: state.blocked,
		...(state.blockedAt !== undefined ? { blockedAt: state.blockedAt } : {}),
		channels,
		topics,
	};
	const ordered = history
		.map((event, index) => ({ event, index }))
		.filter(({ event }) => isPreferenceEvent(event) && (!event.topic || topicOf(event.topic)))
		.sort((a, b) =>
			a.event.occurredAt < b.event.occurredAt ? -1 : a.event.occurredAt > b.event.occurredAt ? 1 : a.index - b.index,
		);
	for (const { event } of ordered) replayed = applyRules(replayed, event, topicOf, "preferences");
	return replayed;
}

/**
 * Applies an event as it arrives. `history` holds every preference event already applied to
 * `state` (any order), or null when the caller has not loaded it: an in-order event never needs it,
 * a late one (`isLate`) does. The caller appends preference events to its history afterwards.
 */
export function applyArrived(
	state: ConsentState,
	event: ConsentEvent,
	topicOf: TopicLookup,
	history: readonly ConsentEvent[] | null,
): ConsentState {
	if (!isLate(state, event)) return applyEvent(state, event, topicOf).state;
	if (history === null) throw new Error("reducer: a late preference event needs the contact's history");
	return applyFacts(replayPreferences(state, [...history, event], topicOf), event, topicOf);
}

/** Applies only the fact part of an event (a late `Opt In`'s clearBounce). */
function applyFacts(state: ConsentState, event: ConsentEvent, topicOf: TopicLookup): ConsentState {
	return applyRules(state, event, topicOf, "facts");
}

function applyRules(state: ConsentState, event: ConsentEvent, topicOf: TopicLookup, part: Part): ConsentState {
	const preferences = part !== "facts";
	const facts = part !== "preferences";
	if (!facts && !isPreferenceEvent(event)) return state;
	const next: ConsentState = {
		blocked: state.blocked,
		...(state.blockedAt !== undefined ? { blockedAt: state.blockedAt } : {}),
		channels: { ...state.channels },
		topics: { ...state.topics },
		...(state.preferencesAt !== undefined ? { preferencesAt: state.preferencesAt } : {}),
	};
	const at = event.occurredAt;

	const channelOf = (channel: Channel): ChannelState =>
		next.channels[channel] ?? {
			optedOut: false,
			bounced: false,
			changedAt: at,
			optedOutAt: null,
			bouncedAt: null,
			lastOptedOutAt: null,
			returnedAt: null,
		};

	// A preference restated with the same value still takes this event's time: it is the newest
	// word on it, which an older event arriving later must not overturn. The times the opt-out period
	// began and ended move only when the value changes.
	const setOptedOut = (channel: Channel, optedOut: boolean) => {
		const current = channelOf(channel);
		const began = optOutBegan(current);
		next.channels[channel] = {
			...current,
			optedOut,
			optedOutAt: at,
			changedAt: latest(current.changedAt, at),
			lastOptedOutAt: optedOut ? (current.optedOut ? (began ?? at) : at) : began,
			returnedAt: optedOut ? null : current.optedOut ? at : (current.returnedAt ?? null),
		};
	};

	const setBounced = (channel: Channel, bounced: boolean) => {
		const current = channelOf(channel);
		if (current.bounced === bounced) return;
		next.channels[channel] = { ...current, bounced, bouncedAt: at, changedAt: latest(current.changedAt, at) };
	};

	const setTopic = (topic: TopicDefinition, status: TopicStatus) => {
		const current = next.topics[topic.key];
		const statusSince = current?.status === status ? topicStatusSince(current) : at;
		next.topics[topic.key] = { status, channel: topic.channel, changedAt: at, statusSince };
	};

	const channelsOf = (channel: Channel | null): readonly Channel[] => (channel ? [channel] : CHANNELS);

	if (preferences && isPreferenceEvent(event)) {
		next.preferencesAt = latestOf(preferenceClock(state), at) ?? at;
		switch (event.event) {
			case "Opt Out":
				for (const channel of channelsOf(event.channel)) setOptedOut(channel, true);
				break;
			case "Complaint":
				setOptedOut(event.channel ?? "email", true);
				break;
			case "Opt In":
				for (const channel of channelsOf(event.channel)) setOptedOut(channel, false);
				break;
			case "Subscribe": {
				const topic = requireTopic(event, topicOf);
				const current = next.topics[topic.key]?.status;
				if (event.properties[CONFIRMATION_REQUIRED] === true) setTopic(topic, "pending");
				// A confirmed subscription is not sent back to pending by a repeated sign-up.
				else if (topic.doubleOptIn) setTopic(topic, current === "subscribed" ? "subscribed" : "pending");
				else setTopic(topic, "subscribed");
				break;
			}
			case "Confirm Subscription": {
				const confirmed = event.topic
					? [requireTopic(event, topicOf)]
					: Object.entries(next.topics)
							.filter(([, s]) => s.status === "pending" && (!event.channel || s.channel === event.channel))
							.map(([key]) => topicOf(key))
							.filter((topic): topic is TopicDefinition => topic !== undefined);
				const keys = new Set(confirmed.map((topic) => topic.key));
				for (const topic of confirmed) {
					// Confirming after an opt-out of the whole channel opens the channel for the confirmed
					// topics only: what the person had stopped does not resume with it.
					if (next.channels[topic.channel]?.optedOut) {
						for (const [key, other] of Object.entries(next.topics)) {
							if (!keys.has(key) && other.channel === topic.channel && other.status === "subscribed") {
								next.topics[key] = { ...other, status: "unsubscribed", changedAt: at, statusSince: at };
							}
						}
					}
					setTopic(topic, "subscribed");
					setOptedOut(topic.channel, false);
				}
				break;
			}
			case "Unsubscribe":
				setTopic(requireTopic(event, topicOf), "unsubscribed");
				break;
		}
	}

	if (facts) {
		switch (event.event) {
			case "Opt In":
				if (event.properties.clearBounce === true)
					for (const channel of channelsOf(event.channel)) setBounced(channel, false);
				break;
			case "Bounce":
				if (event.properties.type === "hard") setBounced(event.channel ?? "email", true);
				break;
			case "Block":
				// A repeated block keeps the time the block began.
				if (!state.blocked) next.blockedAt = at;
				next.blocked = true;
				break;
			case "Unblock":
				if (state.blocked || state.blockedAt) next.blockedAt = null;
				next.blocked = false;
				break;
			default:
				// Custom events are recorded and forwarded, never change consent.
				break;
		}
	}
	return next;
}

/** The value changes between two states, as ledger rows list them. */
export function diffStates(before: ConsentState, after: ConsentState): FieldChange[] {
	const changes: FieldChange[] = [];
	if (before.blocked !== after.blocked) changes.push({ field: "blocked", from: before.blocked, to: after.blocked });
	for (const channel of CHANNELS) {
		const from = before.channels[channel];
		const to = after.channels[channel];
		if ((from?.optedOut ?? false) !== (to?.optedOut ?? false)) {
			changes.push({ field: `channels.${channel}.optedOut`, from: from?.optedOut ?? false, to: to?.optedOut ?? false });
		}
		if ((from?.bounced ?? false) !== (to?.bounced ?? false)) {
			changes.push({ field: `channels.${channel}.bounced`, from: from?.bounced ?? false, to: to?.bounced ?? false });
		}
	}
	const keys = new Set([...Object.keys(before.topics), ...Object.keys(after.topics)]);
	for (const key of keys) {
		const from = before.topics[key]?.status ?? null;
		const to = after.topics[key]?.status ?? null;
		if (from !== to) changes.push({ field: `topics.${key}.status`, from, to });
	}
	return changes;
}

/**
 * When the channel's latest opt-out period began (null: never opted out). States written before
 * the time was kept give the last time the opt-out was set while it holds.
 */
export function optOutBegan(channel: ChannelState | undefined): string | null {
	if (!channel) return null;
	if (channel.lastOptedOutAt !== undefined) return channel.lastOptedOutAt;
	return channel.optedOut ? channel.optedOutAt : null;
}

/**
 * When the latest opt-out period began: of `channel`, or the latest over the channels (null: never
 * opted out). It stays after the person opted back in.
 */
export function lastOptedOutAt(state: ConsentState, channel: Channel | undefined): string | null {
	if (channel) return optOutBegan(state.channels[channel]);
	return CHANNELS.reduce<string | null>((last, name) => latestOf(last, optOutBegan(state.channels[name])), null);
}

/** When the topic's own current status began (states written before it was kept: when it was last set). */
export function topicStatusSince(topic: TopicState): string {
	return topic.statusSince ?? topic.changedAt;
}

/**
 * When the topic's effective status (unsubscribed while its channel is opted out) began; null when
 * the contact has no status for it. Unsubscribed in effect: the earlier of the causes still in
 * force — the topic's own unsubscribe and the channel's opt-out. Subscribed or pending in effect:
 * when the topic got that status, or when the person came back to the channel, whichever is later
 * (the status did not reach them while the channel was opted out). `src/db/exports.ts` computes the
 * same in SQL.
 */
export function effectiveTopicSince(state: ConsentState, topicKey: string): string | null {
	const topic = state.topics[topicKey];
	if (!topic) return null;
	const own = topicStatusSince(topic);
	const channel = state.channels[topic.channel];
	if (channel?.optedOut) {
		const optedOut = optOutBegan(channel) ?? own;
		return topic.status === "unsubscribed" && own < optedOut ? own : optedOut;
	}
	const returned = topic.status === "unsubscribed" ? null : (channel?.returnedAt ?? null);
	return returned !== null && returned > own ? returned : own;
}

function latest(a: string, b: string): string {
	return a > b ? a : b;
}

function latestOf(a: string | null, b: string | null): string | null {
	if (a === null) return b;
	if (b === null) return a;
	return latest(a, b);
}

function requireTopic(event: ConsentEvent, topicOf: TopicLookup): TopicDefinition {
	const topic = event.topic ? topicOf(event.topic) : undefined;
	// validateEvent runs before the reducer; reaching this is a programming error, not bad input.
	if (!topic) throw new Error(`reducer: "${event.event}" without a known topic`);
	return topic;
}
