import { createRoute, z } from "@hono/zod-openapi";
import { ERASURE_DESCRIPTION, eraseContact } from "../contacts/erase";
import { findLead, upsertLead } from "../contacts/upsert";
import { loadHistory } from "../db/ledger";
import { assertBusinessUnit, requireScope } from "../http/auth";
import { noteBookmark } from "../http/bookmark";
import { notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { toContactJson } from "./contact-json";
import {
	BusinessUnitSchema,
	bearerScopes,
	ContactSchema,
	conflictResponse,
	EmailSchema,
	errorResponses,
	HistoryQuerySchema,
	HistorySchema,
	jsonBody,
	jsonResponse,
	PhoneSchema,
	TraitsSchema,
} from "./schemas";

const LeadUpsertSchema = z
	.strictObject({
		email: EmailSchema,
		businessUnit: BusinessUnitSchema,
		phone: PhoneSchema.nullable().optional(),
		traits: TraitsSchema.optional(),
	})
	.openapi("LeadUpsert");

const leadQuery = z.strictObject({ email: EmailSchema, businessUnit: BusinessUnitSchema });
const mismatchResponse = conflictResponse("EXTERNAL_IDS_MISMATCH: the lead has become a user");

const putLead = createRoute({
	method: "put",
	path: "/v1/leads",
	operationId: "upsertLead",
	tags: ["Users and leads"],
	summary: "Create or update a lead (a contact without externalId)",
	description:
		"Upserts the lead with this email in the business unit. Once PUT /v1/users has named the email, the contact is a user: this answers 409 EXTERNAL_IDS_MISMATCH. Traits merge into the lead's: a key given is set, a key given as null is removed, keys not given keep their values.",
	security: bearerScopes("contacts:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: {
		body: jsonBody(LeadUpsertSchema, {
			email: "ben@example.de",
			businessUnit: "de",
			traits: { source: "signup-form" },
		}),
	},
	responses: {
		200: jsonResponse(ContactSchema, "Updated"),
		201: jsonResponse(ContactSchema, "Created"),
		409: mismatchResponse,
		...errorResponses,
	},
});

const getLead = createRoute({
	method: "get",
	path: "/v1/leads",
	operationId: "getLead",
	tags: ["Users and leads"],
	summary: "A lead with its consent state",
	description:
		"The lead with this email in the business unit. 404 when there is none; 409 EXTERNAL_IDS_MISMATCH when the contact has become a user (use GET /v1/users/{externalId}).",
	security: bearerScopes("contacts:read"),
	middleware: [requireScope("contacts:read")] as const,
	request: { query: leadQuery },
	responses: { 200: jsonResponse(ContactSchema, "The lead"), 409: mismatchResponse, ...errorResponses },
});

const getLeadHistory = createRoute({
	method: "get",
	path: "/v1/leads/history",
	operationId: "getLeadHistory",
	tags: ["Users and leads"],
	summary: "A lead's consent ledger, oldest first",
	description: "One page of the lead's ledger, as for a user. Page with `cursor`.",
	security: bearerScopes("contacts:read"),
	middleware: [requireScope("contacts:read")] as const,
	request: { query: leadQuery.extend(HistoryQuerySchema.shape) },
	responses: { 200: jsonResponse(HistorySchema, "One page of ledger rows"), 409: mismatchResponse, ...errorResponses },
});

const deleteLead = createRoute({
	method: "delete",
	path: "/v1/leads",
	operationId: "eraseLead",
	tags: ["Users and leads"],
	summary: "Erase a lead (GDPR art. 17)",
	description: ERASURE_DESCRIPTION,
	security: bearerScopes("contacts:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: { query: leadQuery },
	responses: { 204: { description: "Erased" }, 409: mismatchResponse, ...errorResponses },
});

export const leadsRouter = createRouter()
	.openapi(putLead, async (c) => {
		const body = c.req.valid("json");
		assertBusinessUnit(c.var.principal, body.businessUnit);
		const { created, contact, bookmark } = await upsertLead(c.env, body);
		noteBookmark(c, bookmark);
		return c.json(toContactJson(contact), created ? 201 : 200);
	})
	.openapi(getLead, async (c) => {
		const { email, businessUnit } = c.req.valid("query");
		assertBusinessUnit(c.var.principal, businessUnit);
		const contact = await findLead(c.env, email, businessUnit);
		if (!contact) throw notFound("Lead");
		return c.json(toContactJson(contact), 200);
	})
	.openapi(getLeadHistory, async (c) => {
		const { email, businessUnit, cursor, limit } = c.req.valid("query");
		assertBusinessUnit(c.var.principal, businessUnit);
		const contact = await findLead(c.env, email, businessUnit);
		if (!contact) throw notFound("Lead");
		return c.json(await loadHistory(c.env, contact.id, cursor, limit), 200);
	})
	.openapi(deleteLead, async (c) => {
		const { email, businessUnit } = c.req.valid("query");
		assertBusinessUnit(c.var.principal, businessUnit);
		const contact = await findLead(c.env, email, businessUnit);
		if (!contact) throw notFound("Lead");
		await eraseContact(c.env, contact.id, c.req.raw);
		return c.body(null, 204);
	});
