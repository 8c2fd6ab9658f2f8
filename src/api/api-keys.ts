import { createRoute, z } from "@hono/zod-openapi";
import { forgetCachedKeys, type Principal, requireScope, SCOPES, sha256Hex } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { base64UrlEncode } from "../links/token";
import { BusinessUnitValueSchema, bearerSecurity, errorResponses, jsonBody, jsonResponse } from "./schemas";

const KeyInputSchema = z
	.strictObject({
		name: z.string().trim().min(1).max(200),
		scopes: z.array(z.enum(SCOPES)).min(1),
		businessUnits: z.array(BusinessUnitValueSchema).min(1).max(100).optional().openapi({
			description: "Limit the key to these business units; omit for all.",
		}),
	})
	.openapi("ApiKeyInput");

const KeySchema = z
	.object({
		id: z.string(),
		name: z.string(),
		scopes: z.array(z.string()),
		businessUnits: z.array(z.string()).nullable(),
		createdAt: z.string(),
		revokedAt: z.string().nullable(),
	})
	.openapi("ApiKey");

const tags = ["API keys"];

const createKey = createRoute({
	method: "post",
	path: "/v1/api-keys",
	tags,
	summary: "Create an API key (shown once)",
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: { body: jsonBody(KeyInputSchema) },
	responses: {
		201: jsonResponse(
			KeySchema.extend({ key: z.string() }).openapi("NewApiKey"),
			"The key; store it now, it is kept only hashed",
		),
		...errorResponses,
	},
});

const listKeys = createRoute({
	method: "get",
	path: "/v1/api-keys",
	tags,
	summary: "List API keys (without the keys)",
	description: "A key limited to business units lists only keys limited to some of its units.",
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	responses: { 200: jsonResponse(z.object({ apiKeys: z.array(KeySchema) }), "Keys, newest first"), ...errorResponses },
});

const revokeKey = createRoute({
	method: "delete",
	path: "/v1/api-keys/{id}",
	tags,
	summary: "Revoke an API key",
	description:
		"Takes effect at once here and within 10 seconds in every other isolate (keys are cached briefly). A key limited to business units revokes only keys limited to some of its units.",
	security: bearerSecurity,
	middleware: [requireScope("admin")] as const,
	request: {
		params: z.object({
			id: z
				.string()
				.uuid()
				.openapi({ param: { name: "id", in: "path" } }),
		}),
	},
	responses: { 204: { description: "Revoked" }, ...errorResponses },
});

interface KeyRow {
	id: string;
	name: string;
	scopes: string;
	business_units: string | null;
	created_at: string;
	revoked_at: string | null;
}
const toJson = (row: KeyRow) => ({
	id: row.id,
	name: row.name,
	scopes: JSON.parse(row.scopes) as string[],
	businessUnits: row.business_units ? (JSON.parse(row.business_units) as string[]) : null,
	createdAt: row.created_at,
	revokedAt: row.revoked_at,
});

/**
 * A key limited to business units manages only keys limited to some of its units; keys
 * without limits, and keys reaching other units, need an unlimited key. ?1: the units as JSON, or null.
 */
const MANAGEABLE = `(?1 IS NULL OR (business_units IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM json_each(business_units) u WHERE u.value NOT IN (SELECT value FROM json_each(?1)))))`;

const unitsOf = (principal: Principal) => (principal.businessUnits ? JSON.stringify(principal.businessUnits) : null);

export const apiKeysRouter = createRouter()
	.openapi(createKey, async (c) => {
		const input = c.req.valid("json");
		const limit = c.var.principal.businessUnits;
		// A key never gets more reach than the key that makes it.
		if (limit && (!input.businessUnits || input.businessUnits.some((unit) => !limit.includes(unit)))) {
			throw new ApiError(403, "FORBIDDEN", "The new key may only name business units this key may use.");
		}
		const key = `ce_${base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
		const row = await c.env.DB.prepare(
			"INSERT INTO api_keys (id, name, key_hash, scopes, business_units) VALUES (?, ?, ?, ?, ?) RETURNING *",
		)
			.bind(
				crypto.randomUUID(),
				input.name,
				await sha256Hex(key),
				JSON.stringify([...new Set(input.scopes)]),
				input.businessUnits ? JSON.stringify([...new Set(input.businessUnits)]) : null,
			)
			.first<KeyRow>();
		return c.json({ ...toJson(row as KeyRow), key }, 201);
	})
	.openapi(listKeys, async (c) => {
		const { results } = await c.env.DB.prepare(
			`SELECT id, name, scopes, business_units, created_at, revoked_at FROM api_keys
			 WHERE ${MANAGEABLE} ORDER BY created_at DESC`,
		)
			.bind(unitsOf(c.var.principal))
			.all<KeyRow>();
		return c.json({ apiKeys: results.map(toJson) }, 200);
	})
	.openapi(revokeKey, async (c) => {
		const { meta } = await c.env.DB.prepare(
			`UPDATE api_keys SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
			 WHERE id = ?2 AND revoked_at IS NULL AND ${MANAGEABLE}`,
		)
			.bind(unitsOf(c.var.principal), c.req.valid("param").id)
			.run();
		if (meta.changes === 0) throw notFound("API key");
		forgetCachedKeys();
		return c.body(null, 204);
	});
