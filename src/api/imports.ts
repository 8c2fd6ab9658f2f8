import { createRoute, z } from "@hono/zod-openapi";
import { linkBaseFor, requestContext } from "../contacts/record-events";
import { assertBusinessUnit, requireScope } from "../http/auth";
import { ApiError } from "../http/errors";
import { createRouter } from "../http/router";
import {
	ImportLimitError,
	type ImportReport,
	importContacts,
	MAX_IMPORT_BYTES,
	MAX_IMPORT_LINES,
	MAX_REPORTED_ERRORS,
} from "../imports/importer";
import { BusinessUnitSchema, bearerScopes, ChannelSchema, errorResponses, jsonResponse } from "./schemas";

const MIB = 1024 * 1024;

const ImportQuerySchema = z.strictObject({
	businessUnit: BusinessUnitSchema.openapi({
		description: 'For lines without a businessUnit; "default" when omitted.',
	}),
	channel: ChannelSchema.optional().openapi({
		description:
			"The channel the plain `optedOut` column (and the `optedOut` parameter) means; without it, every channel.",
	}),
	optedOut: z.enum(["true", "false"]).optional().openapi({
		description: "optedOut for lines that have none, e.g. `true` for an ESP's suppression list of bare emails.",
	}),
	unknownColumns: z.enum(["reject", "ignore"]).default("reject").openapi({
		description:
			"`reject` (default): a column (CSV) the import does not know answers 400, a field (NDJSON) fails its line. `ignore`: skipped, for raw exports of other tools.",
	}),
});

const ImportReportSchema = z
	.object({
		processed: z.number().int().openapi({ description: "Data lines read (blank lines are not counted)." }),
		created: z.number().int().openapi({ description: "Lines that created a contact." }),
		updated: z.number().int().openapi({ description: "Lines that changed an existing contact." }),
		unchanged: z.number().int().openapi({ description: "Lines whose contact already was as they say." }),
		failed: z.number().int(),
		errors: z
			.array(
				z.object({
					line: z.number().int().openapi({ description: "Physical line of the file; the CSV header is line 1." }),
					error: z.string().openapi({ example: "invalid_email" }),
					message: z.string(),
				}),
			)
			.openapi({ description: `The first ${MAX_REPORTED_ERRORS} failed lines.` }),
		errorsTruncated: z.boolean().openapi({ description: `More than ${MAX_REPORTED_ERRORS} lines failed.` }),
	})
	.openapi("ImportReport");

const FORMAT = `CSV (\`text/csv\`) with a header row, columns in any order: \`externalId\`, \`email\` (also \`Email Address\`), \`phone\`, \`businessUnit\`, \`optedOut\`, \`optedOut:<channel>\`, \`bounced:<channel>\` (true records a hard bounce), \`blocked\`, \`timestamp\` (when the facts of the line happened: ISO 8601, \`YYYY-MM-DD HH:MM:SS\` in UTC, or Unix seconds; default now), \`topic:<key>\` (\`subscribed\`, \`unsubscribed\`, \`pending\`); \`id\`, \`createdAt\` and \`updatedAt\` (of our own contacts export) are ignored. Header names ignore case. Booleans: true/false, 1/0, yes/no. An empty cell leaves that value as it is. Or NDJSON (\`application/x-ndjson\`): one JSON object per line with the same names as fields, topics also as \`"topics": {"<key>": "subscribed"}\`. UTF-8 (a byte order mark is skipped); RFC 4180 quoting (quoted commas, doubled quotes, line breaks inside quotes); CRLF or LF.`;

const DESCRIPTION = `${FORMAT}

Each line names a user (\`externalId\`) or a lead (\`email\` or \`phone\` + business unit; a line without externalId whose email belongs to a user applies to that user). Contacts are created or updated as PUT /v1/users and /v1/leads do, and every change is an event with source \`import\`: \`optedOut\` → Opt Out / Opt In (of \`?channel=\`, else of every channel), \`blocked\` → Block / Unblock, \`bounced:<channel>\` true → Bounce (hard), topic \`subscribed\` → Subscribe (Confirm Subscription for a double-opt-in topic: the person consented in the old tool; that also opts the channel in), \`unsubscribed\` → Unsubscribe, \`pending\` → Subscribe to a double-opt-in topic. Only events that change something are applied, each with an idempotency key: importing a file again adds no ledger rows. A line that would create a contact for the address of an erased, suppressed contact fails with \`suppressed\`.

Bad lines never stop good ones: the answer reports them by line number. A bad header (an unknown column, unless \`unknownColumns=ignore\`; a topic that does not exist; no identity column) answers 400 and writes nothing. Limits: ${MAX_IMPORT_BYTES / MIB} MiB and ${MAX_IMPORT_LINES.toLocaleString("en")} lines per request (413); a body over the limit without Content-Length is noticed while it streams, after the lines before were applied. Needs the \`contacts:write\` and \`events:write\` scopes; keys limited to some business units import into those only.`;

