import { createRoute, z } from "@hono/zod-openapi";
import { insertApiKey, listApiKeys, revokeApiKey } from "../db/api-keys";
import { forgetCachedKeys, requireScope, SCOPES, sha256Hex } from "../http/auth";
import { ApiError, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { base64UrlEncode } from "../links/token";
import { BusinessUnitValueSchema, bearerScopes, errorResponses, jsonBody, jsonResponse } from "./schemas";

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
	operationId: "createApiKey",
	tags,
	summary: "Create an API key (shown once)",
	description:
		"A key with these scopes (`admin` includes every other), optionally limited to business units. The answer is the only time the key is shown: only its SHA-256 hash is stored. A key limited to business units makes keys limited to some of its units only.",
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: {
		body: jsonBody(KeyInputSchema, {
			name: "newsletter sender",
			scopes: ["consent:read", "links:write"],
			businessUnits: ["de"],
		}),
	},
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
	operationId: "listApiKeys",
	tags,
	summary: "List API keys (without the keys)",
	description: "A key limited to business units lists only keys limited to some of its units.",
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	responses: { 200: jsonResponse(z.object({ apiKeys: z.array(KeySchema) }), "Keys, newest first"), ...errorResponses },
});

const revokeKey = createRoute({
	method: "delete",
	path: "/v1/api-keys/{id}",
	operationId: "revokeApiKey",
	tags,
	summary: "Revoke an API key",
	description:
		"Takes effect at once here and within 10 seconds in every other isolate (keys are cached briefly). A key limited to business units revokes only keys limited to some of its units.",
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: {
		params: z.object({
			id: z
				.string()
				.uuid()
				.openapi({ param: { name: "id", in: "path" }, description: "The id of the key (not the key itself)." }),
		}),
	},
	responses: { 204: { description: "Revoked" }, ...errorResponses },
});

export const apiKeysRouter = createRouter()
	.openapi(createKey, async (c) => {
		const input = c.req.valid("json");
		const limit = c.var.principal.businessUnits;
		// A key never gets more reach than the key that makes it.
		if (limit && (!input.businessUnits || input.businessUnits.some((unit) => !limit.includes(unit)))) {
			throw new ApiError(403, "FORBIDDEN", "The new key may only name business units this key may use.");
		}
		const key = `ce_${base64UrlEncode(crypto.getRandomValues(new Uint8Array(32)))}`;
		const row = await insertApiKey(c.env, {
			name: input.name,
			keyHash: await sha256Hex(key),
			scopes: [...new Set(input.scopes)],
			businessUnits: input.businessUnits ? [...new Set(input.businessUnits)] : null,
		});
		return c.json({ ...row, key }, 201);
	})
	.openapi(listKeys, async (c) => {
		return c.json({ apiKeys: await listApiKeys(c.env, c.var.principal.businessUnits) }, 200);
	})
	.openapi(revokeKey, async (c) => {
		if (!(await revokeApiKey(c.env, c.req.valid("param").id, c.var.principal.businessUnits))) {
			throw notFound("API key");
		}
		forgetCachedKeys();
		return c.body(null, 204);
	});
