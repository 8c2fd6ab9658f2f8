/**
 * Which topics a contact may use: a topic of every business unit (no unit) or of the contact's own,
 * in the channel the caller names. One rule for the API, the pages, sign-ups, imports, links and
 * exports.
 */
import type { Channel, TopicDefinition } from "./types";

/** A topic usable by contacts of `businessUnit`: global (no BU) or of that BU. */
export function topicAvailableIn(topic: TopicDefinition, businessUnit: string): boolean {
	return topic.businessUnit === null || topic.businessUnit === businessUnit;
}

export type TopicProblem = { kind: "unknown" } | { kind: "wrong_channel"; channel: Channel };

/**
 * The topic `key` names for a contact of `businessUnit`, or why it cannot be used: unknown (or of
 * another unit, which is the same to the caller) or of another channel than `channel`.
 */
export function resolveTopic(
	topic: TopicDefinition | null | undefined,
	scope: { businessUnit: string; channel?: Channel | null },
): { topic: TopicDefinition } | { problem: TopicProblem } {
	if (!topic || !topicAvailableIn(topic, scope.businessUnit)) return { problem: { kind: "unknown" } };
	if (scope.channel && topic.channel !== scope.channel) {
		return { problem: { kind: "wrong_channel", channel: topic.channel } };
	}
	return { topic };
}

/** The message for a topic that cannot be used, as every caller words it. */
export function topicProblemMessage(
	key: string,
	problem: TopicProblem,
	scope: { businessUnit: string; channel?: Channel | null },
): string {
	return problem.kind === "unknown"
		? `unknown topic "${key}" for business unit "${scope.businessUnit}"`
		: `topic "${key}" belongs to channel "${problem.channel}", not "${scope.channel}"`;
}

/** When an event counts as having happened: as stated, but never later than its arrival. */
export function occurrenceTime(stated: string | null | undefined, receivedAt: string): string {
	return stated && stated < receivedAt ? stated : receivedAt;
}
