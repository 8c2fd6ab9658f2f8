/**
 * The bodies of the CrossEngage-compatible routes, as CrossEngage clients send them: traits at the
 * top level of a user or lead, `"email": ""` as a placeholder, `channel.type` on events. Fields
 * that name a contact are normalized with the native rules (src/api/schemas.ts).
 */
import { z } from "@hono/zod-openapi";
import { ExternalIdSchema, JsonObjectSchema, TimestampSchema } from "../api/schemas";
import { normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import { jsonLimitProblem } from "../consent/traits";
import {
	CHANNEL_TYPE_LIST,
	channelOfType,
	IDENTITY_KEYS,
	OPT_OUT_KEY,
	parseOptOut,
	splitProfile,
	TRAIT_STATUS_LIST,
} from "./translate";

/** A blank string: CrossEngage's placeholder for "not given". */
const isBlank = (value: string) => value.trim() === "";

const PLACEHOLDER = 'An empty string ("", CrossEngage\'s placeholder) means not given.';

/**
 * An address field as CrossEngage sends it: "" is not given; null removes the address (`onNull`
 * null) or is not given either (`onNull` undefined); anything else must normalize.
 */
const addressField = <N extends null | undefined>(
	onNull: N,
	spec: { max: number; normalize: (value: string) => string | null; invalid: string; example: string; what: string },
) =>
	z
		.string()
		.max(spec.max)
		.nullable()
		.transform((value, ctx): string | N | undefined => {
			if (value === null) return onNull;
			if (isBlank(value)) return undefined;
			const normalized = spec.normalize(value);
			if (!normalized) ctx.addIssue({ code: "custom", message: spec.invalid });
			return normalized ?? undefined;
		})
		.openapi({
			type: ["string", "null"],
			example: spec.example,
			description: `${spec.what} ${PLACEHOLDER}${onNull === null ? " null removes it." : " null: not given."}`,
		});

const emailField = <N extends null | undefined>(onNull: N) =>
	addressField(onNull, {
		max: 320,
		normalize: normalizeEmail,
		invalid: "not a valid email address",
		example: "ann@example.de",
		what: "An email, trimmed and lower-cased.",
	});

const phoneField = <N extends null | undefined>(onNull: N) =>
	addressField(onNull, {
		max: 32,
		normalize: normalizePhone,
		invalid: "not a valid E.164 phone number (+4917612345678)",
		example: "+4917612345678",
		what: "A phone number in E.164.",
	});

/** A business unit; "" (or none) is not given. */
const businessUnitField = z
	.string()
	.max(64)
	.transform((value, ctx) => {
		if (isBlank(value)) return undefined;
		const unit = normalizeBusinessUnit(value);
		if (!unit) ctx.addIssue({ code: "custom", message: "letters, digits, _ and -, at most 64" });
		return unit ?? undefined;
	})
	.openapi({ type: "string", example: "de", description: `Business unit. ${PLACEHOLDER}` });

const optOutField = z
	.union([z.boolean(), z.string()], { error: 'must be true or false, or "true" or "false" (any case)' })
	.transform((value, ctx) => {
		const optOut = parseOptOut(value);
		if (optOut === null) {
			ctx.addIssue({ code: "custom", message: 'must be true or false, or "true" or "false" (any case)' });
		}
		return optOut ?? undefined;
	})
	.openapi({
		description:
			"CrossEngage's system opt-out. true: an `Opt Out` of every channel; false: an `Opt In` of every channel (the person accepts marketing again). Recorded as events in the ledger, not kept as a trait.",
		example: false,
	});

const TRAITS_DESCRIPTION =
	`Every other key is a trait. Traits merge into the contact's: a key given is set, a key given as null is removed, keys not given keep their values; at most 16 KiB as JSON and 8 levels deep once merged. ` +
	`A trait whose key a topic of the contact's business unit (or a global one) names in \`providerRefs.crossengage\` is that topic's status as well: its value must be one of ${TRAIT_STATUS_LIST} (any case); ` +
	'"pending" records a `Subscribe`, "subscribed" or "confirmed" the events that make the topic subscribed (`Confirm Subscription` of a pending topic; `Subscribe` and `Confirm Subscription` for a double-opt-in topic without status; `Subscribe` otherwise), "unsubscribed" an `Unsubscribe`. The trait is stored too.';

/** Traits (the keys other than the contact's identity and optOut) within the native limits. */
function checkTraits(body: Record<string, unknown>, ctx: z.RefinementCtx) {
	const problem = jsonLimitProblem(splitProfile(body).traits);
	if (problem) {
		const named = [...IDENTITY_KEYS, OPT_OUT_KEY].join(", ");
		ctx.addIssue({ code: "custom", message: `the traits (every key but ${named}) are ${problem}` });
	}
}

export const UserBodySchema = z
	.object({
		id: ExternalIdSchema.optional().openapi({
			description: "The user's id (your externalId). When given, it must be the id in the path.",
			example: "USERID",
		}),
		email: emailField(null).optional(),
		businessUnit: businessUnitField.optional().openapi({
			description: `Business unit; for a new user "default" when not given. ${PLACEHOLDER}`,
		}),
		phone: phoneField(null).optional(),
		[OPT_OUT_KEY]: optOutField.optional(),
	})
	.catchall(z.unknown())
	.superRefine(checkTraits)
	.openapi("CrossEngageUser", { description: `A CrossEngage user. ${TRAITS_DESCRIPTION}` });

export const LeadBodySchema = z
	.object({
		email: z
			.string()
			.max(320)
			.transform((value, ctx) => {
				const email = normalizeEmail(value);
				if (!email) ctx.addIssue({ code: "custom", message: "a lead is named by its email: a valid email address" });
				return email ?? "";
			})
			.openapi({ type: "string", format: "email", example: "ann@example.de", description: "Trimmed and lower-cased." }),
		businessUnit: businessUnitField.optional().openapi({
			description: `Business unit; "default" when not given. ${PLACEHOLDER}`,
		}),
		phone: phoneField(null).optional(),
		[OPT_OUT_KEY]: optOutField.optional(),
	})
	.catchall(z.unknown())
	.superRefine((body, ctx) => {
		if ("id" in body) {
			ctx.addIssue({
				code: "custom",
				path: ["id"],
				message: "a lead has no id: a contact with your externalId is a user, PUT /crossengage/users/{id}",
			});
		}
		checkTraits(body, ctx);
	})
	.openapi("CrossEngageLead", { description: `A CrossEngage lead (no externalId). ${TRAITS_DESCRIPTION}` });

const channelTypeField = z
	.string()
	.transform((value, ctx) => {
		const channel = channelOfType(value);
		if (!channel) ctx.addIssue({ code: "custom", message: `must be one of ${CHANNEL_TYPE_LIST} (any case)` });
		return channel ?? undefined;
	})
	.openapi({
		type: "string",
		example: "MAIL",
		description: `The channel: ${CHANNEL_TYPE_LIST} (any case) for email, sms, whatsapp, push. Not given: no channel (an \`Opt Out\` or \`Opt In\` of every channel).`,
	});

const EventSchema = z
	.strictObject({
		event: z.string().trim().min(1).max(100).openapi({
			example: "Opt In",
			description:
				"`Opt Out` and `Opt In` (any case) as in POST /v1/events; `mail.unsubscribe` (an ESP's system opt-out) is an `Opt Out` of email. Any other name (`Confirmed Subscription`, `Subscribe Newsletter`) is a custom event: recorded in the ledger with its properties and sent to the outbound webhook.",
		}),
		properties: JsonObjectSchema.optional().openapi({
			description: "Kept with the event (e.g. `doiLink`); at most 16 KiB as JSON and 8 levels deep.",
			example: { doiLink: "https://subdomain.domain.tld?id=USERID" },
		}),
		"channel.type": channelTypeField.nullable().optional(),
		timestamp: TimestampSchema.optional().openapi({ description: "When it happened; later than now counts as now." }),
	})
	.openapi("CrossEngageEvent");

export const EventsBodySchema = z
	.strictObject({
		id: ExternalIdSchema.optional().openapi({ description: "The user's id (your externalId).", example: "USERID" }),
		email: emailField(undefined).optional(),
		phone: phoneField(undefined).optional(),
		businessUnit: businessUnitField.optional().openapi({
			description: `With email or phone: the business unit, "default" when not given. ${PLACEHOLDER}`,
		}),
		events: z.array(EventSchema).min(1).max(100),
	})
	.refine((body) => [body.id, body.email, body.phone].filter((value) => value !== undefined).length === 1, {
		message: "name the contact by exactly one of id (a user), email or phone (with businessUnit)",
		path: ["id"],
	})
	.openapi("CrossEngageEvents");
