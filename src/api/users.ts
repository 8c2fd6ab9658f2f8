import { createRoute, z } from "@hono/zod-openapi";
import { ERASURE_DESCRIPTION, eraseContact } from "../contacts/erase";
import { upsertUser } from "../contacts/upsert";
import { findContact } from "../db/contacts";
import { loadHistory } from "../db/ledger";
import { assertBusinessUnit, requireScope } from "../http/auth";
import { noteBookmark } from "../http/bookmark";
import { notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { toContactJson } from "./contact-json";
import {
	BusinessUnitValueSchema,
	bearerScopes,
	ContactSchema,
	conflictResponse,
	EmailSchema,
	ExternalIdSchema,
	errorResponses,
	HistoryQuerySchema,
	HistorySchema,
	jsonBody,
	jsonResponse,
	PhoneSchema,
	TraitsSchema,
} from "./schemas";

const params = z.object({
	externalId: ExternalIdSchema.openapi({
		param: { name: "externalId", in: "path" },
		description: "Your id of the user.",
	}),
});

const UserUpsertSchema = z
	.strictObject({
		email: EmailSchema.nullable().optional(),
		businessUnit: BusinessUnitValueSchema.optional(),
		phone: PhoneSchema.nullable().optional(),
		traits: TraitsSchema.optional(),
	})
	.openapi("UserUpsert");

const putUser = createRoute({
	method: "put",
	path: "/v1/users/{externalId}",
	operationId: "upsertUser",
	tags: ["Users and leads"],
	summary: "Create or update a user",
	description:
		"Upserts the user. Naming the email (or phone) + business unit of an existing lead makes that lead this user, keeping its id and ledger. Naming those of a different user answers 409 EXTERNAL_IDS_MISMATCH. Traits merge into the user's: a key given is set, a key given as null is removed, keys not given keep their values.",
	security: bearerScopes("contacts:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: {
		params,
		body: jsonBody(UserUpsertSchema, {
			email: "ann@example.de",
			businessUnit: "de",
			phone: "+4917612345678",
			traits: { firstName: "Ann" },
		}),
	},
	responses: {
		200: jsonResponse(ContactSchema, "Updated"),
		201: jsonResponse(ContactSchema, "Created (new contact, or a lead that became this user)"),
		409: conflictResponse(
			"EXTERNAL_IDS_MISMATCH: the email or phone belongs to another user; CONFLICT: to another contact",
		),
		...errorResponses,
	},
});

const getUser = createRoute({
	method: "get",
	path: "/v1/users/{externalId}",
	operationId: "getUser",
	tags: ["Users and leads"],
	summary: "A user with its consent state",
	description:
		"The user with its consent state: per channel opted out and bounced, per topic the effective status, and whether it is blocked. 404 when no user has this externalId.",
	security: bearerScopes("contacts:read"),
	middleware: [requireScope("contacts:read")] as const,
	request: { params },
	responses: { 200: jsonResponse(ContactSchema, "The user"), ...errorResponses },
});

const getUserHistory = createRoute({
	method: "get",
	path: "/v1/users/{externalId}/history",
	operationId: "getUserHistory",
	tags: ["Users and leads"],
	summary: "A user's consent ledger, oldest first",
	description:
		"One page of the user's ledger: every consent event recorded for it, with what it changed, where it came from and when. Page with `cursor`.",
	security: bearerScopes("contacts:read"),
	middleware: [requireScope("contacts:read")] as const,
	request: { params, query: HistoryQuerySchema },
	responses: { 200: jsonResponse(HistorySchema, "One page of ledger rows"), ...errorResponses },
});

const deleteUser = createRoute({
	method: "delete",
	path: "/v1/users/{externalId}",
	operationId: "eraseUser",
	tags: ["Users and leads"],
	summary: "Erase a user (GDPR art. 17)",
	description: ERASURE_DESCRIPTION,
	security: bearerScopes("contacts:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: { params },
	responses: { 204: { description: "Erased" }, ...errorResponses },
});

export const usersRouter = createRouter()
	.openapi(putUser, async (c) => {
		const { externalId } = c.req.valid("param");
		const body = c.req.valid("json");
		if (body.businessUnit) assertBusinessUnit(c.var.principal, body.businessUnit);
		const existing = await findContact(c.env, { externalId });
		if (existing) assertBusinessUnit(c.var.principal, existing.businessUnit);
		else assertBusinessUnit(c.var.principal, body.businessUnit ?? "default");
		const { created, contact, bookmark } = await upsertUser(c.env, externalId, body);
		noteBookmark(c, bookmark);
		return c.json(toContactJson(contact), created ? 201 : 200);
	})
	.openapi(getUser, async (c) => {
		const { externalId } = c.req.valid("param");
		const contact = await findContact(c.env, { externalId });
		if (!contact) throw notFound("User");
		assertBusinessUnit(c.var.principal, contact.businessUnit);
		return c.json(toContactJson(contact), 200);
	})
	.openapi(getUserHistory, async (c) => {
		const { externalId } = c.req.valid("param");
		const { cursor, limit } = c.req.valid("query");
		const contact = await findContact(c.env, { externalId });
		if (!contact) throw notFound("User");
		assertBusinessUnit(c.var.principal, contact.businessUnit);
		return c.json(await loadHistory(c.env, contact.id, cursor, limit), 200);
	})
	.openapi(deleteUser, async (c) => {
		const contact = await findContact(c.env, { externalId: c.req.valid("param").externalId });
		if (!contact) throw notFound("User");
		assertBusinessUnit(c.var.principal, contact.businessUnit);
		await eraseContact(c.env, contact.id, c.req.raw);
		return c.body(null, 204);
	});
