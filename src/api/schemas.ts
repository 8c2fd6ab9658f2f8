import { z } from "@hono/zod-openapi";
import { DECISION_REASONS } from "../consent/decision";
import { normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import { jsonLimitProblem, MAX_JSON_BYTES, MAX_JSON_DEPTH } from "../consent/traits";
import { CHANNELS, MESSAGE_KINDS, TOPIC_STATUSES } from "../consent/types";
import type { Scope } from "../http/auth";

export const ChannelSchema = z.enum(CHANNELS).openapi({ description: "Message channel" });
export const KindSchema = z.enum(MESSAGE_KINDS).default("marketing").openapi({
	description:
		"`marketing` (default) or `transactional`: a transactional message is stopped only by a block, a `blocked` or `bounced` suppression or a bounce, not by opt-outs or topics.",
});

export const EmailSchema = z
	.string()
	.max(320)
	.transform((value, ctx) => {
		const email = normalizeEmail(value);
		if (!email) ctx.addIssue({ code: "custom", message: "not a valid email address" });
		return email ?? "";
	})
	.openapi({ type: "string", format: "email", example: "ann@example.de", description: "Trimmed and lower-cased." });

export const PhoneSchema = z
	.string()
	.max(32)
	.transform((value, ctx) => {
		const phone = normalizePhone(value);
		if (!phone) ctx.addIssue({ code: "custom", message: "not a valid E.164 phone number (+4917612345678)" });
		return phone ?? "";
	})
	.openapi({ type: "string", example: "+4917612345678", description: "E.164" });

const normalizeUnit = (value: string | undefined, ctx: z.RefinementCtx) => {
	const unit = normalizeBusinessUnit(value);
	if (!unit) ctx.addIssue({ code: "custom", message: "letters, digits, _ and -, at most 64" });
	return unit ?? "";
};

/** A business unit that must be given (where omitting it means "leave unchanged"). */
export const BusinessUnitValueSchema = z
	.string()
	.min(1)
	.max(64)
	.transform(normalizeUnit)
	.openapi({ type: "string", example: "de", description: "Business unit" });

/** A business unit that defaults to "default". */
export const BusinessUnitSchema = z
	.string()
	.max(64)
	.optional()
	.transform(normalizeUnit)
	.openapi({ type: "string", example: "de", description: 'Business unit; "default" when omitted.' });

export const ExternalIdSchema = z
	.string()
	.min(1)
	.max(256)
	// Invisible and direction-changing characters would let two ids look alike.
	.refine((value) => !/[\p{Cc}\p{Cf}]/u.test(value), "no control, invisible or bidi characters")
	.openapi({ example: "u1" });

export const TopicKeySchema = z
	.string()
	.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "lower-case letters, digits, '.', '_' and '-', at most 64")
	.openapi({ example: "newsletter-kids" });

/** A JSON object within the limits: traits, event properties. */
export const JsonObjectSchema = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
	const problem = jsonLimitProblem(value);
	if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const TraitsSchema = JsonObjectSchema.openapi({
	example: { firstName: "Ann" },
	description: `Free-form; at most ${MAX_JSON_BYTES / 1024} KiB as JSON and ${MAX_JSON_DEPTH} levels deep, after merging. An update merges: a key given is set, a key given as null is removed, keys not given keep their values.`,
});

export const TimestampSchema = z.iso
	.datetime({ offset: true })
	.transform((value) => new Date(value).toISOString())
	.openapi({ type: "string", format: "date-time" });

const ChannelStateSchema = z.object({
	optedOut: z.boolean(),
	bounced: z.boolean(),
	changedAt: z.string().openapi({ description: "The latest of optedOutAt and bouncedAt." }),
	optedOutAt: z.string().nullable().openapi({ description: "When the opt-out preference was last set." }),
	bouncedAt: z.string().nullable(),
	lastOptedOutAt: z.string().nullable().openapi({
		description:
			"When the latest opt-out period began: the opt-out that changed the channel from opted in to opted out. A repeated opt-out does not move it, and it stays after the person opted back in; null: never opted out.",
	}),
	returnedAt: z.string().nullable().openapi({
		description:
			"When the person came back: the opt-in that ended the latest opt-out period. Set while the channel is opted in after an opt-out; null while opted out or when never opted out.",
	}),
});
const TopicStateSchema = z.object({
	status: z
		.enum(TOPIC_STATUSES)
		.openapi({ description: "Effective status: unsubscribed while the channel is opted out." }),
	channel: ChannelSchema,
	changedAt: z.string().openapi({ description: "When the topic's own status was last set, also by a repeat." }),
	statusSince: z.string().openapi({
		description:
			"When the effective status began; a repeat does not move it. Unsubscribed while the channel is opted out: the earlier of the topic's own unsubscribe and the opt-out, of those still in force; subscribed or pending: when the topic got that status, or when the person opted back into the channel if that was later.",
	}),
});

