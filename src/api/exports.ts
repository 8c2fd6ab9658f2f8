import { createRoute, z } from "@hono/zod-openapi";
import { canonicalEventName } from "../consent/normalize";
import { topicAvailableIn } from "../consent/topics";
import type { Channel, TopicDefinition } from "../consent/types";
import { findJob, type Job } from "../db/jobs";
import { loadTopics } from "../db/topics";
import type { Bindings } from "../env";
import {
	CHANNEL_STATUSES,
	CONTACT_STATUSES,
	type ContactExportFilter,
	type ContactStatus,
	contactsCsv,
	csvStream,
	type EventExportFilter,
	EXPORT_PAGE_SIZE,
	type ExportSource,
	eventsCsv,
} from "../exports/exports";
import { assertBusinessUnit, type Principal, requireScope } from "../http/auth";
import { BOOKMARK_PARAMETER, sentBookmark } from "../http/bookmark";
import { ApiError, invalid } from "../http/errors";
import { createRouter } from "../http/router";
import { type ExportJobOptions, exportFile, startExportJob } from "../jobs/export-job";
import { currentJob, isJobId, jobBusinessUnit, mayRead, newJobId } from "../jobs/jobs";
import { SYNC_EXPORT_ROWS } from "../jobs/limits";
import {
	BusinessUnitValueSchema,
	bearerScopes,
	ChannelSchema,
	conflictResponse,
	errorResponses,
	jsonResponse,
	TopicKeySchema,
} from "./schemas";

/** A date (`2026-11-01`, midnight UTC) or a date-time with offset, as ISO 8601 UTC. */
const InstantSchema = z
	.string()
	.max(40)
	.transform((value, ctx) => {
		const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
		const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(iso);
		const time = valid ? Date.parse(iso) : Number.NaN;
		if (Number.isNaN(time)) {
			ctx.addIssue({
				code: "custom",
				message: "a date (2026-11-01) or a date-time with offset (2026-11-01T10:00:00Z)",
			});
			return "";
		}
		return new Date(time).toISOString();
	})
	.openapi({ type: "string", example: "2026-11-01" });

const range = (what: string) => ({
	from: InstantSchema.optional().openapi({ description: `${what} at or after this instant (inclusive).` }),
	to: InstantSchema.optional().openapi({ description: `${what} before this instant (exclusive).` }),
});

const businessUnitFilter = BusinessUnitValueSchema.optional().openapi({
	description: "Only this business unit. Required for keys limited to some business units.",
});

/** What each status means, for the descriptions of the exports and the statistics. */
export const STATUS_MEANING =
	"`opted_out`, `bounced`: of `channel`, or of any channel without one. `returned`: opted in now after having opted out before (of `channel`, or of any channel without one): people who came back. `subscribed`, `unsubscribed`, `pending`: the effective status of `topic` (required with them; unsubscribed while the topic's channel is opted out). `blocked`: the contact.";

/** When each status began: what `from` and `to` select with a status. */
export const STATUS_BEGIN =
	"When a status began: `opted_out` — when the latest opt-out period began, i.e. the opt-out that changed the channel from opted in to opted out (a repeated opt-out does not move it, nor does any later edit of the contact; without `channel`: any channel whose opt-out began in the range). `bounced` — when the channel was marked undeliverable. `returned` — when the person came back: the opt-in (or double-opt-in confirmation) that ended their latest opt-out. `blocked` — when the block in force began. `subscribed`, `pending` — when the topic got that status, or when the person opted back into the topic's channel if that was later. `unsubscribed` — the earlier of the topic's own unsubscribe and the channel's opt-out, of those still in force. Times are those of the events (when the person acted, as the event said), with late-arriving events put in time order.";

const ContactsQuerySchema = z.strictObject({
	status: z.enum(CONTACT_STATUSES).optional().openapi({ description: STATUS_MEANING }),
	channel: ChannelSchema.optional().openapi({ description: "With status opted_out, bounced or returned." }),
	topic: TopicKeySchema.optional().openapi({
		description: "With status subscribed, unsubscribed or pending; alone: contacts with any status for the topic.",
	}),
	from: InstantSchema.optional().openapi({
		description:
			"With `status`: the status began at or after this instant (inclusive; see the description). Without `status`: the contact changed (updatedAt) at or after it.",
	}),
	to: InstantSchema.optional().openapi({
		description:
			"With `status`: the status began before this instant (exclusive). Without `status`: the contact changed (updatedAt) before it.",
	}),
	businessUnit: businessUnitFilter,
});

