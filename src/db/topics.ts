/** Topics: short lists (tens), read whole once per write request. */
import { eq, isNull, or, sql } from "drizzle-orm";
import type { TopicDefinition } from "../consent/types";
import { database } from "./client";
import { topics } from "./schema";

/** A topic as stored, with its times. */
export type Topic = typeof topics.$inferSelect;

export type TopicInput = Omit<Topic, "createdAt" | "updatedAt">;

const definition = ({ createdAt: _, updatedAt: __, ...topic }: Topic): TopicDefinition => topic;

/** Every topic, by key. */
export async function loadTopics(env: { DB: D1Database }): Promise<Map<string, TopicDefinition>> {
	const rows = await database(env).select().from(topics);
	return new Map(rows.map((row) => [row.key, definition(row)]));
}

export async function findTopic(env: { DB: D1Database }, key: string): Promise<Topic | null> {
	const [row] = await database(env).select().from(topics).where(eq(topics.key, key));
	return row ?? null;
}

/** The topics usable in a business unit (global ones and its own), or every topic. */
export async function findTopicsFor(env: { DB: D1Database }, businessUnit: string | null): Promise<Topic[]> {
	return database(env)
		.select()
		.from(topics)
		.where(businessUnit ? or(isNull(topics.businessUnit), eq(topics.businessUnit, businessUnit)) : undefined)
		.orderBy(topics.key);
}

/** Creates or replaces a topic (its channel is the caller's to keep). */
export async function saveTopic(env: { DB: D1Database }, input: TopicInput): Promise<Topic> {
	const { key, ...fields } = input;
	const [row] = await database(env)
		.insert(topics)
		.values(input)
		.onConflictDoUpdate({
			target: topics.key,
			set: { ...fields, updatedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` },
		})
		.returning();
	if (!row) throw new Error(`topic ${key} was not written`);
	return row;
}

/** Deletes a topic; whether there was one. */
export async function removeTopic(env: { DB: D1Database }, key: string): Promise<boolean> {
	const deleted = await database(env).delete(topics).where(eq(topics.key, key)).returning({ key: topics.key });
	return deleted.length > 0;
}