export const ContactSchema = z
	.object({
		id: z.string(),
		externalId: z.string().nullable(),
		email: z.string().nullable(),
		businessUnit: z.string(),
		phone: z.string().nullable(),
		traits: z.record(z.string(), z.unknown()),
		createdAt: z.string(),
		updatedAt: z.string(),
		consent: z.object({
			blocked: z.boolean(),
			channels: z.record(z.string(), ChannelStateSchema),
			topics: z.record(z.string(), TopicStateSchema),
		}),
	})
	.openapi("Contact");

export const ProblemSchema = z
	.object({
		type: z.string(),
		title: z.string(),
		status: z.number().int(),
		detail: z.string(),
		code: z.string(),
		errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
	})
	.openapi("Problem");

export const DecisionSchema = z.object({ allowed: z.boolean(), reason: z.enum(DECISION_REASONS) });

export const LedgerEntrySchema = z
	.object({
		id: z.number().int(),
		contactId: z.string(),
		event: z.string(),
		channel: z.string().nullable(),
		topic: z.string().nullable(),
		changes: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })),
		changed: z.boolean(),
		properties: z.record(z.string(), z.unknown()),
		source: z.string(),
		reason: z.string().nullable(),
		feedback: z.string().nullable(),
		ip: z.string().nullable(),
		userAgent: z.string().nullable(),
		campaign: z.string().nullable(),
		idempotencyKey: z.string().nullable(),
		occurredAt: z.string(),
		receivedAt: z.string(),
	})
	.openapi("LedgerEntry");

export const HistorySchema = z.object({
	events: z.array(LedgerEntrySchema),
	nextCursor: z.string().nullable().openapi({ description: "Pass as ?cursor= for the next page; null at the end." }),
});

export const HistoryQuerySchema = z.object({
	cursor: z
		.string()
		.regex(/^\d{1,15}$/)
		.optional()
		.openapi({ description: "The `nextCursor` of the previous page; omit for the first page." }),
	limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({ description: "Rows per page." }),
});

const problemContent = { "application/problem+json": { schema: ProblemSchema } };
export const conflictResponse = (description: string) => ({ description, content: problemContent });

/** Routes that make links: without PUBLIC_BASE_URL, only a loopback host may ask for them. */
export const linkConfigurationResponse = conflictResponse(
	"CONFIGURATION_REQUIRED: PUBLIC_BASE_URL is not set and the request did not come to localhost",
);

/** The error answers every authenticated route can give. */
export const errorResponses = {
	400: { description: "Invalid input", content: problemContent },
	401: { description: "Missing or invalid API key", content: problemContent },
	403: { description: "Key lacks the scope or business unit", content: problemContent },
	404: { description: "Not found", content: problemContent },
	413: { description: "Body over 1 MiB", content: problemContent },
	415: { description: "Body is not JSON", content: problemContent },
} as const;

/**
 * A required JSON request body. The example is typed as the schema's input, so it cannot drift from
 * the contract at compile time; `redocly lint` (no-invalid-media-type-examples) checks it against
 * the generated JSON Schema, and /docs shows it.
 */
export const jsonBody = <T extends z.ZodType>(schema: T, example?: z.input<T>) => ({
	required: true,
	content: { "application/json": example === undefined ? { schema } : { schema, example } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
	description,
	content: { "application/json": { schema } },
});

/** @deprecated Name the scope the route requires: `bearerScopes("contacts:read")`. */
export const bearerSecurity = [{ bearer: [] }];

/**
 * A route's security: a bearer key with these scopes (the `admin` scope includes every other).
 * OpenAPI 3.1 lets a requirement of a non-OAuth scheme list the roles it needs; give the scope
 * of the route's requireScope() middleware (test/integration/api/openapi.test.ts checks they agree).
 */
export const bearerScopes = (...scopes: [Scope, ...Scope[]]) => [{ bearer: scopes }];
