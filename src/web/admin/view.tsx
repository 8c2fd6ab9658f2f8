import type { Child, FC } from "hono/jsx";
import type { Job } from "../../db/jobs";
import type { CampaignStat, RecentEvent } from "../../db/stats";
import type { GroupBy, Interval, SeriesPoint } from "../../reports/stats";
import { renderPage } from "../common/layout";

/*
 * The admin dashboard, English only, server-rendered: no script, no inline style (the
 * strict CSP), charts as SVG drawn here with their numbers also in tables for screen readers and
 * for anyone who wants the exact figures.
 */

const AdminLayout: FC<{ title: string; signedIn: boolean; refreshSeconds?: number; children?: Child }> = ({
	title,
	signedIn,
	refreshSeconds,
	children,
}) => (
	<html lang="en">
		<head>
			<meta charset="utf-8" />
			<meta name="viewport" content="width=device-width, initial-scale=1" />
			<meta name="robots" content="noindex, nofollow" />
			<meta name="referrer" content="same-origin" />
			{/* No script under the CSP: a page that follows running work reloads itself. */}
			{refreshSeconds ? <meta http-equiv="refresh" content={String(refreshSeconds)} /> : null}
			<title>{title}</title>
			<link rel="stylesheet" href="/assets/app.css" />
			<link rel="icon" href="data:," />
		</head>
		<body>
			<header class="admin-bar">
				<span class="admin-brand">consent-edge admin</span>
				{signedIn ? (
					<form method="post" action="/admin/logout">
						<button type="submit" class="secondary small-button">
							Sign out
						</button>
					</form>
				) : null}
			</header>
			<main class="admin">{children}</main>
		</body>
	</html>
);

// ---------------------------------------------------------------------------------------------
// Sign-in

export interface LoginPageProps {
	next: string;
	/** What went wrong, shown as an alert. */
	error?: string | null;
	/** Shown as a status message (after signing out). */
	notice?: string | null;
	/** No ADMIN_TOKEN: nobody can sign in. */
	disabled?: boolean;
}

export function renderLoginPage(props: LoginPageProps): string {
	return renderPage(
		<AdminLayout title="Sign in · consent-edge admin" signedIn={false}>
			<div class="narrow">
				<h1>Sign in</h1>
				{props.notice ? (
					<p class="notice success" role="status">
						{props.notice}
					</p>
				) : null}
				{props.error ? (
					<div class="notice error" role="alert">
						<p>{props.error}</p>
					</div>
				) : null}
				{props.disabled ? (
					<p>ADMIN_TOKEN is not set for this deployment, so the dashboard is switched off.</p>
				) : (
					<form method="post" action="/admin/login" class="card">
						{/* For password managers: the token is the password of the one user "admin". */}
						<input type="text" name="username" value="admin" autocomplete="username" hidden />
						<input type="hidden" name="next" value={props.next} />
						<label for="token">Admin token</label>
						<input
							type="password"
							id="token"
							name="token"
							autocomplete="current-password"
							required
							aria-describedby="token-hint"
						/>
						<p id="token-hint" class="desc">
							The ADMIN_TOKEN secret of this deployment. You stay signed in for 8 hours.
						</p>
						<div class="actions">
							<button type="submit">Sign in</button>
						</div>
					</form>
				)}
			</div>
		</AdminLayout>,
	);
}

// ---------------------------------------------------------------------------------------------
// Dashboard

export interface DashboardData {
	from: Date;
	to: Date;
	interval: Interval;
	businessUnit: string | null;
	buckets: string[];
	/** Totals per bucket (key null). */
	series: SeriesPoint[];
	byChannel: Array<{ key: string | null; count: number }>;
	byReason: Array<{ key: string | null; count: number }>;
	bySource: Array<{ key: string | null; count: number }>;
	campaigns: CampaignStat[];
	recent: RecentEvent[];
}

