/**
 * `/crossengage`: the calls of CrossEngage's user management, answered by the native write path,
 * so that a sender moving over changes only the base URL and the key. Users and leads are upserted
 * as by PUT /v1/users and /v1/leads, then their `optOut` and the traits that stand for topics are
 * recorded as native events; events are recorded as by POST /v1/events. Everything is validated
 * before the first write.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type Contact, toContactJson } from "../api/contact-json";
import {
	bearerScopes,
	ContactSchema,
	conflictResponse,
	ExternalIdSchema,
	errorResponses,
	jsonBody,
	jsonResponse,
} from "../api/schemas";
import { DEFAULT_BUSINESS_UNIT } from "../consent/normalize";
import { type Confirmation, linkBaseFor, recordEvents, requestContext } from "../contacts/record-events";
import { type UpsertResult, upsertLead, upsertUser } from "../contacts/upsert";
import { findContact, findOrCreateLead } from "../db/contacts";
import { loadTopics } from "../db/topics";
import { assertBusinessUnit, requireScope, type Scope } from "../http/auth";
import { noteBookmark } from "../http/bookmark";
import { invalid, notFound } from "../http/errors";
import { type AppEnv, createRouter } from "../http/router";
import { EventsBodySchema, LeadBodySchema, UserBodySchema } from "./schemas";
import {
	mappedTraitProblems,
	maySubscribe,
	nativeEvent,
	profileEvents,
	splitProfile,
	topicsByTrait,
} from "./translate";

export const CROSSENGAGE_TAG = "CrossEngage compatibility";
/** The security scheme of the `X-XNG-AuthToken` header (registered with the document in src/app.ts). */
export const XNG_SECURITY_SCHEME = "xngAuthToken";

/** A bearer key or an `X-XNG-AuthToken` key, with the route's scope. */
const security = (scope: Scope) => [...bearerScopes(scope), { [XNG_SECURITY_SCHEME]: [scope] }];
const keyFrom = { xngAuthToken: true };

const userParams = z.object({
	id: ExternalIdSchema.openapi({
		param: { name: "id", in: "path" },
		description: "The user's id (your externalId).",
		example: "USERID",
	}),
});

const ProfileResponseSchema = ContactSchema.extend({
	confirmations: z.array(z.object({ topic: z.string(), confirmUrl: z.string() })).openapi({
		description:
			"For traits that put a double-opt-in topic pending: the service's signed confirmation link of each, for the confirmation mail.",
	}),
}).openapi("CrossEngageContact");

const profileConflicts = conflictResponse(
	"EXTERNAL_IDS_MISMATCH: the email or phone belongs to another user (leads: the lead has become a user); CONFLICT: to another contact; CONFIGURATION_REQUIRED: a trait subscribes and PUBLIC_BASE_URL is not set",
);

const putUser = createRoute({
	method: "put",
	path: "/crossengage/users/{id}",
	operationId: "crossEngageUpsertUser",
	tags: [CROSSENGAGE_TAG],
	summary: "Create or update a user (CrossEngage)",
	description:
		"CrossEngage's user update: PUT /v1/users/{externalId} with the traits at the top level of the body. " +
		"The body's `id`, when given, must be the path's. `optOut` and the traits that stand for topics become native events " +
		"(every one in the ledger, source `api`, with the trait and value in its properties), after the profile is written; " +
		"a bad value of either writes nothing. The answer is the native contact, with `confirmations`: the service's signed confirmation link of each double-opt-in topic a trait put pending.",
	security: security("contacts:write"),
	middleware: [requireScope("contacts:write", keyFrom)] as const,
	request: {
		params: userParams,
		// The multi-newsletter sign-up of CrossEngage's subscription guide.
		body: jsonBody(UserBodySchema, {
			id: "USERID",
			email: "",
			businessUnit: "de",
			newsletterKids: "pending",
			newsletterPets: "pending",
			newsletterShoes: "pending",
		}),
	},
	responses: {
		200: jsonResponse(ProfileResponseSchema, "Updated: the user after its events"),
		201: jsonResponse(ProfileResponseSchema, "Created (a new user, or a lead that became this user)"),
		409: profileConflicts,
		...errorResponses,
	},
});

const putLead = createRoute({
	method: "put",
	path: "/crossengage/leads",
	operationId: "crossEngageUpsertLead",
	tags: [CROSSENGAGE_TAG],
	summary: "Create or update a lead (CrossEngage)",
	description:
		"CrossEngage's lead update: PUT /v1/leads with the traits at the top level of the body; `optOut` and traits that stand for topics as for users. " +
		"Once a user upsert has named the email and business unit, the contact is a user and this answers 409 EXTERNAL_IDS_MISMATCH.",
	security: security("contacts:write"),
	middleware: [requireScope("contacts:write", keyFrom)] as const,
	request: {
		body: jsonBody(LeadBodySchema, {
			email: "ann@example.de",
			businessUnit: "de",
			newsletterKids: "pending",
		}),
	},
	responses: {
		200: jsonResponse(ProfileResponseSchema, "Updated: the lead after its events"),
		201: jsonResponse(ProfileResponseSchema, "Created"),
		409: profileConflicts,
		...errorResponses,
	},
});

