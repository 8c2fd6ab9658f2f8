import { suppressionDenies } from "./suppression";
import type { Channel, ConsentState, MessageKind, TopicDefinition, TopicStatus } from "./types";

export const DECISION_REASONS = [
	"blocked",
	"suppressed",
	"bounced",
	"ok",
	"opted_out",
	"unsubscribed",
	"pending_confirmation",
	"not_subscribed",
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

export interface Decision {
	allowed: boolean;
	reason: DecisionReason;
}

export interface DecisionInput {
	/** null for a recipient with no contact. */
	state: ConsentState | null;
	/** The address is on the bare-address blocklist. */
	addressBlocked: boolean;
	/**
	 * The reasons of the suppression of the address this channel reaches, or null when it
	 * is not suppressed. It holds whatever contact has the address now.
	 */
	suppression: readonly string[] | null;
	channel: Channel;
	topic: TopicDefinition | null;
	kind: MessageKind;
}

const allow: Decision = { allowed: true, reason: "ok" };
const deny = (reason: DecisionReason): Decision => ({ allowed: false, reason });

/** The decision: first match wins. */
export function decide(input: DecisionInput): Decision {
	const { state, channel, topic } = input;
	const channelState = state?.channels[channel];
	if (input.addressBlocked || state?.blocked) return deny("blocked");
	if (input.suppression && suppressionDenies(input.suppression, input.kind)) return deny("suppressed");
	if (channelState?.bounced) return deny("bounced");
	if (input.kind === "transactional") return allow;
	if (channelState?.optedOut) return deny("opted_out");
	if (topic) {
		const status = state?.topics[topic.key]?.status;
		if (status === "unsubscribed") return deny("unsubscribed");
		if (status === "pending") return deny("pending_confirmation");
		if (!status && topic.doubleOptIn) return deny("not_subscribed");
	}
	return allow;
}

/**
 * A topic counts as unsubscribed while its channel is opted out, so segments built on
 * topic status never count people who get no mail.
 */
export function effectiveTopicStatus(state: ConsentState, topicKey: string): TopicStatus | null {
	const topic = state.topics[topicKey];
	if (!topic) return null;
	return state.channels[topic.channel]?.optedOut ? "unsubscribed" : topic.status;
}
