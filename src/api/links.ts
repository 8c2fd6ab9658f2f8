import { createRoute, z } from "@hono/zod-openapi";
import { topicAvailableIn } from "../consent/topics";
import type { Channel, TopicDefinition } from "../consent/types";
import { linkBaseFor } from "../contacts/record-events";
import { businessUnitsOf } from "../db/contacts";
import { findTopic } from "../db/topics";
import { type Bindings, getConfig } from "../env";
import type { Principal } from "../http/auth";
import { requireScope } from "../http/auth";
import { ApiError, type FieldError, invalid } from "../http/errors";
import { createRouter } from "../http/router";
import {
	type LinkScope,
	type Links,
	linkBuilder,
	MAX_CAMPAIGN_LENGTH,
	MAX_CONTACT_ID_LENGTH,
	manageClaims,
	normalizeMailto,
	ONE_CLICK,
} from "../links/links";
import type { LinkSubject } from "../links/token";

import {
	BusinessUnitSchema,
	BusinessUnitValueSchema,
	bearerScopes,
	ChannelSchema,
	EmailSchema,
	ExternalIdSchema,
	errorResponses,
	jsonBody,
	jsonResponse,
	linkConfigurationResponse,
	PhoneSchema,
	TopicKeySchema,
} from "./schemas";

export const MAX_LINK_BATCH = 10_000;

const noControlCharacters = (value: string) => !/\p{Cc}/u.test(value);

const RecipientBusinessUnitSchema = BusinessUnitValueSchema.optional().openapi({
	type: "string",
	example: "de",
	description: 'Business unit of the email or phone; "default" (or the batch\'s businessUnit) when omitted.',
});

const LinkRecipientSchema = z
	.union([
		z.strictObject({ externalId: ExternalIdSchema }),
		z.strictObject({ email: EmailSchema, businessUnit: RecipientBusinessUnitSchema }),
		z.strictObject({ phone: PhoneSchema, businessUnit: RecipientBusinessUnitSchema }),
		z.strictObject({
			contactId: z
				.string()
				.min(1)
				.max(MAX_CONTACT_ID_LENGTH)
				.refine(noControlCharacters, "no control characters")
				.openapi({ description: "The contact's id as the API shows it." }),
		}),
	])
	.openapi("LinkRecipient", {
		description: "{externalId}, {email, businessUnit?}, {phone, businessUnit?} or {contactId}",
	});
type LinkRecipient = z.infer<typeof LinkRecipientSchema>;

const scopeFields = {
	channel: ChannelSchema.optional().openapi({
		description: "The channel a one-click unsubscribes from; with neither channel nor topic: every channel.",
	}),
	topic: TopicKeySchema.optional().openapi({
		description: "A topic: a one-click unsubscribes from that topic only. Must exist (and match channel).",
	}),
	campaign: z
		.string()
		.min(1)
		.max(MAX_CAMPAIGN_LENGTH)
		.refine(noControlCharacters, "no control characters")
		.optional()
		.openapi({ example: "nov-2026", description: "Campaign id, recorded with the unsubscribe." }),
};

const LinksRequestSchema = z.strictObject({ recipient: LinkRecipientSchema, ...scopeFields }).openapi("LinksRequest");

const LinksBatchRequestSchema = z
	.strictObject({
		...scopeFields,
		businessUnit: BusinessUnitSchema.openapi({
			type: "string",
			example: "de",
			description: 'For recipients named by email or phone without their own; "default" when omitted.',
		}),
		recipients: z.array(LinkRecipientSchema).min(1).max(MAX_LINK_BATCH),
	})
	.openapi("LinksBatchRequest");

const LinksSchema = z
	.object({
		unsubscribeUrl: z.string().openapi({ description: "BASE/u/TOKEN: the unsubscribe page and RFC 8058 endpoint." }),
		preferencesUrl: z.string().openapi({ description: "BASE/p/TOKEN: the preference center." }),
		headers: z
			.object({
				"List-Unsubscribe": z.string().openapi({ example: "<https://consent.example.com/u/k1.eyJw…>" }),
				"List-Unsubscribe-Post": z.literal(ONE_CLICK),
			})
			.openapi({ description: "Set both on the message, and sign both with DKIM (RFC 8058)." }),
	})
	.openapi("Links");

