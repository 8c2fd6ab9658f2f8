// Consent checks (bench/README.md):
// 1. POST /v1/consent/check with 10,000 recipients vs. the same lookup as one raw SQL statement on
//    the same D1 (/__bench/raw-check), at 10k and at 1M stored contacts: the ratio and its growth.
// 2. GET /v1/consent throughput and latency vs. the same lookup as one plain statement
//    (/__bench/raw-lookup) and GET /healthz in the same workerd.
import { createAgent, request } from "../lib/http.mjs";
import { runLoad } from "../lib/load.mjs";
import { contactEmail, ensureContacts, expectedForContact, expectedForUnknown, unknownEmail } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtPercent, fmtRatio, median, rng, sampleDistinct, shuffle, summary } from "../lib/stats.mjs";

export const name = "consent";
export const title = "Consent checks";

const BATCH = 10_000;
const KNOWN_SHARE = 0.8;
const AIM_BATCH_RATIO = 1.5;
const AIM_BATCH_GROWTH = 1.5;
/** The single check's throughput as a share of the plain-SQL route's (/__bench/raw-lookup). */
const AIM_SINGLE_SHARE = 0.9;

const sizeLabel = (n) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);

/** 10,000 recipients: 80% stored contacts and 20% unknown addresses, drawn over the whole table. */
function recipientsFor(contacts) {
	const random = rng(contacts);
	const known = Math.round(BATCH * KNOWN_SHARE);
	const list = [
		...sampleDistinct(random, contacts, known).map((n) => ({
			email: contactEmail(n),
			expect: expectedForContact(n),
			n,
		})),
		...sampleDistinct(random, contacts, BATCH - known).map((n) => ({
			email: unknownEmail(n),
			expect: expectedForUnknown(n, contacts),
			n: null,
		})),
	];
	return shuffle(random, list);
}

function verifyDecisions(label, json, recipients) {
	if (json.results?.length !== recipients.length) {
		throw new Error(`${label}: ${json.results?.length} results for ${recipients.length} recipients`);
	}
	recipients.forEach((recipient, i) => {
		const got = json.results[i];
		if (got.reason !== recipient.expect || got.allowed !== (recipient.expect === "ok")) {
			throw new Error(`${label}: ${recipient.email} got ${JSON.stringify(got)}, expected reason ${recipient.expect}`);
		}
	});
}

function verifyRawRows(json, recipients) {
	if (json.rows?.length !== recipients.length) {
		throw new Error(`raw-check: ${json.rows?.length} rows for ${recipients.length} emails`);
	}
	for (const row of json.rows) {
		const recipient = recipients[row.i];
		const expectedId = recipient.n === null ? null : `bench-${String(recipient.n).padStart(8, "0")}`;
		if (row.id !== expectedId) throw new Error(`raw-check: row ${row.i} has id ${row.id}, expected ${expectedId}`);
	}
}

function batchVariants(target, contacts) {
	const recipients = recipientsFor(contacts);
	const emails = recipients.map((r) => r.email);
	const common = { target, contacts, recipients };
	return [
		{
			...common,
			key: "api",
			path: "/v1/consent/check",
			body: JSON.stringify({
				channel: "email",
				businessUnit: "default",
				recipients: emails.map((email) => ({ email })),
			}),
			verify: (json) => verifyDecisions("POST /v1/consent/check", json, recipients),
		},
		{
			...common,
			key: "raw",
			path: "/__bench/raw-check",
			body: JSON.stringify({ businessUnit: "default", emails }),
			verify: (json) => verifyRawRows(json, recipients),
		},
		{
			...common,
			key: "direct",
			path: "/__bench/direct-check",
			body: JSON.stringify({ businessUnit: "default", emails }),
			verify: (json) => verifyDecisions("direct checkConsent()", json, recipients),
		},
	];
}

/**
 * The batch check at every size at once: one worker per size, all calls (sizes x variants)
 * interleaved in alternating order, so drift on a shared machine hits every figure alike and the
 * growth factor is as side-by-side as the API/raw ratio.
 * @param {{target: object, contacts: number}[]} sizes
 */
