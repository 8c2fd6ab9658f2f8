import type { Channel, TopicDefinition } from "../consent/types";
import type { Bindings } from "../env";

export interface TopicRecord {
	key: string;
	name: string;
	description: string | null;
	channel: string;
	double_opt_in: number;
	business_unit: string | null;
	provider_refs: string;
	created_at: string;
	updated_at: string;
}

export function topicFromRecord(row: TopicRecord): TopicDefinition & { createdAt: string; updatedAt: string } {
	return {
		key: row.key,
		name: row.name,
		description: row.description,
		channel: row.channel as Channel,
		doubleOptIn: row.double_opt_in === 1,
		businessUnit: row.business_unit,
		providerRefs: JSON.parse(row.provider_refs),
		createdAt: row.created_at,
		updatedAt: row.updated_at,
	};
}

/** Every topic, by key. Topic lists are short (tens), so one read per write request is cheap. */
export async function loadTopics(env: Bindings): Promise<Map<string, TopicDefinition>> {
	const { results } = await env.DB.prepare("SELECT * FROM topics").all<TopicRecord>();
	return new Map(results.map((row) => [row.key, topicFromRecord(row)]));
}

export async function findTopic(env: Bindings, key: string): Promise<TopicDefinition | null> {
	const row = await env.DB.prepare("SELECT * FROM topics WHERE key = ?").bind(key).first<TopicRecord>();
	return row ? topicFromRecord(row) : null;
}

/** A topic usable by contacts of `businessUnit`: global (no BU) or of that BU. */
export function topicAvailableIn(topic: TopicDefinition, businessUnit: string): boolean {
	return topic.businessUnit === null || topic.businessUnit === businessUnit;
}