const linksDescription =
	"Manage tokens (no expiry) for the unsubscribe page and the preference center, and the List-Unsubscribe headers " +
	"(the https URI first; with LIST_UNSUBSCRIBE_MAILTO set, its mailto URI after it, the token at the end of the " +
	"subject: `mailto:unsubscribe@example.com?subject=unsubscribe%20TOKEN`, which the service's email handler " +
	"applies like a one-click). URLs start with PUBLIC_BASE_URL; without it, " +
	"only a request to localhost or a loopback address gets links (its own origin), any other 409 CONFIGURATION_REQUIRED. " +
	"The same links can be made offline with the `@consent-edge/links` package.";

const postLinks = createRoute({
	method: "post",
	path: "/v1/links",
	operationId: "createLinks",
	tags: ["Links"],
	summary: "Unsubscribe and preference links for one recipient",
	description: linksDescription,
	security: bearerScopes("links:write"),
	middleware: [requireScope("links:write")] as const,
	request: {
		body: jsonBody(LinksRequestSchema, {
			recipient: { externalId: "u1" },
			topic: "newsletter-kids",
			campaign: "nov-2026",
		}),
	},
	responses: {
		200: jsonResponse(LinksSchema, "The links and headers"),
		409: linkConfigurationResponse,
		...errorResponses,
	},
});

const postLinksBatch = createRoute({
	method: "post",
	path: "/v1/links/batch",
	operationId: "createLinksBatch",
	tags: ["Links"],
	summary: "Links for up to 10,000 recipients with one scope",
	description: linksDescription,
	security: bearerScopes("links:write"),
	middleware: [requireScope("links:write")] as const,
	request: {
		body: jsonBody(LinksBatchRequestSchema, {
			channel: "email",
			campaign: "nov-2026",
			businessUnit: "de",
			recipients: [{ externalId: "u1" }, { email: "ann@example.de" }, { phone: "+4917612345678", businessUnit: "at" }],
		}),
	},
	responses: {
		200: jsonResponse(
			z.object({ links: z.array(LinksSchema) }).openapi("LinksBatchResult"),
			"One entry per recipient, in input order",
		),
		409: linkConfigurationResponse,
		...errorResponses,
	},
});

function subjectOf(recipient: LinkRecipient, defaultBusinessUnit: string): LinkSubject {
	if ("externalId" in recipient) return { externalId: recipient.externalId };
	if ("contactId" in recipient) return { contactId: recipient.contactId };
	const businessUnit = recipient.businessUnit ?? defaultBusinessUnit;
	return "email" in recipient ? { email: recipient.email, businessUnit } : { phone: recipient.phone, businessUnit };
}

/**
 * Checks the links a request asks for: the topic exists and belongs to the channel (400), every
 * recipient is in a business unit the key may use (403) and may have that topic (400). Users and
 * contacts named by id are placed with one D1 statement, and only when a key limit or a
 * business-unit topic needs it; a limited key cannot make links for ids it cannot place.
 */