async function measureBatches(ctx, sizes, reps) {
	const variants = sizes.flatMap(({ target, contacts }) => batchVariants(target, contacts));
	const agents = new Map(sizes.map(({ target }) => [target, createAgent(1)]));
	for (const variant of variants) Object.assign(variant, { times: [], sqlMs: [] });
	const call = async (variant) => {
		const response = await request(variant.target.baseUrl, variant.path, {
			method: "POST",
			headers: ctx.authHeaders,
			body: variant.body,
			agent: agents.get(variant.target),
		});
		if (response.status !== 200) {
			throw new Error(`${variant.path}: ${response.status} ${response.body.toString("utf8", 0, 300)}`);
		}
		return response;
	};
	// Two warm-up calls each (the first one's answer is checked in full), then the repetitions.
	for (let round = 0; round < 2; round++) {
		for (const variant of variants) {
			const response = await call(variant);
			if (round === 0) {
				variant.verify(JSON.parse(response.body.toString("utf8")));
				variant.bytes = { request: Buffer.byteLength(variant.body), response: response.body.length };
			}
		}
	}
	for (let rep = 0; rep < reps; rep++) {
		for (const variant of rep % 2 === 0 ? variants : [...variants].reverse()) {
			const response = await call(variant);
			variant.times.push(response.ms);
			if (response.headers["x-sql-ms"] !== undefined) variant.sqlMs.push(Number(response.headers["x-sql-ms"]));
		}
	}
	for (const agent of agents.values()) agent.destroy();
	return sizes.map(({ contacts }) => {
		const of = (key) => variants.find((v) => v.contacts === contacts && v.key === key);
		const [api, raw, direct] = [of("api"), of("raw"), of("direct")];
		const result = {
			contacts,
			api: summary(api.times),
			raw: summary(raw.times),
			direct: summary(direct.times),
			sqlMs: { raw: median(raw.sqlMs), direct: median(direct.sqlMs) },
			bytes: { api: api.bytes, raw: raw.bytes },
			denied: api.recipients.filter((r) => r.expect !== "ok").length,
		};
		ctx.log(
			`  ${fmtInt(contacts)} contacts: API ${fmt(result.api.median)} ms, raw ${fmt(result.raw.median)} ms, ` +
				`ratio ${fmtRatio(result.api.median / result.raw.median)} (direct ${fmt(result.direct.median)} ms; ` +
				`SQL in D1: service ${fmt(result.sqlMs.direct)} ms, raw ${fmt(result.sqlMs.raw)} ms)`,
		);
		return result;
	});
}

async function measureSingle(ctx, contacts, { concurrency, rounds, roundMs }) {
	const random = rng(contacts + 1);
	const emails = Array.from({ length: 8192 }, () => {
		const n = 1 + Math.floor(random() * contacts);
		return encodeURIComponent(random() < KNOWN_SHARE ? contactEmail(n) : unknownEmail(n));
	});
	const consentPath = (email) => `/v1/consent?email=${email}&channel=email`;
	const rawPath = (email) => `/__bench/raw-lookup?email=${email}`;
	// Correctness first: one opted-out contact and one unknown address, through both routes.
	for (const [n, email] of [
		[5, contactEmail(5)],
		[null, unknownEmail(7)],
	]) {
		const { json } = await ctx.get(consentPath(encodeURIComponent(email)));
		const expected = n === null ? "ok" : expectedForContact(n);
		if (json.reason !== expected)
			throw new Error(`GET /v1/consent ${email}: ${JSON.stringify(json)}, expected ${expected}`);
		const raw = (await ctx.get(rawPath(encodeURIComponent(email)))).json;
		if ((raw.row?.id ?? null) !== (n === null ? null : `bench-${String(n).padStart(8, "0")}`)) {
			throw new Error(`GET /__bench/raw-lookup ${email}: ${JSON.stringify(raw)}`);
		}
	}
	const endpoints = [
		{ key: "healthz", label: "GET /healthz", path: () => "/healthz" },
		{
			key: "raw",
			label: "GET /__bench/raw-lookup?email=… (plain SQL)",
			path: (i) => rawPath(emails[i % emails.length]),
		},
		{
			key: "consent",
			label: "GET /v1/consent?email=…&channel=email",
			path: (i) => consentPath(emails[i % emails.length]),
		},
	];
	const load = (endpoint, durationMs) =>
		runLoad({ baseUrl: ctx.baseUrl, path: endpoint.path, concurrency, durationMs, headers: ctx.authHeaders });
	for (const endpoint of endpoints) await load(endpoint, 1000); // warm-up
	const totals = Object.fromEntries(
		endpoints.map((e) => [e.key, { ok: 0, elapsedMs: 0, latencies: [], errors: [], rps: [] }]),
	);
	for (let round = 0; round < rounds; round++) {
		// Each round in another order, so drift on a shared machine hits every endpoint alike.
		const order = endpoints.map((_, i) => endpoints[(i + round) % endpoints.length]);
		for (const endpoint of round % 2 === 0 ? order : order.reverse()) {
			const run = await load(endpoint, roundMs);
			const total = totals[endpoint.key];
			total.ok += run.ok;
			total.elapsedMs += run.elapsedMs;
			total.latencies.push(...run.latencies);
			total.errors.push(...run.errors);
			total.rps.push(run.rps);
		}
	}
	const rows = endpoints.map((endpoint) => {
		const total = totals[endpoint.key];
		const latency = summary(total.latencies);
		return {
			...endpoint,
			requests: total.ok,
			errors: total.errors,
			rps: (total.ok / total.elapsedMs) * 1000,
			roundRps: total.rps,
			p50: latency.median,
			p99: latency.p99,
		};
	});
	for (const row of rows) {
		ctx.log(
			`  ${row.label}: ${fmt(row.rps)} req/s, p50 ${fmt(row.p50)} ms, p99 ${fmt(row.p99)} ms, ${row.errors.length} errors`,
		);
		if (row.errors.length > 0)
			throw new Error(`${row.label}: ${row.errors.length} failed requests, e.g. ${row.errors[0]}`);
	}
	return { contacts, concurrency, rounds, roundMs, rows };
}