export interface DashboardProps {
	/** The filter form's values, as given (or the defaults). */
	form: { from: string; to: string; businessUnit: string; interval: Interval | "auto" };
	error: string | null;
	data: DashboardData | null;
	signedIn: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A short axis label: "Nov 23" for days and weeks, "Nov 2026" for months. */
function shortLabel(bucket: string, interval: Interval): string {
	const month = MONTHS[Number(bucket.slice(5, 7)) - 1] ?? bucket;
	return interval === "month" ? `${month} ${bucket.slice(0, 4)}` : `${month} ${Number(bucket.slice(8, 10))}`;
}

/** A bucket as words: "2026-11-23", "the week of 2026-11-23", "2026-11". */
function longLabel(bucket: string, interval: Interval): string {
	return interval === "week" ? `the week of ${bucket}` : bucket;
}

const NULL_KEYS: Record<GroupBy, string> = {
	channel: "all channels",
	topic: "(no topic)",
	source: "(none)",
	reason: "(none given)",
	campaign: "(no campaign)",
};

/** 1, 2 or 5 × 10^n: a step that gives at most 5 gridlines up to max. */
function niceStep(max: number): number {
	const rough = Math.max(1, max) / 5;
	const power = 10 ** Math.floor(Math.log10(rough));
	const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? power * 10;
	return Math.max(1, step);
}

const formatCount = (value: number) => value.toLocaleString("en-US");

/**
 * In viewBox units. The chart scales with the page; the stylesheet sets a larger font (in these
 * units) on narrower screens, so labels stay readable on a phone, where every other x label hides.
 */
const CHART = { width: 960, height: 330, left: 80, right: 12, top: 24, bottom: 62 };

/** Tick labels: 1,500 would not fit the gutter in a phone's font size; 1.5k does. */
const tickLabel = (value: number) => (value >= 1000 ? `${Number((value / 1000).toFixed(1))}k` : String(value));

/** Opt-outs per bucket as bars, with a title and description naming the totals (role="img"). */
const OptOutChart: FC<{ data: DashboardData; counts: number[]; total: number }> = ({ data, counts, total }) => {
	const plotWidth = CHART.width - CHART.left - CHART.right;
	const plotHeight = CHART.height - CHART.top - CHART.bottom;
	const max = Math.max(0, ...counts);
	const step = niceStep(max);
	const top = Math.max(step, Math.ceil(max / step) * step);
	const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
	const slot = plotWidth / Math.max(1, data.buckets.length);
	const barWidth = Math.max(1, slot * 0.7);
	const labelEvery = Math.ceil(data.buckets.length / 8);
	const y = (value: number) => Math.round((CHART.top + plotHeight - (value / top) * plotHeight) * 100) / 100;
	const peakIndex = counts.indexOf(max);
	const peak = data.buckets[peakIndex];
	const description =
		total === 0
			? "No opt-outs in this range."
			: `${formatCount(total)} in total; the most, ${formatCount(max)}, in ${longLabel(peak ?? "", data.interval)}.`;
	return (
		<svg
			class="chart"
			viewBox={`0 0 ${CHART.width} ${CHART.height}`}
			role="img"
			aria-labelledby="chart-title chart-desc"
		>
			<title id="chart-title">{`Opt-outs per ${data.interval}, ${data.buckets[0]} to ${data.buckets.at(-1)} (UTC)`}</title>
			<desc id="chart-desc">{description}</desc>
			<g class="grid">
				{ticks.map((tick) => (
					<g>
						<line x1={CHART.left} x2={CHART.width - CHART.right} y1={y(tick)} y2={y(tick)} />
						<text x={CHART.left - 10} y={y(tick)} dy="0.35em" text-anchor="end">
							{tickLabel(tick)}
						</text>
					</g>
				))}
			</g>
			<g class="bars">
				{counts.map((count, index) =>
					count > 0 ? (
						<rect
							x={(CHART.left + index * slot + (slot - barWidth) / 2).toFixed(2)}
							y={y(count)}
							width={barWidth.toFixed(2)}
							height={(CHART.top + plotHeight - y(count)).toFixed(2)}
						>
							<title>{`${data.interval === "week" ? "Week of " : ""}${data.buckets[index]}: ${formatCount(count)}`}</title>
						</rect>
					) : null,
				)}
			</g>
			<g class="x-labels">
				{data.buckets.map((bucket, index) =>
					index % labelEvery === 0 ? (
						<text
							x={(CHART.left + index * slot + slot / 2).toFixed(2)}
							y={CHART.top + plotHeight}
							dy="1.6em"
							text-anchor="middle"
							class={(index / labelEvery) % 2 === 1 ? "minor" : undefined}
						>
							{shortLabel(bucket, data.interval)}
						</text>
					) : null,
				)}
			</g>
		</svg>
	);
};

/** A table of counts per key, each with a bar relative to the largest (decorative: the number is in the row). */
const Breakdown: FC<{
	id: string;
	title: string;
	groupBy: GroupBy;
	rows: Array<{ key: string | null; count: number }>;
}> = ({ id, title, groupBy, rows }) => {
	const max = Math.max(1, ...rows.map((row) => row.count));
	return (
		<section class="panel" aria-labelledby={id}>
			<h2 id={id}>{title}</h2>
			{rows.length === 0 ? (
				<p class="muted">None in this range.</p>
			) : (
				<table class="breakdown">
					<thead>
						<tr>
							<th scope="col">{groupBy[0]?.toUpperCase() + groupBy.slice(1)}</th>
							<th scope="col" class="num">
								Opt-outs
							</th>
							<th scope="col">
								<span class="visually-hidden">Share</span>
							</th>
						</tr>
					</thead>
					<tbody>
						{rows.map((row) => (
							<tr>
								<td>{row.key === null ? <span class="muted">{NULL_KEYS[groupBy]}</span> : row.key}</td>
								<td class="num">{formatCount(row.count)}</td>
								<td class="meter-cell">
									<svg class="meter" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
										<rect width={((row.count / max) * 100).toFixed(2)} height="10" />
									</svg>
								</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
		</section>
	);
};

const Cell: FC<{ value: string | null; empty?: string }> = ({ value, empty = "–" }) => (
	<td>{value === null ? <span class="muted">{empty}</span> : value}</td>
);

export function renderDashboardPage(props: DashboardProps): string {
	const { data, form } = props;
	const counts = data ? countsPerBucket(data) : [];
	const total = counts.reduce((sum, count) => sum + count, 0);
	return renderPage(
		<AdminLayout title="Dashboard · consent-edge admin" signedIn={props.signedIn}>
			<h1>Opt-outs and unsubscribes</h1>
			<p class="small">
				<a href="/admin/jobs">Imports and exports (jobs)</a>
			</p>
			<form method="get" action="/admin" class="filters" aria-label="Filter">
				<div>
					<label for="from">From</label>
					<input type="date" id="from" name="from" value={form.from} />
				</div>
				<div>
					<label for="to">To (inclusive)</label>
					<input type="date" id="to" name="to" value={form.to} />
				</div>
				<div>
					<label for="businessUnit">Business unit</label>
					<input type="text" id="businessUnit" name="businessUnit" value={form.businessUnit} placeholder="all" />
				</div>
				<div>
					<label for="interval">Interval</label>
					<select id="interval" name="interval">
						{(["auto", "day", "week", "month"] as const).map((value) => (
							<option value={value} selected={form.interval === value}>
								{value === "auto" ? "automatic" : value}
							</option>
						))}
					</select>
				</div>
				<div class="filters-submit">
					<button type="submit">Show</button>
				</div>
			</form>
			{props.error ? (
				<div class="notice error" role="alert">
					<p>{props.error}</p>
				</div>
			) : null}
			{data ? (
				<>
					<p class="muted small">
						{`${data.from.toISOString().slice(0, 16).replace("T", " ")} to ${data.to.toISOString().slice(0, 16).replace("T", " ")} UTC, `}
						{data.businessUnit ? `business unit ${data.businessUnit}` : "every business unit"}. Counted: Opt Out,
						Unsubscribe and Complaint events that changed consent.
					</p>
					<section aria-labelledby="over-time">
						<h2 id="over-time">
							Over time <span class="muted small">({formatCount(total)} in total)</span>
						</h2>
						<OptOutChart data={data} counts={counts} total={total} />
						<details>
							<summary>The numbers per {data.interval}</summary>
							<table>
								<thead>
									<tr>
										<th scope="col">
											{data.interval === "week"
												? "Week of (Monday)"
												: data.interval[0]?.toUpperCase() + data.interval.slice(1)}
										</th>
										<th scope="col" class="num">
											Opt-outs
										</th>
									</tr>
								</thead>
								<tbody>
									{data.buckets.map((bucket, index) => (
										<tr>
											<td>{bucket}</td>
											<td class="num">{formatCount(counts[index] ?? 0)}</td>
										</tr>
									))}
								</tbody>
							</table>
						</details>
					</section>
					<div class="panels">
						<Breakdown id="by-channel" title="By channel" groupBy="channel" rows={data.byChannel} />
						<Breakdown id="by-reason" title="By reason" groupBy="reason" rows={data.byReason} />
						<Breakdown id="by-source" title="By source" groupBy="source" rows={data.bySource} />
					</div>
					<CampaignTable campaigns={data.campaigns} />
					<RecentTable events={data.recent} />
				</>
			) : null}
		</AdminLayout>,
	);
}

function countsPerBucket(data: DashboardData): number[] {
	const byBucket = new Map(data.series.map((point) => [point.bucket, point.count]));
	return data.buckets.map((bucket) => byBucket.get(bucket) ?? 0);
}

const CampaignTable: FC<{ campaigns: CampaignStat[] }> = ({ campaigns }) => (
	<section>
		<h2 id="campaigns">Campaigns with the most unsubscribes</h2>
		<p class="muted small">
			People who opted out or unsubscribed through a campaign's links. consent-edge does not know how many messages a
			campaign went to: for the rate, pass the send counts to <code>GET /v1/stats/campaigns?sent=campaign:count</code>.
		</p>
		{campaigns.length === 0 ? (
			<p class="muted">No unsubscribes through campaign links in this range.</p>
		) : (
			<section class="table-wrap" aria-labelledby="campaigns" tabindex={0}>
				<table>
					<thead>
						<tr>
							<th scope="col">Campaign</th>
							<th scope="col" class="num">
								People
							</th>
							<th scope="col" class="num">
								Events
							</th>
						</tr>
					</thead>
					<tbody>
						{campaigns.map((row) => (
							<tr>
								<td>{row.campaign}</td>
								<td class="num">{formatCount(row.contacts)}</td>
								<td class="num">{formatCount(row.unsubscribes)}</td>
							</tr>
						))}
					</tbody>
				</table>
			</section>
		)}
	</section>
);

const RecentTable: FC<{ events: RecentEvent[] }> = ({ events }) => (
	<section>
		<h2 id="recent">Latest ledger events</h2>
		<p class="muted small">
			The {events.length === 50 ? "50 newest" : "newest"} events of every kind in this range, by the time they occurred
			(UTC). Greyed rows changed nothing. A person's full record: <code>{"GET /v1/users/{externalId}/history"}</code>.
		</p>
		{events.length === 0 ? (
			<p class="muted">No events in this range.</p>
		) : (
			<section class="table-wrap" aria-labelledby="recent" tabindex={0}>
				<table class="recent">
					<thead>
						<tr>
							<th scope="col">Occurred (UTC)</th>
							<th scope="col">Event</th>
							<th scope="col">Channel</th>
							<th scope="col">Topic</th>
							<th scope="col">Source</th>
							<th scope="col">Reason</th>
							<th scope="col">Campaign</th>
							<th scope="col">Business unit</th>
							<th scope="col">Changed</th>
						</tr>
					</thead>
					<tbody>
						{events.map((event) => (
							<tr class={event.changed ? undefined : "unchanged"}>
								<td>
									<time datetime={event.occurredAt}>{event.occurredAt.slice(0, 19).replace("T", " ")}</time>
								</td>
								<td>{event.event}</td>
								<Cell value={event.channel} />
								<Cell value={event.topic} />
								<Cell value={event.source} />
								<Cell value={event.reason} />
								<Cell value={event.campaign} />
								<Cell value={event.businessUnit} empty="(erased)" />
								<td>{event.changed ? "yes" : "no"}</td>
							</tr>
						))}
					</tbody>
				</table>
			</section>
		)}
	</section>
);

// ---------------------------------------------------------------------------------------------
// Jobs

export interface JobsPageProps {
	jobs: Job[];
	signedIn: boolean;
	/** Seconds until the page reloads itself; null: nothing runs. */
	refreshSeconds: number | null;
	/** A job runs, and the person turned the reloading off. */
	reloadOff?: boolean;
}

const STATUS_TEXT: Record<Job["status"], string> = {
	queued: "queued",
	running: "running",
	done: "done",
	failed: "failed",
};

const UNITS: Record<Job["kind"], string> = { import: "lines", export: "rows" };

/** "1,200 of 10,000 lines (12%)", or what is known so far. */
function progressText(job: Job): string {
	const unit = UNITS[job.kind];
	if (job.total === null) {
		return job.status === "queued" ? "waiting to start" : `${formatCount(job.processed)} ${unit} so far`;
	}
	const percent = job.total === 0 ? 100 : Math.floor((job.processed / job.total) * 100);
	return `${formatCount(job.processed)} of ${formatCount(job.total)} ${unit} (${percent}%)`;
}

const JobRow: FC<{ job: Job }> = ({ job }) => {
	const progressId = `progress-${job.id}`;
	// A done job is complete whatever was counted; a job with no total yet shows an indeterminate bar.
	const max = job.total === null ? null : Math.max(1, job.total);
	const value = job.status === "done" ? max : max === null ? null : Math.min(job.processed, max);
	return (
		<tr>
			<td>{job.kind}</td>
			<td class={`job-status job-${job.status}`}>{STATUS_TEXT[job.status]}</td>
			<td>
				<label for={progressId}>{progressText(job)}</label>
				<br />
				{max === null ? (
					<progress id={progressId} />
				) : (
					<progress id={progressId} value={String(value ?? 0)} max={String(max)} />
				)}
				{job.status === "failed" && job.error ? <p class="small">{job.error}</p> : null}
				{job.kind === "import" && (job.status === "done" || job.status === "running") ? (
					<p class="small muted">
						{`created ${formatCount(job.created)}, updated ${formatCount(job.updated)}, unchanged ${formatCount(job.unchanged)}, failed ${formatCount(job.failed)}`}
					</p>
				) : null}
			</td>
			<td>
				<time datetime={job.createdAt}>{job.createdAt.slice(0, 19).replace("T", " ")}</time>
			</td>
			<td>
				<code>{job.id}</code>
			</td>
		</tr>
	);
};

export function renderJobsPage(props: JobsPageProps): string {
	const active = props.jobs.filter((job) => job.status === "queued" || job.status === "running").length;
	return renderPage(
		<AdminLayout
			title="Jobs · consent-edge admin"
			signedIn={props.signedIn}
			refreshSeconds={props.refreshSeconds ?? undefined}
		>
			<h1>Imports and exports</h1>
			<p class="small">
				<a href="/admin">Back to the dashboard</a>
			</p>
			<p class="muted small">
				Large imports (<code>POST /v1/imports/contacts</code> over 5,000 lines, or with <code>async=true</code>) and
				exports (<code>POST /v1/exports/contacts</code>, <code>POST /v1/exports/events</code>) run as jobs, a step at a
				time. The latest jobs, newest first.
				{props.refreshSeconds ? ` This page reloads every ${props.refreshSeconds} seconds while a job runs.` : ""}
			</p>
			{props.refreshSeconds ? (
				<p class="small">
					<a href="/admin/jobs?reload=off">Stop reloading this page</a>
				</p>
			) : props.reloadOff ? (
				<p class="small">
					<a href="/admin/jobs">Reload this page every few seconds while a job runs</a>
				</p>
			) : null}
			<p role="status">
				{active === 0 ? "No job is running." : `${active} job${active === 1 ? "" : "s"} queued or running.`}
			</p>
			{props.jobs.length === 0 ? (
				<p class="muted">No jobs yet.</p>
			) : (
				<section class="table-wrap" aria-labelledby="jobs-table" tabindex={0}>
					<table>
						<caption id="jobs-table" class="visually-hidden">
							Jobs
						</caption>
						<thead>
							<tr>
								<th scope="col">Kind</th>
								<th scope="col">Status</th>
								<th scope="col">Progress</th>
								<th scope="col">Created (UTC)</th>
								<th scope="col">Job</th>
							</tr>
						</thead>
						<tbody>
							{props.jobs.map((job) => (
								<JobRow job={job} />
							))}
						</tbody>
					</table>
				</section>
			)}
		</AdminLayout>,
	);
}
