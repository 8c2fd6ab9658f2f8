import { createRoute, z } from "@hono/zod-openapi";
import { normalizeAddress } from "../consent/normalize";
import { mergeReasons, SUPPRESSION_REASONS } from "../consent/suppression";
import { requestContext } from "../contacts/record-events";
import { keyedHash, keyedHashes } from "../crypto";
import { addSuppressions, findSuppressionsByHash, removeSuppressions } from "../db/suppressions";
import { assertAllBusinessUnits, requireScope } from "../http/auth";
import { invalid, notFound } from "../http/errors";
import { createRouter } from "../http/router";
import { bearerScopes, EmailSchema, errorResponses, jsonBody, jsonResponse, PhoneSchema } from "./schemas";

export const MAX_SUPPRESSION_ADDRESSES = 10_000;

const tags = ["Suppressions"];
const description =
	"A suppressed address gets no marketing on the channels it reaches (email for an email, SMS and WhatsApp for a phone), whatever contact has it now or later; with reason `blocked` or `bounced` no transactional message either. Only the keyed hash of the address is stored. A suppression ends when the person confirms a double-opt-in link for the address, or through DELETE. Needs a key with `admin` scope and no business-unit limits.";

const AddressQuerySchema = z
	.strictObject({ email: EmailSchema.optional(), phone: PhoneSchema.optional() })
	.refine((q) => (q.email === undefined) !== (q.phone === undefined), {
		message: "name the address by exactly one of email or phone",
		path: ["email"],
	});

const SuppressionSchema = z
	.object({
		suppressed: z.boolean(),
		reasons: z.array(z.enum(SUPPRESSION_REASONS)),
		since: z.string().nullable().openapi({ description: "When the address was first suppressed." }),
	})
	.openapi("Suppression");

const AddSchema = z
	.strictObject({
		addresses: z
			.array(z.string().max(320))
			.min(1)
			.max(MAX_SUPPRESSION_ADDRESSES)
			.openapi({ description: "Emails and E.164 phones, e.g. an ESP's suppression export." }),
		reason: z.enum(SUPPRESSION_REASONS),
	})
	.openapi("SuppressionsInput");

const getSuppression = createRoute({
	method: "get",
	path: "/v1/suppressions",
	operationId: "getSuppression",
	tags,
	summary: "Is this address suppressed?",
	description,
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: { query: AddressQuerySchema },
	responses: { 200: jsonResponse(SuppressionSchema, "The suppression, if any"), ...errorResponses },
});

const postSuppressions = createRoute({
	method: "post",
	path: "/v1/suppressions",
	operationId: "addSuppressions",
	tags,
	summary: "Suppress bare addresses (bulk)",
	description: `${description} All or nothing: one invalid address refuses the request.`,
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: { body: jsonBody(AddSchema, { addresses: ["ann@example.de", "+4917612345678"], reason: "opted_out" }) },
	responses: {
		200: jsonResponse(
			z
				.object({
					added: z.number().int().openapi({ description: "Addresses not suppressed before." }),
					extended: z.number().int().openapi({ description: "Already suppressed; the reason was added." }),
				})
				.openapi("SuppressionsAdded"),
			"Suppressed",
		),
		...errorResponses,
	},
});

const deleteSuppression = createRoute({
	method: "delete",
	path: "/v1/suppressions",
	operationId: "removeSuppression",
	tags,
	summary: "End the suppression of an address",
	description: `${description} Leaves an \`Unsuppress\` row in the ledger.`,
	security: bearerScopes("admin"),
	middleware: [requireScope("admin")] as const,
	request: { query: AddressQuerySchema },
	responses: { 204: { description: "No longer suppressed" }, ...errorResponses },
});

export const suppressionsRouter = createRouter()
	.openapi(getSuppression, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { email, phone } = c.req.valid("query");
		const hash = await keyedHash(c.env, (email ?? phone) as string);
		const suppression = (await findSuppressionsByHash(c.env, [hash])).get(hash);
		return c.json(
			{ suppressed: suppression !== undefined, reasons: suppression?.reasons ?? [], since: suppression?.since ?? null },
			200,
		);
	})
	.openapi(postSuppressions, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { addresses, reason } = c.req.valid("json");
		const normalized = addresses.map((address) => normalizeAddress(address));
		const errors = normalized.flatMap((address, index) =>
			address ? [] : [{ path: `addresses.${index}`, message: "not a valid email address or E.164 phone number" }],
		);
		if (errors.length > 0) throw invalid(`${errors[0]?.path}: ${errors[0]?.message}`, errors.slice(0, 100));
		const unique = [...new Map(normalized.map((a) => [a?.value as string, a as NonNullable<typeof a>])).values()];
		const hashes = await keyedHashes(
			c.env,
			unique.map((address) => address.value),
		);
		const existing = await findSuppressionsByHash(c.env, hashes);
		// Addresses already suppressed for this reason change nothing and leave no ledger row.
		const entries = unique
			.map((address, index) => ({ hash: hashes[index] as string, kind: address.kind, reasons: [reason] }))
			.filter((entry) => !existing.get(entry.hash)?.reasons.includes(reason))
			.map((entry) => ({ ...entry, reasons: mergeReasons(existing.get(entry.hash)?.reasons ?? [], entry.reasons) }));
		const context = requestContext(c.req.raw, "api");
		await addSuppressions(c.env, entries, { ...context, at: context.receivedAt, source: "api" });
		const extended = entries.filter((entry) => existing.has(entry.hash)).length;
		return c.json({ added: entries.length - extended, extended }, 200);
	})
	.openapi(deleteSuppression, async (c) => {
		assertAllBusinessUnits(c.var.principal);
		const { email, phone } = c.req.valid("query");
		const hash = await keyedHash(c.env, (email ?? phone) as string);
		const context = requestContext(c.req.raw, "api");
		const removed = await removeSuppressions(c.env, [hash], { ...context, at: context.receivedAt, source: "api" });
		if (removed === 0) throw notFound("Suppression");
		return c.body(null, 204);
	});
