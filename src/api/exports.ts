import { createRoute, z } from "@hono/zod-openapi";
import { canonicalEventName } from "../consent/normalize";
import { topicAvailableIn } from "../consent/topics";
import type { TopicDefinition } from "../consent/types";
import { loadTopics } from "../db/topics";
import { CONTACT_STATUSES, contactsCsv, csvStream, EXPORT_PAGE_SIZE, eventsCsv } from "../exports/exports";
import { assertBusinessUnit, type Principal, requireScope } from "../http/auth";
import { ApiError, invalid } from "../http/errors";
import { createRouter } from "../http/router";

import { BusinessUnitValueSchema, bearerScopes, ChannelSchema, errorResponses, TopicKeySchema } from "./schemas";

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

const ContactsQuerySchema = z.strictObject({
	status: z.enum(CONTACT_STATUSES).optional().openapi({
		description:
			"`subscribed`, `unsubscribed`, `pending`: the effective status of `topic` (required with them). `opted_out`, `bounced`: of `channel`, or of any channel without one. `blocked`: the contact.",
	}),
	channel: ChannelSchema.optional().openapi({ description: "With status opted_out or bounced." }),
	topic: TopicKeySchema.optional().openapi({
		description: "With status subscribed, unsubscribed or pending; alone: contacts with any status for the topic.",
	}),
	...range("Contacts changed (updatedAt)"),
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

const getContactsCsv = createRoute({
	method: "get",
	path: "/v1/exports/contacts.csv",
	operationId: "exportContacts",
	tags: ["Data"],
	summary: "Contacts with their consent state, as CSV",
	description: `One row per contact, by id. Columns: \`id, externalId, email, phone, businessUnit, createdAt, updatedAt, blocked\`, then \`optedOut:<channel>, bounced:<channel>\` (true/false) for email, sms, whatsapp and push, then \`topic:<key>\` for every topic (of the business unit, when one is given; by key): the effective status (\`subscribed\`, \`pending\`, \`unsubscribed\` — unsubscribed while the topic's channel is opted out), empty when the contact has none. The column names are those of POST /v1/imports/contacts. ${STREAMING}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: ContactsQuerySchema },
	responses: { 200: csvResponse("The CSV file"), ...errorResponses },
});

const getEventsCsv = createRoute({
	method: "get",
	path: "/v1/exports/events.csv",
	operationId: "exportEvents",
	tags: ["Data"],
	summary: "The consent ledger, as CSV",
	description: `One row per ledger row, oldest first: \`id, occurredAt, receivedAt, contactId, externalId, email, phone, businessUnit, event, channel, topic, changed, source, reason, feedback, campaign, ip, userAgent, changes, properties\` (the last two JSON). The contact columns are the contact as it is now; rows of erased contacts keep their contact id and have no contact columns (and no business unit, so a businessUnit filter leaves them out). ${STREAMING}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: EventsQuerySchema },
	responses: { 200: csvResponse("The CSV file"), ...errorResponses },
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

function csvHeaders(name: string, businessUnit: string | undefined) {
	const stamp = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
	return {
		"content-type": "text/csv; charset=utf-8",
		"content-disposition": `attachment; filename="${name}-${businessUnit ?? "all"}-${stamp}.csv"`,
		"cache-control": "no-store",
	};
}

export const exportsRouter = createRouter()
	.openapi(getContactsCsv, async (c) => {
		const query = c.req.valid("query");
		allowedBusinessUnit(c.var.principal, query.businessUnit);
		const topicStatus = query.status === "subscribed" || query.status === "unsubscribed" || query.status === "pending";
		if (topicStatus && !query.topic) throw invalid(`query.topic: status=${query.status} needs a topic`);
		if (query.topic && query.status && !topicStatus) {
			throw invalid(`query.topic: a topic goes with status subscribed, unsubscribed or pending, not ${query.status}`);
		}
		if (query.channel && query.status !== "opted_out" && query.status !== "bounced") {
			throw invalid("query.channel: a channel goes with status opted_out or bounced");
		}
		const allTopics = [...(await loadTopics(c.env)).values()];
		let topic: TopicDefinition | undefined;
		if (query.topic) {
			topic = allTopics.find((candidate) => candidate.key === query.topic);
			if (!topic || (query.businessUnit && !topicAvailableIn(topic, query.businessUnit))) {
				throw invalid(
					`query.topic: unknown topic "${query.topic}"${query.businessUnit ? ` for business unit "${query.businessUnit}"` : ""}`,
				);
			}
		}
		const columns = allTopics
			.filter((candidate) => !query.businessUnit || topicAvailableIn(candidate, query.businessUnit))
			.sort((a, b) => (a.key < b.key ? -1 : 1));
		const stream = await csvStream(
			contactsCsv(
				c.env,
				{
					businessUnit: query.businessUnit,
					status: query.status,
					channel: query.channel,
					topic,
					from: query.from,
					to: query.to,
				},
				columns,
			),
		);
		return c.body(stream, 200, csvHeaders("contacts", query.businessUnit));
	})
	.openapi(getEventsCsv, async (c) => {
		const query = c.req.valid("query");
		allowedBusinessUnit(c.var.principal, query.businessUnit);
		const stream = await csvStream(
			eventsCsv(c.env, {
				event: query.event === undefined ? undefined : canonicalEventName(query.event),
				source: query.source,
				businessUnit: query.businessUnit,
				from: query.from,
				to: query.to,
			}),
		);
		return c.body(stream, 200, csvHeaders("events", query.businessUnit));
	});
