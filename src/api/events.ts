import { createRoute, z } from "@hono/zod-openapi";
import { linkBaseFor, recordEvents, requestContext } from "../contacts/record-events";
import { findContact, findOrCreateLead } from "../db/contacts";
import { assertBusinessUnit, requireScope } from "../http/auth";
import { noteBookmark } from "../http/bookmark";
import { notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { toContactJson } from "./contact-json";
import {
	BusinessUnitSchema,
	bearerScopes,
	ChannelSchema,
	ContactSchema,
	EmailSchema,
	ExternalIdSchema,
	errorResponses,
	JsonObjectSchema,
	jsonBody,
	jsonResponse,
	linkConfigurationResponse,
	PhoneSchema,
	TimestampSchema,
	TopicKeySchema,
} from "./schemas";

const EventSchema = z
	.strictObject({
		event: z.string().trim().min(1).max(100).openapi({
			example: "Opt Out",
			description:
				"System events (any case): Opt Out, Opt In, Subscribe, Confirm Subscription, Unsubscribe, Block, Unblock, Bounce, Complaint. Any other name is a custom event, recorded only.",
		}),
		channel: ChannelSchema.nullable()
			.optional()
			.openapi({ description: "No channel on Opt Out / Opt In: all channels." }),
		topic: TopicKeySchema.nullable().optional(),
		properties: JsonObjectSchema.optional().openapi({
			description:
				"reason and comment go to the ledger; Bounce needs type hard|soft; Opt In may set clearBounce. At most 16 KiB as JSON and 8 levels deep.",
		}),
		timestamp: TimestampSchema.optional().openapi({ description: "When it happened; later than now counts as now." }),
		idempotencyKey: z.string().min(1).max(256).nullable().optional(),
	})
	.openapi("Event");

const EventsRequestSchema = z
	.strictObject({
		id: ExternalIdSchema.optional().openapi({ description: "externalId of a user" }),
		externalId: ExternalIdSchema.optional().openapi({ description: "The same as id: the externalId of a user." }),
		email: EmailSchema.optional(),
		phone: PhoneSchema.optional(),
		businessUnit: BusinessUnitSchema,
		events: z.array(EventSchema).min(1).max(100),
	})
	.refine((body) => [body.id ?? body.externalId, body.email, body.phone].filter((v) => v !== undefined).length === 1, {
		message:
			"name the contact by exactly one of id (or externalId) for a user, email (with businessUnit) or phone (with businessUnit)",
		path: ["id"],
	})
	.refine((body) => body.id === undefined || body.externalId === undefined, {
		message: "id and externalId are the same field: give one",
		path: ["externalId"],
	})
	.openapi("EventsRequest");

const EventsResponseSchema = ContactSchema.extend({
	confirmations: z.array(z.object({ topic: z.string(), confirmUrl: z.string() })).openapi({
		description: "For Subscribe to double-opt-in topics still pending: the link for the confirmation message.",
	}),
	duplicates: z
		.number()
		.int()
		.openapi({ description: "Events skipped because their idempotencyKey was applied before." }),
}).openapi("EventsResponse");

const postEvents = createRoute({
	method: "post",
	path: "/v1/events",
	operationId: "recordEvents",
	tags: ["Events"],
	summary: "Record consent events for one contact",
	description:
		"Applies up to 100 events in order, all or none. Events for an unknown email or phone create a lead; an unknown externalId answers 404.",
	security: bearerScopes("events:write"),
	middleware: [requireScope("events:write")] as const,
	request: {
		body: jsonBody(EventsRequestSchema, {
			id: "u1",
			events: [
				{ event: "Subscribe", channel: "email", topic: "newsletter-kids", idempotencyKey: "signup-form-7f3a" },
				{ event: "Opt Out", channel: "sms", properties: { reason: "too_many_messages" } },
			],
		}),
	},
	responses: {
		200: jsonResponse(EventsResponseSchema, "The contact after the events"),
		409: linkConfigurationResponse,
		...errorResponses,
	},
});

export const eventsRouter = createRouter().openapi(postEvents, async (c) => {
	const body = c.req.valid("json");
	let target: { businessUnit: string; contact: () => Promise<import("./contact-json").Contact> };
	const externalId = body.id ?? body.externalId;
	if (externalId !== undefined) {
		const contact = await findContact(c.env, { externalId });
		if (!contact) throw notFound("User");
		target = { businessUnit: contact.businessUnit, contact: async () => contact };
	} else {
		const subject =
			body.email !== undefined
				? { email: body.email, businessUnit: body.businessUnit }
				: { phone: body.phone as string, businessUnit: body.businessUnit };
		target = { businessUnit: body.businessUnit, contact: () => findOrCreateLead(c.env, subject) };
	}
	assertBusinessUnit(c.var.principal, target.businessUnit);
	const result = await recordEvents(
		c.env,
		target,
		body.events,
		requestContext(c.req.raw, "api"),
		linkBaseFor(c.env, c.req.raw),
	);
	// The actor's own bookmark: the answer needs no extra read for one (src/http/bookmark.ts).
	noteBookmark(c, result.bookmark);
	return c.json(
		{ ...toContactJson(result.contact), confirmations: result.confirmations, duplicates: result.duplicates },
		200,
	);
});
