import { createRoute, z } from "@hono/zod-openapi";
import { readDatabase } from "../db/client";
import { campaignStats, contactStatusSeries, optOutSeries } from "../db/stats";
import { loadTopics } from "../db/topics";
import { CONTACT_STATUSES } from "../exports/exports";
import { assertAllBusinessUnits, assertBusinessUnit, type Principal, requireScope } from "../http/auth";
import { BOOKMARK_PARAMETER, sentBookmark } from "../http/bookmark";
import { invalid } from "../http/errors";
import { createRouter } from "../http/router";
import {
	checkRange,
	GROUP_BYS,
	INTERVALS,
	type Interval,
	MAX_SENT_CAMPAIGNS,
	parseTime,
	type StatsFilter,
} from "../reports/stats";
import { contactsQueryChecked, STATUS_BEGIN, STATUS_MEANING, topicFilter } from "./exports";
import {
	BusinessUnitValueSchema,
	bearerScopes,
	ChannelSchema,
	errorResponses,
	jsonResponse,
	TopicKeySchema,
} from "./schemas";

const tags = ["Stats"];

const COUNTING =
	"Counted are ledger rows that changed consent state (`changed: true`) with the event `Opt Out`, `Unsubscribe` " +
	"or `Complaint` (a spam complaint opts the channel out; its reason is `complaint`), by the time the event " +
	"occurred, in UTC. Bounces, blocks and events that changed nothing (a repeated unsubscribe) are not opt-outs.";

const timeParam = (end: "from" | "to", description: string, example: string) =>
	z
		.string()
		.max(64)
		.optional()
		.transform((value, ctx) => {
			if (value === undefined) return undefined;
			const time = parseTime(value, end);
			if (!time) {
				ctx.addIssue({
					code: "custom",
					message: "an ISO 8601 date (2026-11-01) or date-time with Z or an offset (2026-11-01T00:00:00%2B01:00)",
				});
			}
			return time ?? undefined;
		})
		.openapi({ type: "string", description, example });

const rangeParams = {
	from: timeParam(
		"from",
		"Start, inclusive: a date (UTC midnight) or a date-time with `Z` or an offset (send `+` as `%2B`). " +
			"Default: the start of the UTC day 29 days before `to`'s day, so the last 30 days.",
		"2026-11-01",
	),
	to: timeParam(
		"to",
		"End, exclusive; a date means the end of that day (`to=2026-11-30` includes November 30). Default: now.",
		"2026-11-30",
	),
	businessUnit: BusinessUnitValueSchema.optional().openapi({
		description:
			"Only contacts of this business unit. Omitted: every business unit, including rows of erased contacts " +
			"(which belong to none any more); a key limited to business units must name one of its units.",
	}),
};

const intervalParam = z
	.enum(INTERVALS)
	.default("day")
	.openapi({
		description:
			"UTC buckets. `day`: label `2026-11-23`. `week`: ISO weeks, Monday to Sunday, labelled with the " +
			"Monday's date (`2026-11-23`; also across a year's end: 2027-01-03 is in week `2026-12-28`). " +
			"`month`: label `2026-11`. Buckets follow UTC whatever offset `from` and `to` carry.",
	});

const OptOutQuerySchema = z.strictObject({
	...rangeParams,
	interval: intervalParam,
	groupBy: z
		.enum(GROUP_BYS)
		.optional()
		.openapi({
			description:
				"The key of each count: the row's channel (null: an opt-out from every channel), topic (null: a " +
				"channel opt-out), source (`one_click`, `unsubscribe_page`, `webhook:sendgrid`, …), reason (the " +
				"unsubscribe page's choices, `complaint`, or what the event said; null: none given) or campaign " +
				"(null: no campaign on the link). Omitted: one total per bucket, key null.",
		}),
});

const SeriesPointSchema = z.object({
	bucket: z.string().openapi({ example: "2026-11-23" }),
	key: z.string().nullable().openapi({ example: "email" }),
	count: z.number().int().openapi({ example: 2 }),
});

const OptOutStatsSchema = z
	.object({
		interval: z.enum(INTERVALS),
		groupBy: z.enum(GROUP_BYS).nullable(),
		businessUnit: z.string().nullable(),
		from: z.string().openapi({ description: "The range's start as used, ISO 8601 UTC, inclusive." }),
		to: z.string().openapi({ description: "The range's end as used, ISO 8601 UTC, exclusive." }),
		buckets: z.array(z.string()).openapi({
			description:
				"Every bucket the range touches, oldest first, also those without opt-outs (the first and last may be partial).",
		}),
		series: z.array(SeriesPointSchema).openapi({
			description: "Non-zero counts only, sorted by bucket, then key (null first).",
		}),
	})
	.openapi("OptOutStats");

const getOptOuts = createRoute({
	method: "get",
	path: "/v1/stats/opt-outs",
	operationId: "getOptOutStats",
	tags,
	summary: "Opt-outs and unsubscribes per day, week or month",
	description: `${COUNTING} At most 1000 buckets per call.`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: OptOutQuerySchema },
	parameters: [BOOKMARK_PARAMETER],
	responses: { 200: jsonResponse(OptOutStatsSchema, "Counts per bucket and key"), ...errorResponses },
});

