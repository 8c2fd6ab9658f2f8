import { createRoute, z } from "@hono/zod-openapi";
import { claimDeadLetter, discardDeadLetter, findDeadLetters, restoreDeadLetter } from "../db/dead-letters";
import { requireScope } from "../http/auth";
import { notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { type QueueMessage, queueFor } from "../queues";
import { bearerScopes, errorResponses, jsonResponse } from "./schemas";

const tags = ["Dead letters"];
const description =
	"Queue messages (provider events, outbound webhooks) that failed every retry, or could never apply. " +
	"Inspect them, fix the cause, then replay (back onto their queue; provider events are idempotent) or discard. A key limited to business units sees only messages about its units.";

const DeadLetterSchema = z
	.object({
		id: z.number().int(),
		queue: z.enum(["webhook-events", "outbound"]),
		body: z.unknown().openapi({ description: "The message as it was queued." }),
		attempts: z.number().int(),
		businessUnit: z
			.string()
			.nullable()
			.openapi({ description: "The business unit the message is about, if it names one." }),
		createdAt: z.string(),
	})
	.openapi("DeadLetter");

const params = z.object({
	id: z.coerce
		.number()
		.int()
		.positive()
		.openapi({ param: { name: "id", in: "path" }, example: 1, description: "The id of the dead letter." }),
});

const listDeadLetters = createRoute({
	method: "get",
	path: "/v1/dead-letters",
	operationId: "listDeadLetters",
	tags,
	summary: "Messages that failed every retry, oldest first",
	description,
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: {
		query: z.strictObject({
			after: z.coerce.number().int().min(0).default(0).openapi({ description: "Only ids after this (paging)." }),
			limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: "At most this many." }),
		}),
	},
	responses: {
		200: jsonResponse(z.object({ deadLetters: z.array(DeadLetterSchema) }).openapi("DeadLetters"), "Dead letters"),
		...errorResponses,
	},
});

const replayDeadLetter = createRoute({
	method: "post",
	path: "/v1/dead-letters/{id}/replay",
	operationId: "replayDeadLetter",
	tags,
	summary: "Send a dead letter back to its queue",
	description,
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: { params },
	responses: { 202: { description: "Queued again and removed from the dead letters" }, ...errorResponses },
});

const deleteDeadLetter = createRoute({
	method: "delete",
	path: "/v1/dead-letters/{id}",
	operationId: "discardDeadLetter",
	tags,
	summary: "Discard a dead letter",
	description:
		"Deletes the message without sending it again. 404 when it is gone or about a business unit this key may not use.",
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: { params },
	responses: { 204: { description: "Discarded" }, ...errorResponses },
});

export const deadLettersRouter = createRouter()
	.openapi(listDeadLetters, async (c) => {
		const { after, limit } = c.req.valid("query");
		return c.json({ deadLetters: await findDeadLetters(c.env, { after, limit }, c.var.principal.businessUnits) }, 200);
	})
	.openapi(replayDeadLetter, async (c) => {
		const { id } = c.req.valid("param");
		// Claimed by the DELETE first: two concurrent replays queue the message once.
		const letter = await claimDeadLetter(c.env, id, c.var.principal.businessUnits);
		if (!letter) throw notFound("Dead letter");
		const message = letter.body as QueueMessage;
		try {
			await queueFor(c.env, message).send(message);
		} catch (error) {
			await restoreDeadLetter(c.env, letter);
			throw error;
		}
		return c.body(null, 202);
	})
	.openapi(deleteDeadLetter, async (c) => {
		const { id } = c.req.valid("param");
		if (!(await discardDeadLetter(c.env, id, c.var.principal.businessUnits))) throw notFound("Dead letter");
		return c.body(null, 204);
	});