const problemContent = errorResponses[400].content;

const postImport = createRoute({
	method: "post",
	path: "/v1/imports/contacts",
	operationId: "importContacts",
	tags: ["Data"],
	summary: "Import contacts and their consent (CSV or NDJSON)",
	description: DESCRIPTION,
	security: bearerScopes("contacts:write", "events:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: {
		query: ImportQuerySchema,
		body: {
			required: true,
			description: "The file, streamed.",
			content: {
				"text/csv": { schema: z.string().openapi({ example: "email,optedOut\r\nann@example.de,true\r\n" }) },
				"application/x-ndjson": {
					schema: z.string().openapi({ example: '{"email": "ann@example.de", "optedOut": true}\n' }),
				},
			},
		},
	},
	responses: {
		200: jsonResponse(ImportReportSchema, "Done: counts and failed lines"),
		...errorResponses,
		413: {
			description: `Body over ${MAX_IMPORT_BYTES / MIB} MiB or ${MAX_IMPORT_LINES} lines`,
			content: problemContent,
		},
		415: { description: "Neither text/csv nor application/x-ndjson (UTF-8)", content: problemContent },
	},
});

function formatOf(contentType: string | undefined): "csv" | "ndjson" {
	const [essence = "", ...params] = (contentType ?? "")
		.toLowerCase()
		.split(";")
		.map((part) => part.trim());
	const charset = params
		.find((param) => param.startsWith("charset="))
		?.slice("charset=".length)
		.replace(/"/g, "");
	if (charset && charset !== "utf-8" && charset !== "utf8" && charset !== "us-ascii") {
		throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", `Send the file as UTF-8, not ${charset}.`);
	}
	if (essence === "text/csv" || essence === "application/csv") return "csv";
	if (essence === "application/x-ndjson" || essence === "application/jsonl" || essence === "application/ndjson") {
		return "ndjson";
	}
	throw new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the file as text/csv or application/x-ndjson.");
}

const summary = (report: ImportReport) =>
	`processed ${report.processed}, created ${report.created}, updated ${report.updated}, unchanged ${report.unchanged}, failed ${report.failed}`;

export const importsRouter = createRouter().openapi(postImport, async (c) => {
	const principal = c.var.principal;
	// An import changes consent, which otherwise needs events:write (POST /v1/events).
	if (!principal.scopes.has("events:write") && !principal.scopes.has("admin")) {
		throw new ApiError(403, "FORBIDDEN", 'Importing needs the "events:write" scope as well as "contacts:write".');
	}
	const query = c.req.valid("query");
	if (c.req.query("businessUnit") !== undefined) assertBusinessUnit(principal, query.businessUnit);
	const format = formatOf(c.req.header("content-type"));
	const length = Number(c.req.header("content-length") ?? Number.NaN);
	if (length > MAX_IMPORT_BYTES) {
		await c.req.raw.body?.cancel();
		throw new ApiError(
			413,
			"PAYLOAD_TOO_LARGE",
			`An import takes at most ${MAX_IMPORT_BYTES / MIB} MiB (and ${MAX_IMPORT_LINES} lines) per request: split the file.`,
		);
	}
	const body = c.req.raw.body;
	if (!body) throw new ApiError(400, "VALIDATION_FAILED", "The request has no body: send the file.");
	try {
		const report = await importContacts(c.env, body, {
			format,
			businessUnit: query.businessUnit,
			channel: query.channel ?? null,
			optedOut: query.optedOut === undefined ? null : query.optedOut === "true",
			unknownColumns: query.unknownColumns,
			businessUnits: principal.businessUnits,
			context: requestContext(c.req.raw, "import"),
			linkBase: linkBaseFor(c.env, c.req.raw),
		});
		return c.json(report, 200);
	} catch (error) {
		if (error instanceof ImportLimitError) {
			const limit =
				error.limit === "bytes" ? `${MAX_IMPORT_BYTES / MIB} MiB` : `${MAX_IMPORT_LINES.toLocaleString("en")} lines`;
			throw new ApiError(
				413,
				"PAYLOAD_TOO_LARGE",
				`An import takes at most ${limit} per request. It stopped at line ${error.line}; the lines before were applied (${summary(error.report)}). Imports are idempotent: split the file and send the parts.`,
			);
		}
		throw error;
	}
});