/**
 * Runs every measurement of this suite; `render` makes the tables. The batch sizes each get a worker
 * of their own (the largest is ctx's, the others come from ctx.startWorker()), measured side by side.
 */
export async function measure(ctx) {
	const quick = ctx.options.quick;
	const sizes = quick ? [10_000, 100_000] : [10_000, 1_000_000];
	const reps = quick ? 3 : 11;
	const single = { concurrency: 16, rounds: quick ? 2 : 3, roundMs: quick ? 1500 : 4000 };
	const largest = sizes[sizes.length - 1];

	const targets = [];
	for (const contacts of sizes) {
		targets.push({
			contacts,
			target: contacts === largest ? ctx : await ctx.startWorker(`${sizeLabel(contacts)}-contacts`),
		});
	}
	const seeding = [];
	for (const { contacts, target } of targets) {
		target.log(`seeding contacts up to ${fmtInt(contacts)} (${target.baseUrl})`);
		seeding.push(await ensureContacts(target, contacts));
	}
	ctx.log(
		`batch consent check of ${fmtInt(BATCH)} recipients at ${sizes.map(fmtInt).join(" and ")} contacts (${reps} reps)`,
	);
	const batches = await measureBatches(ctx, targets, reps);
	for (const { target } of targets) if (target !== ctx) await target.stop();

	ctx.log(`single consent check vs. /healthz at ${fmtInt(largest)} contacts, concurrency ${single.concurrency}`);
	const singles = await measureSingle(ctx, largest, single);
	return { reps, single, seeding, batches, singles };
}

function aimsFor(data) {
	const [small, large] = data.batches;
	const ratioSmall = small.api.median / small.raw.median;
	const ratioLarge = large.api.median / large.raw.median;
	const growthApi = large.api.median / small.api.median;
	const growthRaw = large.raw.median / small.raw.median;
	const [, raw, consent] = data.singles.rows;
	const share = consent.rps / raw.rps;
	return [
		{
			what: `batch API/raw at ${sizeLabel(small.contacts)} contacts`,
			aim: `≤ ${AIM_BATCH_RATIO}x`,
			value: fmtRatio(ratioSmall),
			ok: ratioSmall <= AIM_BATCH_RATIO,
		},
		{
			what: `batch API/raw at ${sizeLabel(large.contacts)} contacts`,
			aim: `≤ ${AIM_BATCH_RATIO}x`,
			value: fmtRatio(ratioLarge),
			ok: ratioLarge <= AIM_BATCH_RATIO,
		},
		{
			// The API cannot be flatter than the lookup it wraps: the database's own growth is allowed.
			what: `batch API growth ${sizeLabel(large.contacts)}/${sizeLabel(small.contacts)} contacts`,
			aim: `flat: ≤ ${AIM_BATCH_GROWTH}x, or ≤ the raw SQL's own growth`,
			value: `${fmtRatio(growthApi)} (raw SQL ${fmtRatio(growthRaw)})`,
			ok: growthApi <= Math.max(AIM_BATCH_GROWTH, growthRaw),
		},
		{
			what: "single check throughput vs. the plain-SQL route",
			aim: `≥ ${fmtRatio(AIM_SINGLE_SHARE)}`,
			value: fmtRatio(share),
			ok: share >= AIM_SINGLE_SHARE,
		},
	];
}