const EventsQuerySchema = z.strictObject({
	event: z.string().trim().min(1).max(100).optional().openapi({
		example: "Opt Out",
		description: "Event name; system events match ignoring case, custom events exactly.",
	}),
	source: z.string().trim().min(1).max(100).optional().openapi({
		example: "one_click",
		description:
			"Only rows from this source, e.g. `api`, `one_click`, `preference_center`, `import` or `webhook:sendgrid`.",
	}),
	...range("Events that occurred (occurredAt)"),
	businessUnit: businessUnitFilter,
});

const csvResponse = (description: string) => ({
	description,
	headers: z.object({
		"content-disposition": z.string().openapi({ example: 'attachment; filename="contacts-de-20261123T100000Z.csv"' }),
	}),
	content: { "text/csv": { schema: z.string().openapi({ format: "binary" }) } },
});

const STREAMING = `Streamed: pages of ${EXPORT_PAGE_SIZE} rows are read with keyset pagination as the client reads, so memory stays flat whatever the row count. RFC 4180 (CRLF, quotes where needed, header row). Formula-safe: a text cell starting with = + - @, tab or CR gets a leading ' (OWASP CSV injection); numbers, booleans, ISO 8601 times and E.164 phones (validated, + and digits only) are written as they are. Errors before the first byte are problem+json; a failure midway aborts the transfer, so a cut-off file never looks complete.`;

const tooLargeResponse = (job: string) => ({
	description: `More than ${SYNC_EXPORT_ROWS.toLocaleString("en")} rows: make the export as a job with ${job} (PAYLOAD_TOO_LARGE)`,
	content: errorResponses[400].content,
});

const SYNC_LIMIT = (job: string) =>
	`At most ${SYNC_EXPORT_ROWS.toLocaleString("en")} rows: a larger export answers 413 before streaming; make it as a job with ${job} (same parameters), or narrow it.`;

