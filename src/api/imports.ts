import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { linkBaseFor, requestContext } from "../contacts/record-events";
import { findJob, type Job, type JobCounts } from "../db/jobs";
import { assertBusinessUnit, type Principal, requireScope } from "../http/auth";
import { ApiError } from "../http/errors";
import { type AppEnv, createRouter } from "../http/router";
import {
	ImportLimitError,
	type ImportOptions,
	type ImportReport,
	importContacts,
	MAX_REPORTED_ERRORS,
} from "../imports/importer";
import { type ImportJobOptions, startImportJob, uploadKey } from "../jobs/import-job";
import { currentJob, isJobId, jobBusinessUnit, mayRead, newJobId } from "../jobs/jobs";
import { JOB_IMPORT_BYTES, JOB_IMPORT_LINES, SYNC_IMPORT_BYTES, SYNC_IMPORT_LINES } from "../jobs/limits";
import { moreLinesThan } from "../jobs/partition";
import { joined, readHead, storeBody } from "../jobs/upload";
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
	async: z
		.enum(["true", "false"])
		.optional()
		.openapi({
			description: `\`true\`: import as a job whatever the size (202). Without it, files over ${SYNC_IMPORT_LINES.toLocaleString("en")} lines or 1 MiB become jobs anyway.`,
		}),
});

const reportFields = {
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
};

const JobStatusSchema = z.enum(["queued", "running", "done", "failed"]);
const JobIdSchema = z.string().openapi({ example: "imp_0f9c2b7e4d1a4c3b8e6f5a2d9c7b1e40" });

const ImportJobSchema = z
	.object({
		id: JobIdSchema,
		status: JobStatusSchema,
		total: z.number().int().nullable().openapi({ description: "Data lines of the file, once counted." }),
		...reportFields,
		createdAt: z.string(),
		updatedAt: z.string(),
		error: z.string().optional().openapi({ description: "Why the job failed (status failed)." }),
	})
	.openapi("ImportJob");

const JobAcceptedSchema = z.object({ id: JobIdSchema, status: JobStatusSchema }).openapi("JobAccepted");

const ImportReportSchema = z.object(reportFields).openapi("ImportReport");

const FORMAT = `CSV (\`text/csv\`) with a header row, columns in any order: \`externalId\`, \`email\` (also \`Email Address\`), \`phone\`, \`businessUnit\`, \`optedOut\`, \`optedOut:<channel>\`, \`bounced:<channel>\` (true records a hard bounce), \`blocked\`, \`timestamp\` (when the facts of the line happened: ISO 8601, \`YYYY-MM-DD HH:MM:SS\` in UTC, or Unix seconds; default now), \`topic:<key>\` (\`subscribed\`, \`unsubscribed\`, \`pending\`); \`id\`, \`createdAt\` and \`updatedAt\` (of our own contacts export) are ignored. Header names ignore case. Booleans: true/false, 1/0, yes/no. An empty cell leaves that value as it is. Or NDJSON (\`application/x-ndjson\`): one JSON object per line with the same names as fields, topics also as \`"topics": {"<key>": "subscribed"}\`. UTF-8 (a byte order mark is skipped); RFC 4180 quoting (quoted commas, doubled quotes, line breaks inside quotes); CRLF or LF.`;

