/** Topic definitions for the pure tests (reducer, preferences, migrations), without a database. */
import type { Channel, TopicDefinition } from "../src/consent/types";

/** A global email topic (every business unit) without double opt-in or provider references, but for `fields`. */
export const testTopic = (key: string, fields: Partial<TopicDefinition> = {}): TopicDefinition => ({
	key,
	name: key,
	description: null,
	channel: "email",
	doubleOptIn: false,
	businessUnit: null,
	providerRefs: {},
	...fields,
});

export const topicDefinition = (key: string, channel: Channel = "email", doubleOptIn = false): TopicDefinition =>
	testTopic(key, { channel, doubleOptIn });

/** Email topics with and without double opt-in, and one of SMS. */
export const TEST_TOPICS: readonly TopicDefinition[] = [
	topicDefinition("news", "email", false),
	topicDefinition("kids", "email", true),
	topicDefinition("pets", "email", true),
	topicDefinition("sms-deals", "sms", false),
];

export const testTopicOf = (key: string) => TEST_TOPICS.find((topic) => topic.key === key);
