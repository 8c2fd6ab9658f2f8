import type { TopicLookup } from "./reducer";
import { resolveTopic, topicProblemMessage } from "./topics";
import type { ConsentEvent } from "./types";

type TopicUse = "required" | "optional" | "none";

const TOPIC_USE: Record<string, TopicUse> = {
	"Opt Out": "none",
	"Opt In": "none",
	Subscribe: "required",
	"Confirm Subscription": "optional",
	Unsubscribe: "required",
	Block: "none",
	Unblock: "none",
	Bounce: "none",
	Complaint: "none",
};

/**
 * Checks an event against the topics a contact of `businessUnit` may use and fills in the
 * topic's channel. Returns the event ready for the reducer, or a message for a 400.
 */
export function resolveEvent(
	event: ConsentEvent,
	topicOf: TopicLookup,
	businessUnit: string,
): { event: ConsentEvent } | { error: string } {
	const use = TOPIC_USE[event.event];
	if (use === undefined) return { event }; // custom event: anything goes into the ledger

	if (use === "none" && event.topic) {
		const hint = event.event === "Opt Out" ? ' (use "Unsubscribe" for a topic)' : "";
		return { error: `"${event.event}" takes no topic${hint}` };
	}
	if ((event.event === "Block" || event.event === "Unblock") && event.channel) {
		return { error: `"${event.event}" applies to the whole contact and takes no channel` };
	}
	if (event.event === "Bounce" && event.properties.type !== "hard" && event.properties.type !== "soft") {
		return { error: '"Bounce" needs properties.type "hard" or "soft"' };
	}
	if (use === "required" && !event.topic) return { error: `"${event.event}" needs a topic` };
	if (!event.topic) return { event };

	const scope = { businessUnit, channel: event.channel };
	const resolved = resolveTopic(topicOf(event.topic), scope);
	if ("problem" in resolved) return { error: topicProblemMessage(event.topic, resolved.problem, scope) };
	return { event: { ...event, channel: resolved.topic.channel } };
}
