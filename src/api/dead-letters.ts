import { createRoute, z } from "@hono/zod-openapi";
import { type Principal, requireScope } from "../http/auth";
import { notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { type QueueMessage, queueFor } from "../queues";
import { bearerSecurity, errorResponses, jsonResponse } from "./schemas";

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
		.openapi({ param: { name: "id", in: "path" }, example: 1 }),
});

const listDeadLetters = createRoute({
	method: "get",
	path: "/v1/dead-letters",
	tags,
	summary: "Messages that failed every retry, oldest first",
	description,
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: {
		query: z.strictObject({
			after: z.coerce.number().int().min(0).default(0).openapi({ description: "Only ids after this (paging)." }),
			limit: z.coerce.number().int().min(1).max(500).default(100),
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
	tags,
	summary: "Send a dead letter back to its queue",
	description,
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: { params },
	responses: { 202: { description: "Queued again and removed from the dead letters" }, ...errorResponses },
});

const deleteDeadLetter = createRoute({
	method: "delete",
	path: "/v1/dead-letters/{id}",
	tags,
	summary: "Discard a dead letter",
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: { params },
	responses: { 204: { description: "Discarded" }, ...errorResponses },
});

interface DeadLetterRow {
	id: number;
	queue: "webhook-events" | "outbound";
	body: string;
	attempts: number;
	created_at: string;
	business_unit: string | null;
}

const toJson = (row: DeadLetterRow) => ({
	id: row.id,
	queue: row.queue,
	body: JSON.parse(row.body) as unknown,
	attempts: row.attempts,
	businessUnit: row.business_unit,
	createdAt: row.created_at,
});

/**
 * Dead letters a key may manage: a key limited to business units only those about its units;
 * messages that name no unit need a key without limits. ?1: the units as JSON, or null.
 */
const MANAGEABLE = "(?1 IS NULL OR business_unit IN (SELECT value FROM json_each(?1)))";
const unitsOf = (principal: Principal) => (principal.businessUnits ? JSON.stringify(principal.businessUnits) : null);

export const deadLettersRouter = createRouter()
	.openapi(listDeadLetters, async (c) => {
		const { after, limit } = c.req.valid("query");
		const { results } = await c.env.DB.prepare(
			`SELECT * FROM dead_letters WHERE id > ?2 AND ${MANAGEABLE} ORDER BY id LIMIT ?3`,
		)
			.bind(unitsOf(c.var.principal), after, limit)
			.all<DeadLetterRow>();
		return c.json({ deadLetters: results.map(toJson) }, 200);
	})
	.openapi(replayDeadLetter, async (c) => {
		const { id } = c.req.valid("param");
		// Claimed by the DELETE first: two concurrent replays queue the message once.
		const row = await c.env.DB.prepare(`DELETE FROM dead_letters WHERE id = ?2 AND ${MANAGEABLE} RETURNING *`)
			.bind(unitsOf(c.var.principal), id)
			.first<DeadLetterRow>();
		if (!row) throw notFound("Dead letter");
		const message = JSON.parse(row.body) as QueueMessage;
		try {
			await queueFor(c.env, message).send(message);
		} catch (error) {
			await c.env.DB.prepare(
				"INSERT INTO dead_letters (id, queue, body, attempts, created_at, business_unit) VALUES (?, ?, ?, ?, ?, ?)",
			)
				.bind(row.id, row.queue, row.body, row.attempts, row.created_at, row.business_unit)
				.run();
			throw error;
		}
		return c.body(null, 202);
	})
	.openapi(deleteDeadLetter, async (c) => {
		const { id } = c.req.valid("param");
		const { meta } = await c.env.DB.prepare(`DELETE FROM dead_letters WHERE id = ?2 AND ${MANAGEABLE}`)
			.bind(unitsOf(c.var.principal), id)
			.run();
		if (meta.changes === 0) throw notFound("Dead letter");
		return c.body(null, 204);
	});