const DESCRIPTION = `${FORMAT}

Each line names a user (\`externalId\`) or a lead (\`email\` or \`phone\` + business unit; a line without externalId whose email belongs to a user applies to that user). Contacts are created or updated as PUT /v1/users and /v1/leads do, and every change is an event with source \`import\`: \`optedOut\` → Opt Out / Opt In (of \`?channel=\`, else of every channel), \`blocked\` → Block / Unblock, \`bounced:<channel>\` true → Bounce (hard), topic \`subscribed\` → Subscribe (Confirm Subscription for a double-opt-in topic: the person consented in the old tool; that also opts the channel in), \`unsubscribed\` → Unsubscribe, \`pending\` → Subscribe to a double-opt-in topic. Only events that change something are applied, each with an idempotency key: importing a file again adds no ledger rows. A line that would create a contact for the address of an erased, suppressed contact fails with \`suppressed\`.

Bad lines never stop good ones: the answer reports them by line number. A bad header (an unknown column, unless \`unknownColumns=ignore\`; a topic that does not exist; no identity column) answers 400 and writes nothing. Up to ${SYNC_IMPORT_LINES.toLocaleString("en")} lines and 1 MiB the import runs in the request and answers its report (200). A larger file, or any file with \`async=true\`, is stored and imported as a job: 202 with \`Location: /v1/imports/{id}\`, whose report GET /v1/imports/{id} answers with the job's status and progress. A request that reaches its budget of database work (many changes to existing contacts) hands the rest of its file to a job the same way (202). Jobs take up to ${JOB_IMPORT_BYTES / MIB} MiB (413 above) and ${JOB_IMPORT_LINES.toLocaleString("en")} lines (the job fails, nothing imported). Needs the \`contacts:write\` and \`events:write\` scopes; keys limited to some business units import into those only.`;

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
		202: {
			description: "Imported as a job: poll GET /v1/imports/{id} (the Location)",
			headers: z.object({
				location: z.string().openapi({ example: "/v1/imports/imp_0f9c2b7e4d1a4c3b8e6f5a2d9c7b1e40" }),
			}),
			content: { "application/json": { schema: JobAcceptedSchema } },
		},
		...errorResponses,
		413: { description: `Body over ${JOB_IMPORT_BYTES / MIB} MiB`, content: problemContent },
		415: { description: "Neither text/csv nor application/x-ndjson (UTF-8)", content: problemContent },
	},
});