const ContactStatsQuerySchema = z.strictObject({
	status: z.enum(CONTACT_STATUSES).openapi({ description: STATUS_MEANING }),
	channel: ChannelSchema.optional().openapi({ description: "With status opted_out, bounced or returned." }),
	topic: TopicKeySchema.optional().openapi({
		description: "With status subscribed, unsubscribed or pending (required).",
	}),
	from: timeParam(
		"from",
		"The status began at or after this instant: a date (UTC midnight) or a date-time with `Z` or an offset " +
			"(send `+` as `%2B`). Default: the start of the UTC day 29 days before `to`'s day, so the last 30 days.",
		"2026-03-01",
	),
	to: timeParam(
		"to",
		"The status began before this instant; a date means the end of that day (`to=2026-03-31` includes March 31). Default: now.",
		"2026-03-31",
	),
	businessUnit: BusinessUnitValueSchema.optional().openapi({
		description:
			"Only contacts of this business unit. Omitted: every business unit; a key limited to business units " +
			"must name one of its units.",
	}),
	interval: intervalParam,
});

const ContactStatsSchema = z
	.object({
		status: z.enum(CONTACT_STATUSES),
		channel: z.string().nullable(),
		topic: z.string().nullable(),
		interval: z.enum(INTERVALS),
		businessUnit: z.string().nullable(),
		from: z.string().openapi({ description: "The range's start as used, ISO 8601 UTC, inclusive." }),
		to: z.string().openapi({ description: "The range's end as used, ISO 8601 UTC, exclusive." }),
		buckets: z.array(z.string()).openapi({
			description: "Every bucket the range touches, oldest first, also those without contacts.",
		}),
		series: z
			.array(z.object({ bucket: z.string().openapi({ example: "2026-03" }), count: z.number().int() }))
			.openapi({ description: "Non-zero counts only, by bucket: contacts whose status began in it." }),
		total: z
			.number()
			.int()
			.openapi({ description: "Contacts whose status began in the range (the sum of the series)." }),
	})
	.openapi("ContactStats");

const getContactStats = createRoute({
	method: "get",
	path: "/v1/stats/contacts",
	operationId: "getContactStats",
	tags,
	summary: "Contacts by status, counted by when their status began (opt-outs still in force, people who came back, …)",
	description:
		"People, not events: the contacts whose status is `status` now and whose status began in the range, each " +
		"counted once, in the bucket of the time it began (with `opted_out`, `bounced` or `returned` and no channel: " +
		"the earliest such begin in the range over the channels). It is the selection of GET /v1/exports/contacts.csv " +
		"with the same status, channel, topic and range, so `total` is that export's row count. " +
		`${STATUS_BEGIN} ` +
		"Examples: `status=returned&channel=email&interval=month` — per month, the people who came back to email " +
		"and still accept it; `status=opted_out&interval=month` — of each month's opt-outs, those still in force " +
		"(GET /v1/stats/opt-outs counts the opt-out events instead, also those reversed since); " +
		"`status=subscribed&topic=newsletter` — new subscribers who stayed. Reads every contact of the business " +
		"unit (or all): as costly as counting an export. At most 1000 buckets per call.",
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: ContactStatsQuerySchema },
	parameters: [BOOKMARK_PARAMETER],
	responses: {
		200: jsonResponse(ContactStatsSchema, "Contacts per bucket of their status's begin"),
		...errorResponses,
	},
});

/** `campaign:count`, split at the last colon (campaign ids may hold colons, counts never). */
const SentSchema = z
	.union([z.string(), z.array(z.string()).max(MAX_SENT_CAMPAIGNS)])
	.optional()
	.transform((value, ctx) => {
		if (value === undefined) return null;
		const sent = new Map<string, number>();
		for (const item of Array.isArray(value) ? value : [value]) {
			const match = /^(.{1,128}):(\d{1,12})$/s.exec(item);
			const campaign = match?.[1];
			const count = Number(match?.[2]);
			if (!campaign || /\p{Cc}/u.test(campaign) || !(count > 0)) {
				ctx.addIssue({ code: "custom", message: `"${item.slice(0, 160)}" is not campaign:count with a count above 0` });
			} else if (sent.has(campaign)) {
				ctx.addIssue({ code: "custom", message: `campaign "${campaign}" is given twice` });
			} else {
				sent.set(campaign, count);
			}
		}
		return sent;
	})
	.openapi({
		type: "array",
		items: { type: "string" },
		example: ["nov-2026:120000"],
		// Repeated (?sent=a:1&sent=b:2): the default for a query array, stated for generated clients.
		param: { style: "form", explode: true },
		description:
			"How many messages a campaign was sent to, as `campaign:count`; repeat for more campaigns (at most " +
			`${MAX_SENT_CAMPAIGNS}). With it, exactly these campaigns are listed, each with its rate.`,
	});

