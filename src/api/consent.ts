import { createRoute, z } from "@hono/zod-openapi";
import { readDatabase } from "../db/client";
import { assertBusinessUnit, requireScope } from "../http/auth";
import { BOOKMARK_PARAMETER, sentBookmark } from "../http/bookmark";
import { createRouter } from "../http/router";
import { answerCheck, type Recipient } from "./check";

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

// A union tries its options in order: emails, the most common recipients, first.
const RecipientSchema = z.union([
	z.strictObject({ email: EmailSchema }),
	z.strictObject({ externalId: ExternalIdSchema }),
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
	parameters: [BOOKMARK_PARAMETER],
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
	parameters: [BOOKMARK_PARAMETER],
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

export const consentRouter = createRouter()
	.openapi(getConsent, async (c) => {
		const query = c.req.valid("query");
		const principal = c.var.principal;
		// A user's topics and key limits are those of its own business unit: found by the check's own
		// statement (in every unit), then asserted before anything of it is answered.
		const ownUnit = query.externalId !== undefined && (query.topic !== undefined || principal.businessUnits !== null);
		if (!ownUnit) assertBusinessUnit(principal, query.businessUnit);
		const recipient: Recipient =
			query.externalId !== undefined
				? { externalId: query.externalId }
				: query.email !== undefined
					? { email: query.email }
					: { phone: query.phone as string };
		const [result] = await answerCheck(c.env, readDatabase(c.env, sentBookmark(c)), [recipient], {
			channel: query.channel,
			topicKey: query.topic ?? null,
			kind: query.kind,
			businessUnit: query.businessUnit,
			readableUnits: principal.businessUnits,
			unitOfUser: ownUnit
				? (found) => {
						const businessUnit = found ?? query.businessUnit;
						assertBusinessUnit(principal, businessUnit);
						return businessUnit;
					}
				: undefined,
		});
		return c.json(result as NonNullable<typeof result>, 200);
	})
	.openapi(postBatch, async (c) => {
		const body = c.req.valid("json");
		assertBusinessUnit(c.var.principal, body.businessUnit);
		const results = await answerCheck(c.env, readDatabase(c.env, sentBookmark(c)), body.recipients, {
			channel: body.channel,
			topicKey: body.topic ?? null,
			kind: body.kind,
			businessUnit: body.businessUnit,
			readableUnits: c.var.principal.businessUnits,
		});
		let allowedCount = 0;
		for (const result of results) if (result.allowed) allowedCount++;
		return c.json({ results: results.map(({ allowed, reason }) => ({ allowed, reason })), allowedCount }, 200);
	});
