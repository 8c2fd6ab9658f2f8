import { createRoute, z } from "@hono/zod-openapi";
import { normalizeAddress } from "../consent/normalize";
import { blockAddress, findBlockedAddress, unblockAddress } from "../db/blocklist";
import { assertAllBusinessUnits, requireScope } from "../http/auth";
import { invalid, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { bearerScopes, errorResponses, jsonResponse } from "./schemas";

const params = z.object({
	address: z
		.string()
		.min(1)
		.max(320)
		.openapi({
			param: { name: "address", in: "path" },
			example: "ann@example.de",
			description: "An email or an E.164 phone",
		}),
});

const BlockSchema = z
	.object({ address: z.string(), kind: z.enum(["email", "phone"]), createdAt: z.string() })
	.openapi("BlockedAddress");

const tags = ["Blocklist"];
const description =
	"Bare addresses are blocked in every business unit, before or regardless of any contact: consent checks answer `blocked` even for transactional messages.";

function addressFrom(raw: string) {
	const address = normalizeAddress(raw);
	if (!address) throw invalid("param.address: not a valid email address or E.164 phone number");
	return address;
}

const putBlock = createRoute({
	method: "put",
	path: "/v1/blocklist/{address}",
	operationId: "blockAddress",
	tags,
	summary: "Block a bare email or phone",
	description,
	security: bearerScopes("contacts:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: { params },
	responses: {
		200: jsonResponse(BlockSchema, "Already blocked"),
		201: jsonResponse(BlockSchema, "Blocked"),
		...errorResponses,
	},
});

const getBlock = createRoute({
	method: "get",
	path: "/v1/blocklist/{address}",
	operationId: "getBlockedAddress",
	tags,
	summary: "Is this bare address blocked?",
	description: "Answers 404 when the address is not on the blocklist. Needs a key without business-unit limits.",
	security: bearerScopes("contacts:read"),
	middleware: [requireScope("contacts:read")] as const,
	request: { params },
	responses: { 200: jsonResponse(BlockSchema, "Blocked"), ...errorResponses },
});

const deleteBlock = createRoute({
	method: "delete",
	path: "/v1/blocklist/{address}",
	operationId: "unblockAddress",
	tags,
	summary: "Unblock a bare email or phone",
	description:
		"Takes the address off the blocklist; 404 when it was not on it. A contact blocked by a Block event stays blocked until an Unblock event. Needs a key without business-unit limits.",
	security: bearerScopes("contacts:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: { params },
	responses: { 204: { description: "Unblocked" }, ...errorResponses },
});

export const blocklistRouter = createRouter()
	.openapi(putBlock, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { entry, created } = await blockAddress(c.env, addressFrom(c.req.valid("param").address));
		return c.json(entry, created ? 201 : 200);
	})
	.openapi(getBlock, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const entry = await findBlockedAddress(c.env, addressFrom(c.req.valid("param").address).value);
		if (!entry) throw notFound("Blocked address");
		return c.json(entry, 200);
	})
	.openapi(deleteBlock, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		if (!(await unblockAddress(c.env, addressFrom(c.req.valid("param").address).value))) {
			throw notFound("Blocked address");
		}
		return c.body(null, 204);
	});