const CampaignQuerySchema = z.strictObject({
	...rangeParams,
	sent: SentSchema,
	limit: z.coerce.number().int().min(1).max(1000).default(100).openapi({
		description: "Without `sent`: how many campaigns to list, the most unsubscribed first.",
	}),
});

const CampaignStatSchema = z.object({
	campaign: z.string().openapi({ example: "nov-2026" }),
	unsubscribes: z.number().int().openapi({ description: "Opt-out, unsubscribe and complaint rows with the campaign." }),
	contacts: z.number().int().openapi({ description: "Distinct contacts among them: the people the campaign lost." }),
	sent: z.number().int().nullable().openapi({ description: "As given in `sent`; null when not given." }),
	rate: z
		.number()
		.nullable()
		.openapi({ example: 0.0021, description: "contacts / sent (0.0021 = 0.21 %), 6 decimals; null without `sent`." }),
});

const CampaignStatsSchema = z
	.object({
		businessUnit: z.string().nullable(),
		from: z.string(),
		to: z.string(),
		campaigns: z.array(CampaignStatSchema),
	})
	.openapi("CampaignStats");

const getCampaigns = createRoute({
	method: "get",
	path: "/v1/stats/campaigns",
	operationId: "getCampaignStats",
	tags,
	summary: "Unsubscribes and the unsubscribe rate per campaign id",
	description:
		"Per campaign id carried by unsubscribe and preference links (`campaign` of POST /v1/links): the opt-outs " +
		"and unsubscribes made through them. consent-edge does not send messages and does not know how many a " +
		"campaign went to, so it never guesses a denominator: pass the send count per campaign in `sent` to get " +
		"`rate` = distinct contacts who left / sent, the unsubscribe rate as an ESP reports it. Count from the send: " +
		`set \`from\` to the campaign's send time and leave \`to\` open. ${COUNTING}`,
	security: bearerScopes("reports:read"),
	middleware: [requireScope("reports:read")] as const,
	request: { query: CampaignQuerySchema },
	parameters: [BOOKMARK_PARAMETER],
	responses: { 200: jsonResponse(CampaignStatsSchema, "Unsubscribes per campaign"), ...errorResponses },
});

/** The business unit a key may ask for: its own, or every unit only when it is not limited. */
function allowedUnit(principal: Principal, businessUnit: string | undefined): string | null {
	if (businessUnit === undefined) {
		assertAllBusinessUnits(principal);
		return null;
	}
	assertBusinessUnit(principal, businessUnit);
	return businessUnit;
}

function filterOf(
	principal: Principal,
	query: { from?: Date; to?: Date; businessUnit?: string },
	interval: Interval,
): { filter: StatsFilter; buckets: string[] } {
	const businessUnit = allowedUnit(principal, query.businessUnit);
	const checked = checkRange(query.from, query.to, interval);
	if (!checked.ok)
		throw invalid(`query.${checked.path}: ${checked.message}`, [
			{ path: `query.${checked.path}`, message: checked.message },
		]);
	return { filter: { ...checked.range, businessUnit }, buckets: checked.buckets };
}

export const statsRouter = createRouter()
	.openapi(getOptOuts, async (c) => {
		const query = c.req.valid("query");
		const { filter, buckets } = filterOf(c.var.principal, query, query.interval);
		const db = readDatabase(c.env, sentBookmark(c));
		const series = await optOutSeries(c.env, filter, query.interval, query.groupBy ?? null, db);
		return c.json(
			{
				interval: query.interval,
				groupBy: query.groupBy ?? null,
				businessUnit: filter.businessUnit,
				from: filter.from.toISOString(),
				to: filter.to.toISOString(),
				buckets,
				series,
			},
			200,
		);
	})
	.openapi(getContactStats, async (c) => {
		const query = c.req.valid("query");
		contactsQueryChecked(query);
		const { filter, buckets } = filterOf(c.var.principal, query, query.interval);
		const topic = topicFilter([...(await loadTopics(c.env)).values()], query.topic, query.businessUnit);
		const db = readDatabase(c.env, sentBookmark(c));
		const series = await contactStatusSeries(
			c.env,
			filter,
			{ status: query.status, channel: query.channel, topic },
			query.interval,
			db,
		);
		return c.json(
			{
				status: query.status,
				channel: query.channel ?? null,
				topic: query.topic ?? null,
				interval: query.interval,
				businessUnit: filter.businessUnit,
				from: filter.from.toISOString(),
				to: filter.to.toISOString(),
				buckets,
				series,
				total: series.reduce((sum, point) => sum + point.count, 0),
			},
			200,
		);
	})
	.openapi(getCampaigns, async (c) => {
		const query = c.req.valid("query");
		// The range is not bucketed here: any length is fine ("month" allows the longest).
		const { filter } = filterOf(c.var.principal, query, "month");
		const db = readDatabase(c.env, sentBookmark(c));
		const campaigns = await campaignStats(c.env, filter, { sent: query.sent, limit: query.limit }, db);
		return c.json(
			{ businessUnit: filter.businessUnit, from: filter.from.toISOString(), to: filter.to.toISOString(), campaigns },
			200,
		);
	});
