import { createRoute, z } from "@hono/zod-openapi";
import type { TopicDefinition } from "../consent/types";
import { findTopic, findTopicsFor, removeTopic, saveTopic } from "../db/topics";
import { assertBusinessUnit, type Principal, requireScope } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import {
	BusinessUnitValueSchema,
	bearerScopes,
	ChannelSchema,
	conflictResponse,
	errorResponses,
	jsonBody,
	jsonResponse,
	TopicKeySchema,
} from "./schemas";

const params = z.object({
	key: TopicKeySchema.openapi({
		param: { name: "key", in: "path" },
		description: "The topic's key: lower-case letters, digits, '.', '_' and '-'.",
	}),
});

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
				z.enum(["sendgrid", "mailgun", "mailjet", "mandrill", "postmark", "ses", "crossengage"]),
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
	operationId: "upsertTopic",
	tags,
	summary: "Create or replace a topic",
	description:
		"A topic's channel cannot change once it exists (409): contacts' statuses are kept per channel. A key limited to business units manages only topics of its units; topics of every unit need a key without limits.",
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: {
		params,
		body: jsonBody(TopicInputSchema, {
			name: "Kids newsletter",
			description: "Ideas for families, once a month.",
			channel: "email",
			doubleOptIn: true,
			businessUnit: "de",
			providerRefs: { sendgrid: "42" },
		}),
	},
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
	operationId: "getTopic",
	tags,
	summary: "A topic",
	description: "404 also for a topic of a business unit this key may not use.",
	security: bearerScopes("contacts:read"),
	middleware: [requireScope("contacts:read")] as const,
	request: { params },
	responses: { 200: jsonResponse(TopicSchema, "The topic"), ...errorResponses },
});

const listTopics = createRoute({
	method: "get",
	path: "/v1/topics",
	operationId: "listTopics",
	tags,
	summary: "All topics",
	description:
		"The topics this key may see, by key: those of every business unit and those of its units. With `businessUnit`: only the topics usable there.",
	security: bearerScopes("contacts:read"),
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
	operationId: "deleteTopic",
	tags,
	summary: "Delete a topic",
	description: "Contacts' recorded statuses for it stay in their state and ledger.",
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: { params },
	responses: { 204: { description: "Deleted" }, ...errorResponses },
});

/** A topic this key may change: a key limited to business units only those of its units. */
function assertManageable(principal: Principal, topic: { businessUnit?: string | null }, key: string) {
	if (!principal.businessUnits) return;
	if (!topic.businessUnit) {
		throw new ApiError(
			403,
			"FORBIDDEN",
			`Topic "${key}" is one of every business unit: only a key without limits may change it.`,
		);
	}
	assertBusinessUnit(principal, topic.businessUnit);
}

/** A topic this key may see: global ones and those of its units. */
const visibleTo = (principal: Principal, topic: TopicDefinition) =>
	!principal.businessUnits || topic.businessUnit === null || principal.businessUnits.includes(topic.businessUnit);

export const topicsRouter = createRouter()
	.openapi(putTopic, async (c) => {
		const { key } = c.req.valid("param");
		const input = c.req.valid("json");
		const existing = await findTopic(c.env, key);
		if (existing) assertManageable(c.var.principal, existing, key);
		assertManageable(c.var.principal, input, key);
		if (existing && existing.channel !== input.channel) {
			throw new ApiError(
				409,
				"CONFLICT",
				`Topic "${key}" is on channel "${existing.channel}"; make a new topic instead.`,
			);
		}
		const topic = await saveTopic(c.env, {
			key,
			name: input.name,
			description: input.description ?? null,
			channel: input.channel,
			doubleOptIn: input.doubleOptIn,
			businessUnit: input.businessUnit ?? null,
			providerRefs: input.providerRefs ?? {},
		});
		return c.json(topic, existing ? 200 : 201);
	})
	.openapi(getTopic, async (c) => {
		const topic = await findTopic(c.env, c.req.valid("param").key);
		if (!topic || !visibleTo(c.var.principal, topic)) throw notFound("Topic");
		return c.json(topic, 200);
	})
	.openapi(listTopics, async (c) => {
		const { businessUnit } = c.req.valid("query");
		const topics = await findTopicsFor(c.env, businessUnit ?? null);
		return c.json({ topics: topics.filter((topic) => visibleTo(c.var.principal, topic)) }, 200);
	})
	.openapi(deleteTopic, async (c) => {
		const { key } = c.req.valid("param");
		const existing = await findTopic(c.env, key);
		if (!existing || !visibleTo(c.var.principal, existing)) throw notFound("Topic");
		assertManageable(c.var.principal, existing, key);
		if (!(await removeTopic(c.env, key))) throw notFound("Topic");
		return c.body(null, 204);
	});
