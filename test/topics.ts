/** Topic definitions for the pure tests (reducer, preferences, migrations), without a database. */
import type { Channel, TopicDefinition } from "../src/consent/types";

/** A global topic (every business unit) with no provider references. */
export const topicDefinition = (key: string, channel: Channel = "email", doubleOptIn = false): TopicDefinition => ({
	key,
	name: key,
	description: null,
	channel,
	doubleOptIn,
	businessUnit: null,
	providerRefs: {},
});

/** Email topics with and without double opt-in, and one of SMS. */
export const TEST_TOPICS: readonly TopicDefinition[] = [
	topicDefinition("news", "email", false),
	topicDefinition("kids", "email", true),
	topicDefinition("pets", "email", true),
	topicDefinition("sms-deals", "sms", false),
];

export const testTopicOf = (key: string) => TEST_TOPICS.find((topic) => topic.key === key);