const getContactsCsv = createRoute({
	method: "get",
	path: "/v1/exports/contacts.csv",
	operationId: "exportContacts",
	tags: ["Data"],
	summary: "Contacts with their consent state, as CSV",
	description: `One row per contact, by id. Columns: \`id, externalId, email, phone, businessUnit, createdAt, updatedAt, blocked\`, then \`optedOut:<channel>, bounced:<channel>\` (true/false) for email, sms, whatsapp and push, then \`lastOptedOutAt\`: when the latest opt-out period began, of \`channel\` when one is given, else the latest over the channels (it stays after the person opted back in; empty: never opted out), then \`topic:<key>\` for every topic (of the business unit, when one is given; by key): the effective status (\`subscribed\`, \`pending\`, \`unsubscribed\` — unsubscribed while the topic's channel is opted out), empty when the contact has none. The column names are those of POST /v1/imports/contacts (which skips \`lastOptedOutAt\`). Filters: \`status\` (${STATUS_MEANING}), with \`from\` and \`to\` on the time that status began; without a status, \`from\` and \`to\` select by the contact's last change (updatedAt). ${STATUS_BEGIN} Examples: \`status=opted_out&from=2026-03-01&to=2026-04-01\` is everyone whose opt-out began in March and who is still opted out, whatever was edited since; \`status=returned&channel=email\` everyone who opted out of email before and accepts it now. ${STREAMING} ${SYNC_LIMIT("POST /v1/exports/contacts")}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: ContactsQuerySchema },
	parameters: [BOOKMARK_PARAMETER],
	responses: {
		200: csvResponse("The CSV file"),
		...errorResponses,
		413: tooLargeResponse("POST /v1/exports/contacts"),
	},
});

const getEventsCsv = createRoute({
	method: "get",
	path: "/v1/exports/events.csv",
	operationId: "exportEvents",
	tags: ["Data"],
	summary: "The consent ledger, as CSV",
	description: `One row per ledger row, oldest first: \`id, occurredAt, receivedAt, contactId, externalId, email, phone, businessUnit, event, channel, topic, changed, source, reason, feedback, campaign, ip, userAgent, changes, properties\` (the last two JSON). The contact columns are the contact as it is now; rows of erased contacts keep their contact id and have no contact columns (and no business unit, so a businessUnit filter leaves them out). ${STREAMING} ${SYNC_LIMIT("POST /v1/exports/events")}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: EventsQuerySchema },
	parameters: [BOOKMARK_PARAMETER],
	responses: {
		200: csvResponse("The CSV file"),
		...errorResponses,
		413: tooLargeResponse("POST /v1/exports/events"),
	},
});

const JobStatusSchema = z.enum(["queued", "running", "done", "failed"]);
const JobIdSchema = z.string().openapi({ example: "exp_3a1f0c9d8b7e4f2a9c6d5e4b3a2f1e0d" });

const JobAcceptedSchema = z.object({ id: JobIdSchema, status: JobStatusSchema }).openapi("ExportJobAccepted");

const ExportJobSchema = z
	.object({
		id: JobIdSchema,
		status: JobStatusSchema,
		processed: z.number().int().openapi({ description: "Rows written so far." }),
		total: z.number().int().nullable().openapi({ description: "Rows of the export, once counted." }),
		createdAt: z.string(),
		updatedAt: z.string(),
		download: z.string().optional().openapi({
			description: "Where the finished file is (status done).",
			example: "/v1/exports/exp_3a1f0c9d8b7e4f2a9c6d5e4b3a2f1e0d/download",
		}),
		error: z.string().optional().openapi({ description: "Why the job failed (status failed)." }),
	})
	.openapi("ExportJob");

const accepted = {
	description: "The export job was made: poll GET /v1/exports/{id} (the Location)",
	headers: z.object({
		location: z.string().openapi({ example: "/v1/exports/exp_3a1f0c9d8b7e4f2a9c6d5e4b3a2f1e0d" }),
	}),
	content: { "application/json": { schema: JobAcceptedSchema } },
};

const JOBS = `The job writes the file in parts, each within one invocation's budget, and keeps it until it is deleted from the bucket; the file is byte for byte what the synchronous export answers for the same data. Poll GET /v1/exports/{id} until the status is \`done\`, then fetch its \`download\`.`;

const postContactsJob = createRoute({
	method: "post",
	path: "/v1/exports/contacts",
	operationId: "exportContactsJob",
	tags: ["Data"],
	summary: "Contacts with their consent state, as a CSV export job (any size)",
	description: `The export of GET /v1/exports/contacts.csv with the same parameters, without its row limit. ${JOBS}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: ContactsQuerySchema },
	responses: { 202: accepted, ...errorResponses },
});

const postEventsJob = createRoute({
	method: "post",
	path: "/v1/exports/events",
	operationId: "exportEventsJob",
	tags: ["Data"],
	summary: "The consent ledger, as a CSV export job (any size)",
	description: `The export of GET /v1/exports/events.csv with the same parameters, without its row limit. ${JOBS}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: EventsQuerySchema },
	responses: { 202: accepted, ...errorResponses },
});

const jobParams = z.object({
	id: JobIdSchema.openapi({
		param: { name: "id", in: "path" },
		description: "The job's id, as POST /v1/exports/contacts or /v1/exports/events answered it (its Location).",
	}),
});

const getExportJob = createRoute({
	method: "get",
	path: "/v1/exports/{id}",
	operationId: "getExportJob",
	tags: ["Data"],
	summary: "An export job: its status and progress",
	description:
		"`queued`, `running` (`processed` of `total` rows written), `done` (with `download`) or `failed` (with `error`). Keys limited to business units see only jobs started by keys of their units (others: 404).",
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { params: jobParams },
	responses: { 200: jsonResponse(ExportJobSchema, "The job"), ...errorResponses },
});

const getExportDownload = createRoute({
	method: "get",
	path: "/v1/exports/{id}/download",
	operationId: "downloadExport",
	tags: ["Data"],
	summary: "The file of a finished export job",
	description: "The CSV, streamed, with its Content-Length. 409 while the job is not done.",
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { params: jobParams },
	responses: {
		200: csvResponse("The CSV file"),
		...errorResponses,
		409: conflictResponse("CONFLICT: the job is not done (queued, running or failed)"),
	},
});

/** BU-limited keys must name one of their business units. */
function allowedBusinessUnit(principal: Principal, businessUnit: string | undefined): void {
	if (businessUnit) assertBusinessUnit(principal, businessUnit);
	else if (principal.businessUnits) {
		throw new ApiError(
			403,
			"FORBIDDEN",
			`This key is limited to some business units: name one with businessUnit= (${principal.businessUnits.join(", ")}).`,
		);
	}
}

function csvHeaders(name: string, businessUnit: string | undefined, at = new Date()) {
	const stamp = at.toISOString().replace(/[-:]|\.\d+/g, "");
	return {
		"content-type": "text/csv; charset=utf-8",
		"content-disposition": `attachment; filename="${name}-${businessUnit ?? "all"}-${stamp}.csv"`,
		"cache-control": "no-store",
	};
}

/** The rules between status, channel and topic (the contacts export and the contact statistics). */
export function contactsQueryChecked(query: { status?: ContactStatus; channel?: Channel; topic?: string }) {
	const topicStatus = query.status === "subscribed" || query.status === "unsubscribed" || query.status === "pending";
	if (topicStatus && !query.topic) throw invalid(`query.topic: status=${query.status} needs a topic`);
	if (query.topic && query.status && !topicStatus) {
		throw invalid(`query.topic: a topic goes with status subscribed, unsubscribed or pending, not ${query.status}`);
	}
	if (query.channel && !(query.status && CHANNEL_STATUSES.includes(query.status))) {
		throw invalid("query.channel: a channel goes with status opted_out, bounced or returned");
	}
}

/** The topic a filter names, which must exist (and be usable in the business unit, when one is given); else 400. */
export function topicFilter(
	topics: readonly TopicDefinition[],
	key: string | undefined,
	businessUnit: string | undefined,
): TopicDefinition | undefined {
	if (!key) return undefined;
	const topic = topics.find((candidate) => candidate.key === key);
	if (!topic || (businessUnit && !topicAvailableIn(topic, businessUnit))) {
		throw invalid(`query.topic: unknown topic "${key}"${businessUnit ? ` for business unit "${businessUnit}"` : ""}`);
	}
	return topic;
}

/** The contacts export a query asks for: its filter and its topic columns (of the business unit, by key). */
async function contactsExport(
	env: Bindings,
	query: z.infer<typeof ContactsQuerySchema>,
): Promise<{ filter: ContactExportFilter; columns: TopicDefinition[] }> {
	contactsQueryChecked(query);
	const allTopics = [...(await loadTopics(env)).values()];
	const topic = topicFilter(allTopics, query.topic, query.businessUnit);
	const columns = allTopics
		.filter((candidate) => !query.businessUnit || topicAvailableIn(candidate, query.businessUnit))
		.sort((a, b) => (a.key < b.key ? -1 : 1));
	const filter: ContactExportFilter = {
		businessUnit: query.businessUnit,
		status: query.status,
		channel: query.channel,
		topic,
		from: query.from,
		to: query.to,
	};
	return { filter, columns };
}

function eventsFilter(query: z.infer<typeof EventsQuerySchema>): EventExportFilter {
	return {
		event: query.event === undefined ? undefined : canonicalEventName(query.event),
		source: query.source,
		businessUnit: query.businessUnit,
		from: query.from,
		to: query.to,
	};
}

/** The synchronous exports read at most SYNC_EXPORT_ROWS rows (one count, stopped past the limit). */
async function withinSyncLimit<Row>(source: ExportSource<Row>, job: string): Promise<ExportSource<Row>> {
	if ((await source.count(SYNC_EXPORT_ROWS + 1)) > SYNC_EXPORT_ROWS) {
		throw new ApiError(
			413,
			"PAYLOAD_TOO_LARGE",
			`This export has more than ${SYNC_EXPORT_ROWS.toLocaleString("en")} rows, more than one request may read. Make it as a job with ${job} and the same parameters (it answers where to poll and download), or narrow it with businessUnit, from and to.`,
		);
	}
	return source;
}

async function startExport(
	c: { env: Bindings; var: { principal: Principal }; header: (name: string, value: string) => void },
	businessUnit: string | undefined,
	options: ExportJobOptions,
) {
	const id = newJobId("export");
	const job = await startExportJob(c.env, {
		id,
		businessUnit: jobBusinessUnit(c.var.principal, businessUnit),
		options,
	});
	c.header("location", `/v1/exports/${id}`);
	return { id: job.id, status: job.status };
}

/** The export job the key may read, or 404. */
async function readableExportJob(env: Bindings, principal: Principal, id: string): Promise<Job> {
	const notFound = new ApiError(404, "NOT_FOUND", "There is no such export job (or this key may not read it).");
	if (!isJobId("export", id)) throw notFound;
	const job = await findJob(env, id);
	if (job?.kind !== "export" || !mayRead(principal, job)) throw notFound;
	return currentJob(env.EXPORT_WORKFLOW, env, job);
}

export const exportsRouter = createRouter()
	.openapi(getContactsCsv, async (c) => {
		const query = c.req.valid("query");
		allowedBusinessUnit(c.var.principal, query.businessUnit);
		const { filter, columns } = await contactsExport(c.env, query);
		const bookmark = sentBookmark(c);
		const source = await withinSyncLimit(
			contactsCsv(c.env, filter, columns, undefined, bookmark),
			"POST /v1/exports/contacts",
		);
		const stream = await csvStream(source);
		return c.body(stream, 200, csvHeaders("contacts", query.businessUnit));
	})
	.openapi(getEventsCsv, async (c) => {
		const query = c.req.valid("query");
		allowedBusinessUnit(c.var.principal, query.businessUnit);
		const bookmark = sentBookmark(c);
		const source = await withinSyncLimit(
			eventsCsv(c.env, eventsFilter(query), undefined, bookmark),
			"POST /v1/exports/events",
		);
		const stream = await csvStream(source);
		return c.body(stream, 200, csvHeaders("events", query.businessUnit));
	})
	.openapi(postContactsJob, async (c) => {
		const query = c.req.valid("query");
		allowedBusinessUnit(c.var.principal, query.businessUnit);
		const { filter, columns } = await contactsExport(c.env, query);
		return c.json(await startExport(c, query.businessUnit, { what: "contacts", filter, columns }), 202);
	})
	.openapi(postEventsJob, async (c) => {
		const query = c.req.valid("query");
		allowedBusinessUnit(c.var.principal, query.businessUnit);
		return c.json(await startExport(c, query.businessUnit, { what: "events", filter: eventsFilter(query) }), 202);
	})
	.openapi(getExportJob, async (c) => {
		const job = await readableExportJob(c.env, c.var.principal, c.req.valid("param").id);
		return c.json(
			{
				id: job.id,
				status: job.status,
				processed: job.processed,
				total: job.total,
				createdAt: job.createdAt,
				updatedAt: job.updatedAt,
				...(job.status === "done" ? { download: `/v1/exports/${job.id}/download` } : {}),
				...(job.status === "failed" && job.error ? { error: job.error } : {}),
			},
			200,
		);
	})
	.openapi(getExportDownload, async (c) => {
		const job = await readableExportJob(c.env, c.var.principal, c.req.valid("param").id);
		if (job.status !== "done") {
			throw new ApiError(
				409,
				"CONFLICT",
				job.status === "failed"
					? `The export failed (${job.error ?? "no reason given"}); make it again.`
					: `The export is ${job.status} (${job.processed} rows written so far): poll GET /v1/exports/${job.id} until it is done.`,
			);
		}
		const options = job.options as ExportJobOptions;
		const file = await exportFile(c.env, job.id);
		return c.body(file.body, 200, {
			...csvHeaders(options.what, options.filter.businessUnit, new Date(job.createdAt)),
			"content-length": String(file.size),
		});
	});