const postEvents = createRoute({
	method: "post",
	path: "/crossengage/events",
	operationId: "crossEngageRecordEvents",
	tags: [CROSSENGAGE_TAG],
	summary: "Record events for one contact (CrossEngage)",
	description:
		"CrossEngage's events call: POST /v1/events with `channel.type` for the channel. Up to 100 events, applied in order, all or none. " +
		"An unknown id answers 404; an unknown email or phone in the business unit creates a lead.",
	security: security("events:write"),
	middleware: [requireScope("events:write", keyFrom)] as const,
	request: {
		// The confirmation step of CrossEngage's subscription guide.
		body: jsonBody(EventsBodySchema, {
			id: "USERID",
			events: [{ event: "Confirmed Subscription" }, { event: "Opt In", "channel.type": "MAIL" }],
		}),
	},
	responses: { 200: jsonResponse(ContactSchema, "The contact after the events"), ...errorResponses },
});

/**
 * Writes a profile and then the events its traits and optOut stand for. Every check that can refuse
 * the request (the mapped traits' values, the origin of confirmation links) runs before `upsert`.
 */
async function applyProfile(
	c: Context<AppEnv>,
	businessUnit: string,
	body: Record<string, unknown> & { optOut?: boolean },
	upsert: (traits: Record<string, unknown>) => Promise<UpsertResult>,
): Promise<{ created: boolean; contact: Contact; confirmations: Confirmation[] }> {
	const { traits } = splitProfile(body);
	const topics = await loadTopics(c.env);
	const byTrait = topicsByTrait(topics.values(), businessUnit);
	const problems = mappedTraitProblems(traits, byTrait).map(({ key, message }) => ({ path: `json.${key}`, message }));
	if (problems[0]) throw invalid(`${problems[0].path}: ${problems[0].message}`, problems);
	const linkBase = linkBaseFor(c.env, c.req.raw);
	if (maySubscribe(traits, byTrait)) linkBase(); // 409 CONFIGURATION_REQUIRED now, not after the upsert

	const upserted = await upsert(traits);
	noteBookmark(c, upserted.bookmark);
	const events = profileEvents(traits, byTrait, upserted.contact.consent, body.optOut);
	if (events.length === 0) return { created: upserted.created, contact: upserted.contact, confirmations: [] };
	const { contact } = upserted;
	const recorded = await recordEvents(
		c.env,
		{ businessUnit: contact.businessUnit, contact: async () => contact },
		events,
		requestContext(c.req.raw, "api"),
		linkBase,
		topics,
	);
	noteBookmark(c, recorded.bookmark);
	return { created: upserted.created, contact: recorded.contact, confirmations: recorded.confirmations };
}

export const crossEngageRouter = createRouter()
	.openapi(putUser, async (c) => {
		const { id } = c.req.valid("param");
		const body = c.req.valid("json");
		if (body.id !== undefined && body.id !== id) {
			const message = `the body's id "${body.id}" is not the path's id "${id}": both name the same user`;
			throw invalid(`json.id: ${message}`, [{ path: "json.id", message }]);
		}
		const principal = c.var.principal;
		const existing = await findContact(c.env, { externalId: id });
		if (existing) assertBusinessUnit(principal, existing.businessUnit);
		const businessUnit = body.businessUnit ?? existing?.businessUnit ?? DEFAULT_BUSINESS_UNIT;
		assertBusinessUnit(principal, businessUnit);
		const { email, phone } = body;
		const { created, contact, confirmations } = await applyProfile(c, businessUnit, body, (traits) =>
			upsertUser(c.env, id, { email, phone, businessUnit: body.businessUnit, traits }),
		);
		return c.json({ ...toContactJson(contact), confirmations }, created ? 201 : 200);
	})
	.openapi(putLead, async (c) => {
		const body = c.req.valid("json");
		const businessUnit = body.businessUnit ?? DEFAULT_BUSINESS_UNIT;
		assertBusinessUnit(c.var.principal, businessUnit);
		const { email, phone } = body;
		const { created, contact, confirmations } = await applyProfile(c, businessUnit, body, (traits) =>
			upsertLead(c.env, { email, phone, businessUnit, traits }),
		);
		return c.json({ ...toContactJson(contact), confirmations }, created ? 201 : 200);
	})
	.openapi(postEvents, async (c) => {
		const body = c.req.valid("json");
		let target: Parameters<typeof recordEvents>[1];
		if (body.id !== undefined) {
			const contact = await findContact(c.env, { externalId: body.id });
			if (!contact) throw notFound("User");
			target = { businessUnit: contact.businessUnit, contact: async () => contact };
		} else {
			const businessUnit = body.businessUnit ?? DEFAULT_BUSINESS_UNIT;
			const subject =
				body.email !== undefined ? { email: body.email, businessUnit } : { phone: body.phone as string, businessUnit };
			target = { businessUnit, contact: () => findOrCreateLead(c.env, subject) };
		}
		assertBusinessUnit(c.var.principal, target.businessUnit);
		const events = body.events.map(({ "channel.type": channel, ...event }) => nativeEvent({ ...event, channel }));
		const result = await recordEvents(
			c.env,
			target,
			events,
			requestContext(c.req.raw, "api"),
			linkBaseFor(c.env, c.req.raw),
		);
		noteBookmark(c, result.bookmark);
		return c.json(toContactJson(result.contact), 200);
	});