const getImportJob = createRoute({
	method: "get",
	path: "/v1/imports/{id}",
	operationId: "getImportJob",
	tags: ["Data"],
	summary: "An import job: its status, progress and report",
	description:
		"The job's status (`queued`, `running`, `done`, `failed`), `processed` of `total` lines so far, and the report as POST /v1/imports/contacts answers it, with line numbers of the whole file. Poll it every few seconds until the status is `done` or `failed`. Needs the scopes of the import; keys limited to business units see only jobs started by keys of their units (others: 404).",
	security: bearerScopes("contacts:write", "events:write"),
	middleware: [requireScope("contacts:write")] as const,
	request: {
		params: z.object({
			id: JobIdSchema.openapi({
				param: { name: "id", in: "path" },
				description: "The job's id, as the import answered it (its Location).",
			}),
		}),
	},
	responses: { 200: jsonResponse(ImportJobSchema, "The job"), ...errorResponses },
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

/** An import changes consent, which otherwise needs events:write (POST /v1/events). */
function assertImportScopes(principal: Principal) {
	if (!principal.scopes.has("events:write") && !principal.scopes.has("admin")) {
		throw new ApiError(403, "FORBIDDEN", 'Importing needs the "events:write" scope as well as "contacts:write".');
	}
}

const streamOf = (bytes: Uint8Array) => new Response(bytes).body as ReadableStream<Uint8Array>;

/** The job's answer: the report so far, with status and progress. */
function importJobJson(job: Job) {
	return {
		id: job.id,
		status: job.status,
		processed: job.processed,
		total: job.total,
		created: job.created,
		updated: job.updated,
		unchanged: job.unchanged,
		failed: job.failed,
		errors: job.errors,
		errorsTruncated: job.errorsTruncated,
		createdAt: job.createdAt,
		updatedAt: job.updatedAt,
		...(job.status === "failed" && job.error ? { error: job.error } : {}),
	};
}

/** Stores the body and starts the import job: 202 with the job's location. */
async function importAsJob(
	c: Context<AppEnv>,
	head: Awaited<ReturnType<typeof readHead>>,
	length: number | null,
	options: Omit<ImportJobOptions, "size">,
	businessUnit: string | undefined,
	counts?: JobCounts,
) {
	const id = newJobId("import");
	const contentType = options.format === "csv" ? "text/csv" : "application/x-ndjson";
	const size = await storeBody(c.env.JOB_FILES, uploadKey(id), head, length, JOB_IMPORT_BYTES, contentType);
	const job = await startImportJob(c.env, {
		id,
		businessUnit: jobBusinessUnit(c.var.principal, businessUnit),
		options: { ...options, size },
		counts,
	});
	c.header("location", `/v1/imports/${id}`);
	return c.json({ id: job.id, status: job.status }, 202);
}

export const importsRouter = createRouter()
	.openapi(postImport, async (c) => {
		const principal = c.var.principal;
		assertImportScopes(principal);
		const query = c.req.valid("query");
		const namedUnit = c.req.query("businessUnit") !== undefined ? query.businessUnit : undefined;
		if (namedUnit !== undefined) assertBusinessUnit(principal, namedUnit);
		const format = formatOf(c.req.header("content-type"));
		const declared = c.req.header("content-length");
		const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
		if (length !== null && length > JOB_IMPORT_BYTES) {
			await c.req.raw.body?.cancel();
			throw new ApiError(
				413,
				"PAYLOAD_TOO_LARGE",
				`An import takes at most ${JOB_IMPORT_BYTES / MIB} MiB (and ${JOB_IMPORT_LINES.toLocaleString("en")} lines): split the file.`,
			);
		}
		const body = c.req.raw.body;
		if (!body) throw new ApiError(400, "VALIDATION_FAILED", "The request has no body: send the file.");
		const context = requestContext(c.req.raw, "import");
		const common = {
			format,
			businessUnit: query.businessUnit,
			channel: query.channel ?? null,
			optedOut: query.optedOut === undefined ? null : query.optedOut === "true",
			unknownColumns: query.unknownColumns,
			businessUnits: principal.businessUnits ? [...principal.businessUnits] : null,
			context,
		};
		const options: ImportOptions = { ...common, linkBase: linkBaseFor(c.env, c.req.raw) };
		const jobOptions = { ...common, requestUrl: c.req.url };

		// The first MiB tells whether the file is small enough to import here.
		const head = await readHead(body, SYNC_IMPORT_BYTES);
		const small =
			query.async !== "true" && head.rest === null && !moreLinesThan(head.chunks, format, SYNC_IMPORT_LINES);
		if (small) {
			const bytes = joined(head.chunks);
			try {
				return c.json(await importContacts(c.env, streamOf(bytes), options), 200);
			} catch (error) {
				if (!(error instanceof ImportLimitError)) throw error;
				if (error.limit === "budget") {
					// The request's share of database work is spent: a job goes on from that line.
					return importAsJob(c, head, length, { ...jobOptions, fromLine: error.line }, namedUnit, error.report);
				}
				throw new ApiError(
					413,
					"PAYLOAD_TOO_LARGE",
					`The import stopped at line ${error.line}; the lines before were applied (${summary(error.report)}). Send the file again with async=true.`,
				);
			}
		}
		// A job: the header is checked now (400, nothing stored), the lines later. maxLines 0 stops
		// the import at the first data line, before it writes anything.
		if (format === "csv") {
			await importContacts(c.env, streamOf(joined(head.chunks)), { ...options, maxLines: 0 }).catch((error) => {
				if (!(error instanceof ImportLimitError)) throw error;
			});
		}
		return importAsJob(c, head, length, jobOptions, namedUnit);
	})
	.openapi(getImportJob, async (c) => {
		const principal = c.var.principal;
		assertImportScopes(principal);
		const { id } = c.req.valid("param");
		const notFound = new ApiError(404, "NOT_FOUND", "There is no such import job (or this key may not read it).");
		if (!isJobId("import", id)) throw notFound;
		const found = await findJob(c.env, id);
		if (found?.kind !== "import" || !mayRead(principal, found)) throw notFound;
		return c.json(importJobJson(await currentJob(c.env.IMPORT_WORKFLOW, c.env, found)), 200);
	});
