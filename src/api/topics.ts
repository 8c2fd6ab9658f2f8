import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { findTopic, type TopicRecord, topicFromRecord } from "../topics/topics";
import {
	BusinessUnitValueSchema,
	bearerSecurity,
	ChannelSchema,
	conflictResponse,
	errorResponses,
	jsonBody,
	jsonResponse,
	TopicKeySchema,
} from "./schemas";

const params = z.object({ key: TopicKeySchema.openapi({ param: { name: "key", in: "path" } }) });

const TopicInputSchema = z
	.strictObject({
		name: z.string().trim().min(1).max(200),
		description: z.string().max(2000).nullable().optional(),
		channel: ChannelSchema,
		doubleOptIn: z.boolean().default(false),
		businessUnit: BusinessUnitValueSchema.nullable()
			.optional()
			.openapi({ description: "Omit for a topic of every business unit." }),
		providerRefs: z
			.partialRecord(
				z.enum(["sendgrid", "mailgun", "mailjet", "mandrill", "postmark", "ses"]),
				z.string().min(1).max(200),
			)
			.optional()
			.openapi({
				example: { sendgrid: "42", mailjet: "1234", ses: "Kids" },
				description: "The provider's group/list id per provider.",
			}),
	})
	.openapi("TopicInput");

const TopicSchema = z
	.object({
		key: z.string(),
		name: z.string(),
		description: z.string().nullable(),
		channel: ChannelSchema,
		doubleOptIn: z.boolean(),
		businessUnit: z.string().nullable(),
		providerRefs: z.record(z.string(), z.string()),
		createdAt: z.string(),
		updatedAt: z.string(),
	})
	.openapi("Topic");

const tags = ["Topics"];

const putTopic = createRoute({
	method: "put",
	path: "/v1/topics/{key}",
	tags,
	summary: "Create or replace a topic",
	description: "A topic's channel cannot change once it exists (409): contacts' statuses are kept per channel.",
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: { params, body: jsonBody(TopicInputSchema) },
	responses: {
		200: jsonResponse(TopicSchema, "Replaced"),
		201: jsonResponse(TopicSchema, "Created"),
		409: conflictResponse("CONFLICT: the topic exists on another channel"),
		...errorResponses,
	},
});

const getTopic = createRoute({
	method: "get",
	path: "/v1/topics/{key}",
	tags,
	summary: "A topic",
	security: bearerSecurity,
	middleware: [requireScope("contacts:read")] as const,
	request: { params },
	responses: { 200: jsonResponse(TopicSchema, "The topic"), ...errorResponses },
});

const listTopics = createRoute({
	method: "get",
	path: "/v1/topics",
	tags,
	summary: "All topics",
	security: bearerSecurity,
	middleware: [requireScope("contacts:read")] as const,
	request: {
		query: z.strictObject({
			businessUnit: BusinessUnitValueSchema.optional().openapi({
				description: "Only topics usable in this business unit.",
			}),
		}),
	},
	responses: { 200: jsonResponse(z.object({ topics: z.array(TopicSchema) }), "Topics by key"), ...errorResponses },
});

const deleteTopic = createRoute({
	method: "delete",
	path: "/v1/topics/{key}",
	tags,
	summary: "Delete a topic",
	description: "Contacts' recorded statuses for it stay in their state and ledger.",
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: { params },
	responses: { 204: { description: "Deleted" }, ...errorResponses },
});

export const topicsRouter = createRouter()
	.openapi(putTopic, async (c) => {
		const { key } = c.req.valid("param");
		const input = c.req.valid("json");
		const existing = await findTopic(c.env, key);
		if (existing && existing.channel !== input.channel) {
			throw new ApiError(
				409,
				"CONFLICT",
				`Topic "${key}" is on channel "${existing.channel}"; make a new topic instead.`,
			);
		}
		const row = await c.env.DB.prepare(
			`INSERT INTO topics (key, name, description, channel, double_opt_in, business_unit, provider_refs)
			 VALUES (?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (key) DO UPDATE SET name = excluded.name, description = excluded.description,
			   double_opt_in = excluded.double_opt_in, business_unit = excluded.business_unit,
			   provider_refs = excluded.provider_refs, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
			 RETURNING *`,
		)
			.bind(
				key,
				input.name,
				input.description ?? null,
				input.channel,
				input.doubleOptIn ? 1 : 0,
				input.businessUnit ?? null,
				JSON.stringify(input.providerRefs ?? {}),
			)
			.first<TopicRecord>();
		return c.json(topicFromRecord(row as TopicRecord), existing ? 200 : 201);
	})
	.openapi(getTopic, async (c) => {
		const row = await c.env.DB.prepare("SELECT * FROM topics WHERE key = ?")
			.bind(c.req.valid("param").key)
			.first<TopicRecord>();
		if (!row) throw notFound("Topic");
		return c.json(topicFromRecord(row), 200);
	})
	.openapi(listTopics, async (c) => {
		const { businessUnit } = c.req.valid("query");
		const { results } = await c.env.DB.prepare(
			"SELECT * FROM topics WHERE ?1 IS NULL OR business_unit IS NULL OR business_unit = ?1 ORDER BY key",
		)
			.bind(businessUnit ?? null)
			.all<TopicRecord>();
		return c.json({ topics: results.map(topicFromRecord) }, 200);
	})
	.openapi(deleteTopic, async (c) => {
		const { meta } = await c.env.DB.prepare("DELETE FROM topics WHERE key = ?").bind(c.req.valid("param").key).run();
		if (meta.changes === 0) throw notFound("Topic");
		return c.body(null, 204);
	});