const verdict = (aim) => `${aim.value} ${aim.ok ? "(met)" : "(**missed**)"}`;

/**
 * @param {{runtime: string, label: string, data: Awaited<ReturnType<typeof measure>>}[]} runs
 *   one per runtime, the first being the primary (`wrangler dev`) one
 */
export function render(runs) {
	const first = runs[0].data;
	const aims = runs.map((run) => aimsFor(run.data));
	const small = first.batches[0].contacts;
	const large = first.batches[first.batches.length - 1].contacts;
	const multi = runs.length > 1;
	const withRuntime = (run, cells) => (multi ? [run.label, ...cells] : cells);
	const runtimeHead = (head) => (multi ? ["runtime", ...head] : head);

	return {
		title,
		aimsMissed: runs.flatMap((run, r) => aims[r].filter((aim) => !aim.ok).map((aim) => `${aim.what} (${run.label})`)),
		sections: [
			{
				title: "Aims",
				table: {
					left: 2,
					head: ["measurement", "aim", ...runs.map((run) => run.label)],
					rows: aims[0].map((aim, i) => [aim.what, aim.aim, ...aims.map((runAims) => verdict(runAims[i]))]),
				},
			},
			{
				title: `Batch check of ${fmtInt(BATCH)} recipients: API vs. raw SQL`,
				intro:
					`\`POST /v1/consent/check\` (channel email, ${fmtInt(BATCH)} email recipients: ${fmtPercent(KNOWN_SHARE)} stored contacts, ` +
					`the rest unknown addresses, drawn at random over the whole table; ${fmtPercent(first.batches[0].denied / BATCH)} of them denied) ` +
					"vs. `POST /__bench/raw-check`, the same lookup as one plain statement " +
					"(`SELECT r.key, c.id, c.consent FROM json_each(?) r LEFT JOIN contacts c ON c.business_unit = ? AND c.email = r.value`) " +
					`on the same D1 in the same workerd. Each size runs in a worker of its own (same runtime, same bundle), and all calls of both sizes take turns: ` +
					`median of ${first.reps} calls each after 2 warm-up calls, in alternating order; ` +
					"ms per call as the client sees it (request sent to response fully read).",
				table: {
					head: runtimeHead([
						"contacts stored",
						"API ms/call",
						"raw SQL ms/call",
						"API/raw",
						"API min–max",
						"raw min–max",
					]),
					rows: runs.flatMap((run) => {
						const [a, b] = [run.data.batches[0], run.data.batches[run.data.batches.length - 1]];
						return [
							...run.data.batches.map((batch) =>
								withRuntime(run, [
									fmtInt(batch.contacts),
									fmt(batch.api.median),
									fmt(batch.raw.median),
									fmtRatio(batch.api.median / batch.raw.median),
									`${fmt(batch.api.min)}–${fmt(batch.api.max)}`,
									`${fmt(batch.raw.min)}–${fmt(batch.raw.max)}`,
								]),
							),
							withRuntime(run, [
								`growth ${sizeLabel(large)}/${sizeLabel(small)}`,
								fmtRatio(b.api.median / a.api.median),
								fmtRatio(b.raw.median / a.raw.median),
								"",
								"",
								"",
							]),
						];
					}),
				},
				notes: [
					"Every API answer was checked once against the decisions the seeded data implies (all 10,000 reasons), and every raw row against the expected contact id.",
				],
			},
			{
				title: "Batch check: where the time goes (diagnostics)",
				intro:
					"`direct` is `/__bench/direct-check`: the service's own `checkConsent()` with the same emails but without the HTTP layer " +
					"(no auth, no zod validation of 10,000 recipients, a smaller request). `SQL in D1` is the time of the statements: for the raw one the execution time D1 reports " +
					"(`meta.duration`: running the statement and reading its rows inside the database); for the service's, the same where its results carry it, and the wall time of the call inside the worker for rows read with `raw()` (which carry no `meta`), so that column includes the transfer to the worker.",
				table: {
					head: runtimeHead([
						"contacts stored",
						"API ms",
						"direct checkConsent() ms",
						"raw SQL ms",
						"SQL in D1: service ms",
						"SQL in D1: raw ms",
						"API request / response bytes",
						"raw request / response bytes",
					]),
					rows: runs.flatMap((run) =>
						run.data.batches.map((batch) =>
							withRuntime(run, [
								fmtInt(batch.contacts),
								fmt(batch.api.median),
								fmt(batch.direct.median),
								fmt(batch.raw.median),
								fmt(batch.sqlMs.direct),
								fmt(batch.sqlMs.raw),
								`${fmtInt(batch.bytes.api.request)} / ${fmtInt(batch.bytes.api.response)}`,
								`${fmtInt(batch.bytes.raw.request)} / ${fmtInt(batch.bytes.raw.response)}`,
							]),
						),
					),
				},
			},
			{
				title: `Single consent check vs. /healthz (${fmtInt(first.singles.contacts)} contacts, concurrency ${first.single.concurrency})`,
				intro:
					`Closed loop, ${first.single.concurrency} keep-alive connections, ${first.single.rounds} rounds of ${fmt(first.single.roundMs / 1000, 1)} s per endpoint, ` +
					"the endpoints taking turns, after 1 s warm-up each; both lookups vary the email over the same 8,192 addresses " +
					`(${fmtPercent(KNOWN_SHARE)} stored contacts), and every request carries the same Authorization header. ` +
					"`/__bench/raw-lookup` runs the single check's lookup as one plain statement " +
					"(`SELECT id, consent FROM contacts WHERE business_unit = ? AND email = ?`) and returns the row: the cheapest a D1-backed route can be here. " +
					"Ratio rows: throughput as a ratio (req/s column), and how many times longer the p50 and p99 latencies are.",
				table: {
					head: runtimeHead(["endpoint", "requests", "req/s", "req/s per round", "p50 ms", "p99 ms", "errors"]),
					rows: runs.flatMap((run) => {
						const [healthz, raw, consent] = run.data.singles.rows;
						const ratio = (label, a, b) =>
							withRuntime(run, [
								label,
								"",
								fmtRatio(a.rps / b.rps),
								"",
								fmtRatio(a.p50 / b.p50),
								fmtRatio(a.p99 / b.p99),
								"",
							]);
						return [
							...run.data.singles.rows.map((row) =>
								withRuntime(run, [
									row.label,
									fmtInt(row.requests),
									fmt(row.rps),
									row.roundRps.map((rps) => fmt(rps, 0)).join(", "),
									fmt(row.p50),
									fmt(row.p99),
									fmtInt(row.errors.length),
								]),
							),
							ratio("consent / plain SQL (the aim: what the service adds)", consent, raw),
							ratio("plain SQL / healthz (the floor for one D1 query)", raw, healthz),
							ratio("consent / healthz", consent, healthz),
						];
					}),
				},
			},
			{
				title: "Seeding",
				intro:
					"Synthetic contacts inserted by `POST /__bench/seed` (INSERT … SELECT over a recursive CTE, 50,000 rows per request).",
				table: {
					head: runtimeHead([
						"contacts before",
						"contacts after",
						"inserted",
						"seconds",
						"rows/s",
						"blocklist rows after",
					]),
					rows: runs.flatMap((run) =>
						run.data.seeding.map((s) =>
							withRuntime(run, [
								fmtInt(s.before),
								fmtInt(s.after),
								fmtInt(s.inserted),
								fmt(s.ms / 1000, 1),
								fmtInt((s.inserted / s.ms) * 1000),
								fmtInt(s.blocklist),
							]),
						),
					),
				},
			},
		],
	};
}