async function checkLinks(
	env: Bindings,
	principal: Principal,
	subjects: LinkSubject[],
	scope: LinkScope,
	pathOf: (index: number) => string,
): Promise<void> {
	let topic: TopicDefinition | null = null;
	if (scope.topic) {
		topic = await findTopic(env, scope.topic);
		if (!topic) throw invalid(`unknown topic "${scope.topic}"`, [{ path: "topic", message: "unknown topic" }]);
		if (scope.channel && topic.channel !== scope.channel) {
			const message = `topic "${topic.key}" belongs to channel "${topic.channel}", not "${scope.channel}"`;
			throw invalid(message, [{ path: "channel", message }]);
		}
	}
	const limits = principal.businessUnits;
	const topicUnit = topic?.businessUnit ?? null;
	if (!limits && topicUnit === null) return;

	const needsLookup = subjects.some((subject) => "externalId" in subject || "contactId" in subject);
	const placed = needsLookup
		? await businessUnitsOf(env, {
				externalIds: subjects.flatMap((subject) => ("externalId" in subject ? [subject.externalId] : [])),
				contactIds: subjects.flatMap((subject) => ("contactId" in subject ? [subject.contactId] : [])),
			})
		: null;
	const forbidden: FieldError[] = [];
	const unavailable: FieldError[] = [];
	subjects.forEach((subject, index) => {
		const unit =
			"businessUnit" in subject
				? subject.businessUnit
				: "externalId" in subject
					? placed?.byExternalId.get(subject.externalId)
					: placed?.byContactId.get(subject.contactId);
		if (limits && (unit === undefined || !limits.includes(unit))) {
			forbidden.push({
				path: pathOf(index),
				message:
					unit === undefined
						? "unknown contact: a key limited to business units makes links only for contacts it can place"
						: `business unit "${unit}" is not allowed for this key`,
			});
		} else if (topic && unit !== undefined && !topicAvailableIn(topic, unit)) {
			unavailable.push({
				path: pathOf(index),
				message: `topic "${topic.key}" is not available in business unit "${unit}"`,
			});
		}
	});
	if (forbidden.length > 0) {
		throw new ApiError(403, "FORBIDDEN", `${forbidden[0]?.path}: ${forbidden[0]?.message}`, forbidden);
	}
	if (unavailable.length > 0) throw invalid(`${unavailable[0]?.path}: ${unavailable[0]?.message}`, unavailable);
}

// LIST_UNSUBSCRIBE_MAILTO, normalized once per value. A bad value is logged and left out: the
// https URI alone satisfies RFC 8058, and sending must not stop over an optional header part.
let mailtoMemo: { raw: string | null; mailto: string | null } = { raw: null, mailto: null };

function mailtoFor(raw: string | null): string | null {
	if (raw !== mailtoMemo.raw) {
		let mailto: string | null = null;
		try {
			mailto = raw === null ? null : normalizeMailto(raw);
		} catch (error) {
			console.error(`LIST_UNSUBSCRIBE_MAILTO is ignored: ${(error as Error).message}`);
		}
		mailtoMemo = { raw, mailto };
	}
	return mailtoMemo.mailto;
}

/** Signs one manage token per subject (the key is imported once per isolate) and builds the links. */
async function makeLinks(env: Bindings, request: Request, subjects: LinkSubject[], scope: LinkScope): Promise<Links[]> {
	const config = getConfig(env);
	const signer = await config.linkSigner;
	const build = linkBuilder(linkBaseFor(env, request)(), mailtoFor(config.listUnsubscribeMailto));
	const issuedAt = Math.floor(Date.now() / 1000);
	const tokens = await Promise.all(subjects.map((subject) => signer.sign(manageClaims(subject, scope, issuedAt))));
	return tokens.map(build);
}

const scopeOf = (body: { channel?: Channel; topic?: string; campaign?: string }): LinkScope => ({
	channel: body.channel,
	topic: body.topic,
	campaign: body.campaign,
});

export const linksRouter = createRouter()
	.openapi(postLinks, async (c) => {
		const body = c.req.valid("json");
		const subjects = [subjectOf(body.recipient, "default")];
		const scope = scopeOf(body);
		await checkLinks(c.env, c.var.principal, subjects, scope, () => "recipient");
		const [links] = await makeLinks(c.env, c.req.raw, subjects, scope);
		return c.json(links as Links, 200);
	})
	.openapi(postLinksBatch, async (c) => {
		const body = c.req.valid("json");
		const subjects = body.recipients.map((recipient) => subjectOf(recipient, body.businessUnit));
		const scope = scopeOf(body);
		await checkLinks(c.env, c.var.principal, subjects, scope, (index) => `recipients.${index}`);
		return c.json({ links: await makeLinks(c.env, c.req.raw, subjects, scope) }, 200);
	});
