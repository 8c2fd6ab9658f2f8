import { createRoute, z } from "@hono/zod-openapi";
import { normalizeAddress } from "../consent/normalize";
import { assertAllBusinessUnits, requireScope } from "../http/auth";
import { invalid, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { bearerSecurity, errorResponses, jsonResponse } from "./schemas";

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
	tags,
	summary: "Block a bare email or phone",
	description,
	security: bearerSecurity,
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
	tags,
	summary: "Is this bare address blocked?",
	security: bearerSecurity,
	middleware: [requireScope("contacts:read")] as const,
	request: { params },
	responses: { 200: jsonResponse(BlockSchema, "Blocked"), ...errorResponses },
});

const deleteBlock = createRoute({
	method: "delete",
	path: "/v1/blocklist/{address}",
	tags,
	summary: "Unblock a bare email or phone",
	security: bearerSecurity,
	middleware: [requireScope("contacts:write")] as const,
	request: { params },
	responses: { 204: { description: "Unblocked" }, ...errorResponses },
});

type BlockRow = { address: string; kind: "email" | "phone"; created_at: string };
const toJson = (row: BlockRow) => ({ address: row.address, kind: row.kind, createdAt: row.created_at });

export const blocklistRouter = createRouter()
	.openapi(putBlock, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { kind, value } = addressFrom(c.req.valid("param").address);
		const [inserted, current] = await c.env.DB.batch<BlockRow>([
			c.env.DB.prepare("INSERT INTO blocklist (address, kind) VALUES (?, ?) ON CONFLICT DO NOTHING").bind(value, kind),
			c.env.DB.prepare("SELECT * FROM blocklist WHERE address = ?").bind(value),
		]);
		return c.json(toJson(current?.results[0] as BlockRow), inserted?.meta.changes ? 201 : 200);
	})
	.openapi(getBlock, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { value } = addressFrom(c.req.valid("param").address);
		const row = await c.env.DB.prepare("SELECT * FROM blocklist WHERE address = ?").bind(value).first<BlockRow>();
		if (!row) throw notFound("Blocked address");
		return c.json(toJson(row), 200);
	})
	.openapi(deleteBlock, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { value } = addressFrom(c.req.valid("param").address);
		const { meta } = await c.env.DB.prepare("DELETE FROM blocklist WHERE address = ?").bind(value).run();
		if (meta.changes === 0) throw notFound("Blocked address");
		return c.body(null, 204);
	});
