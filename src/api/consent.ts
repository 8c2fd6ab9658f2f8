import { createRoute, z } from "@hono/zod-openapi";
import { resolveTopic, topicProblemMessage } from "../consent/topics";
import type { Channel, MessageKind, TopicDefinition } from "../consent/types";
import { findContact } from "../db/contacts";
import { findTopic } from "../db/topics";
import type { Bindings } from "../env";
import { assertBusinessUnit, requireScope } from "../http/auth";
import { invalid } from "../http/errors";
import { createRouter } from "../http/router";
import { type CheckQuestion, checkConsent, type Recipient } from "./check";

import {
	BusinessUnitSchema,
	bearerScopes,
	ChannelSchema,
	DecisionSchema,
	EmailSchema,
	ExternalIdSchema,
	errorResponses,
	jsonBody,
	jsonResponse,
	KindSchema,
	PhoneSchema,
	TopicKeySchema,
} from "./schemas";

export const MAX_BATCH_RECIPIENTS = 10_000;

const ConsentQuerySchema = z
	.strictObject({
		externalId: ExternalIdSchema.optional().openapi({
			description:
				"The recipient as a user (your id). Name the recipient by exactly one of externalId, email or phone.",
		}),
		email: EmailSchema.optional(),
		phone: PhoneSchema.optional(),
		businessUnit: BusinessUnitSchema,
		channel: ChannelSchema,
		topic: TopicKeySchema.optional().openapi({
			description:
				"A topic key: the recipient's status for the topic counts too. The topic must be on `channel` and available in the business unit.",
		}),
		kind: KindSchema,
	})
	.refine((q) => [q.externalId, q.email, q.phone].filter((v) => v !== undefined).length === 1, {
		message: "name the recipient by exactly one of externalId, email or phone",
		path: ["externalId"],
	});

const RecipientSchema = z.union([
	z.strictObject({ externalId: ExternalIdSchema }),
	z.strictObject({ email: EmailSchema }),
	z.strictObject({ phone: PhoneSchema }),
]);

const BatchRequestSchema = z
	.strictObject({
		channel: ChannelSchema,
		topic: TopicKeySchema.optional(),
		kind: KindSchema,
		businessUnit: BusinessUnitSchema,
		recipients: z.array(RecipientSchema).min(1).max(MAX_BATCH_RECIPIENTS),
	})
	.openapi("ConsentBatchRequest");

const getConsent = createRoute({
	method: "get",
	path: "/v1/consent",
	operationId: "checkConsent",
	tags: ["Consent"],
	summary: "May I send this kind of message on this channel (about this topic) to this person?",
	description: "Unknown recipients are allowed (an opt-out system) unless suppressed or the topic needs double opt-in.",
	security: bearerScopes("consent:read"),
	middleware: [requireScope("consent:read")] as const,
	request: { query: ConsentQuerySchema },
	responses: {
		200: jsonResponse(
			DecisionSchema.extend({ contactId: z.string().nullable() }).openapi("ConsentDecision"),
			"The decision",
		),
		...errorResponses,
	},
});

const postBatch = createRoute({
	method: "post",
	path: "/v1/consent/check",
	operationId: "checkConsentBatch",
	tags: ["Consent"],
	summary: "Decisions for up to 10,000 recipients at once",
	description:
		"The decision of GET /v1/consent for every recipient (each named by externalId, email or phone), for one channel, topic, kind and business unit. Unknown recipients are allowed unless suppressed or the topic needs double opt-in.",
	security: bearerScopes("consent:read"),
	middleware: [requireScope("consent:read")] as const,
	request: {
		body: jsonBody(BatchRequestSchema, {
			channel: "email",
			topic: "newsletter-kids",
			kind: "marketing",
			businessUnit: "de",
			recipients: [{ externalId: "u1" }, { email: "ann@example.de" }, { phone: "+4917612345678" }],
		}),
	},
	responses: {
		200: jsonResponse(
			z.object({ results: z.array(DecisionSchema), allowedCount: z.number().int() }).openapi("ConsentBatchResult"),
			"Decisions in input order",
		),
		...errorResponses,
	},
});

async function questionFor(
	env: Bindings,
	input: { channel: Channel; topic?: string; kind: MessageKind; businessUnit: string },
	readableUnits: readonly string[] | null,
): Promise<CheckQuestion> {
	let topic: TopicDefinition | null = null;
	if (input.topic) {
		const resolved = resolveTopic(await findTopic(env, input.topic), input);
		if ("problem" in resolved) throw invalid(topicProblemMessage(input.topic, resolved.problem, input));
		topic = resolved.topic;
	}
	return { channel: input.channel, topic, kind: input.kind, businessUnit: input.businessUnit, readableUnits };
}

export const consentRouter = createRouter()
	.openapi(getConsent, async (c) => {
		const query = c.req.valid("query");
		let businessUnit = query.businessUnit;
		if (query.externalId !== undefined && (query.topic || c.var.principal.businessUnits)) {
			// A user's topics and key limits are those of its own business unit.
			businessUnit = (await findContact(c.env, { externalId: query.externalId }))?.businessUnit ?? businessUnit;
		}
		assertBusinessUnit(c.var.principal, businessUnit);
		const recipient: Recipient =
			query.externalId !== undefined
				? { externalId: query.externalId }
				: query.email !== undefined
					? { email: query.email }
					: { phone: query.phone as string };
		const [result] = await checkConsent(
			c.env,
			[recipient],
			await questionFor(c.env, { ...query, businessUnit }, c.var.principal.businessUnits),
		);
		return c.json(result as NonNullable<typeof result>, 200);
	})
	.openapi(postBatch, async (c) => {
		const body = c.req.valid("json");
		assertBusinessUnit(c.var.principal, body.businessUnit);
		const results = await checkConsent(
			c.env,
			body.recipients,
			await questionFor(c.env, body, c.var.principal.businessUnits),
		);
		let allowedCount = 0;
		for (const result of results) if (result.allowed) allowedCount++;
		return c.json({ results: results.map(({ allowed, reason }) => ({ allowed, reason })), allowedCount }, 200);
	});
