// RFC 8058 one-click unsubscribes (issue 3's benchmark): POST /u/{token} with
// `List-Unsubscribe=One-Click`, as mailbox providers send it, against GET /healthz in the same
// workerd, rounds taking turns. Every POST is a real write: the contact's Durable Object applies an
// Opt Out and writes state and a ledger row to D1. Tokens come from the built @consent-edge/links
// module with the bench worker's signing key, one per seeded contact (each contact is unsubscribed
// once: later rounds re-post to contacts already opted out, which still writes a ledger row).
import { pathToFileURL } from "node:url";
import { buildLinks } from "../../scripts/build-links.mjs";
import { request } from "../lib/http.mjs";
import { runLoad } from "../lib/load.mjs";
import { contactEmail, ensureContacts } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtPercent, fmtRatio, summary } from "../lib/stats.mjs";

export const name = "one-click";
export const title = "One-click unsubscribe (RFC 8058 POST)";

const AIM_SHARE = 0.5;
const AIM_P99_RATIO = 3;
/** The bench worker's LINK_SIGNING_KEYS (bench/wrangler.bench.toml). */
const KEYS = '{"b1":"bench-signing-secret-0123456789"}';
const ONE_CLICK_BODY = "List-Unsubscribe=One-Click";

export async function measure(ctx) {
	const quick = ctx.options.quick;
	const contacts = quick ? 10_000 : 50_000;
	const concurrency = 16;
	const rounds = quick ? 2 : 3;
	const roundMs = quick ? 1500 : 4000;
	await ensureContacts(ctx, contacts);

	const { js } = await buildLinks({ types: false });
	const { createLinkSigner } = await import(pathToFileURL(js).href);
	const links = await createLinkSigner({ keys: KEYS, baseUrl: ctx.baseUrl });
	const paths = Array.from({ length: contacts }, (_, i) => {
		const url = links.forRecipient(
			{ email: contactEmail(i + 1) },
			{ channel: "email", campaign: "bench" },
		).unsubscribeUrl;
		return new URL(url).pathname;
	});

	// The answer is what RFC 8058 asks for, and the unsubscribe lands.
	const probe = await request(ctx.baseUrl, paths[0], {
		method: "POST",
		headers: { "content-type": "application/x-www-form-urlencoded" },
		body: ONE_CLICK_BODY,
	});
	if (probe.status !== 200)
		throw new Error(`one-click POST answered ${probe.status}: ${probe.body.toString("utf8", 0, 300)}`);
	const check = await ctx.get(`/v1/consent?email=${encodeURIComponent(contactEmail(1))}&channel=email`);
	if (check.json.reason !== "opted_out") throw new Error(`after one-click: ${JSON.stringify(check.json)}`);

	const endpoints = [
		{ key: "healthz", label: "GET /healthz", options: { path: () => "/healthz" } },
		{
			key: "oneClick",
			label: "POST /u/{token} `List-Unsubscribe=One-Click`",
			options: {
				path: (i) => paths[(i + 1) % paths.length],
				method: "POST",
				body: ONE_CLICK_BODY,
				headers: { "content-type": "application/x-www-form-urlencoded" },
			},
		},
	];
	const load = (endpoint, durationMs) =>
		runLoad({ baseUrl: ctx.baseUrl, concurrency, durationMs, headers: {}, ...endpoint.options });
	for (const endpoint of endpoints) await load(endpoint, 1000); // warm-up
	const totals = Object.fromEntries(endpoints.map((e) => [e.key, { ok: 0, elapsedMs: 0, latencies: [], errors: [] }]));
	for (let round = 0; round < rounds; round++) {
		for (const endpoint of round % 2 === 0 ? endpoints : [...endpoints].reverse()) {
			const run = await load(endpoint, roundMs);
			const total = totals[endpoint.key];
			total.ok += run.ok;
			total.elapsedMs += run.elapsedMs;
			total.latencies.push(...run.latencies);
			total.errors.push(...run.errors);
		}
	}
	const rows = endpoints.map((endpoint) => {
		const total = totals[endpoint.key];
		if (total.errors.length > 0) {
			throw new Error(`${endpoint.label}: ${total.errors.length} failed requests, e.g. ${total.errors[0]}`);
		}
		const latency = summary(total.latencies);
		const row = {
			key: endpoint.key,
			label: endpoint.label,
			requests: total.ok,
			rps: (total.ok / total.elapsedMs) * 1000,
			p50: latency.median,
			p99: latency.p99,
		};
		ctx.log(`  ${row.label}: ${fmt(row.rps)} req/s, p50 ${fmt(row.p50)} ms, p99 ${fmt(row.p99)} ms`);
		return row;
	});
	return { contacts, concurrency, rounds, roundMs, rows };
}

function aimsFor(data) {
	const [healthz, oneClick] = data.rows;
	const share = oneClick.rps / healthz.rps;
	const p99 = oneClick.p99 / healthz.p99;
	return [
		{
			what: "one-click throughput vs. /healthz",
			aim: `≥ ${fmtPercent(AIM_SHARE)}`,
			value: fmtPercent(share),
			ok: share >= AIM_SHARE,
		},
		{
			what: "one-click p99 vs. /healthz p99",
			aim: `≤ ${AIM_P99_RATIO}x`,
			value: fmtRatio(p99),
			ok: p99 <= AIM_P99_RATIO,
		},
	];
}

export function render(runs) {
	const aims = runs.map((run) => aimsFor(run.data));
	const first = runs[0].data;
	return {
		title,
		aimsMissed: runs.flatMap((run, r) => aims[r].filter((aim) => !aim.ok).map((aim) => `${aim.what} (${run.label})`)),
		sections: [
			{
				title: "Aims",
				table: {
					left: 2,
					head: ["measurement", "aim", ...runs.map((run) => run.label)],
					rows: aims[0].map((aim, i) => [
						aim.what,
						aim.aim,
						...aims.map((runAims) => `${runAims[i].value} ${runAims[i].ok ? "(met)" : "(**missed**)"}`),
					]),
				},
			},
			{
				title: `Throughput and latency (concurrency ${first.concurrency}, ${first.rounds} rounds of ${fmt(first.roundMs / 1000)} s each)`,
				intro:
					`Each POST unsubscribes one of ${fmtInt(first.contacts)} seeded contacts by a signed channel link (tokens made offline by consent-edge/links): ` +
					"token check, contact lookup, the contact's Durable Object applying Opt Out, and one D1 batch with state, ledger row and idempotency. " +
					"`/healthz` does no work through the same stack.",
				table: {
					head: [...(runs.length > 1 ? ["runtime"] : []), "endpoint", "req/s", "p50 ms", "p99 ms", "requests"],
					rows: runs.flatMap((run) =>
						run.data.rows.map((row) => [
							...(runs.length > 1 ? [run.label] : []),
							row.label,
							fmt(row.rps),
							fmt(row.p50),
							fmt(row.p99),
							fmtInt(row.requests),
						]),
					),
				},
			},
		],
	};
}
