// RFC 8058 one-click unsubscribes: POST /u/{token} with `List-Unsubscribe=One-Click`, as mailbox
// providers send it, against POST /__bench/minimal-one-click (the least D1 work a correct
// unsubscribe needs: one identity lookup, one batch with the new consent and version and one ledger
// row) in the same workerd, rounds taking turns; GET /healthz (no work) as a diagnostic.
// Runs in a worker of its own (its own database and Durable Objects; see bench/README.md, "Workers").
// Every POST is a real write: the contact's Durable Object applies an Opt Out and writes state and
// a ledger row to D1. Tokens come from the built @consent-edge/links module with the bench worker's
// signing key, one per seeded contact; the two routes write disjoint halves of the contacts, so
// each request unsubscribes a contact that route has not written before.
import { pathToFileURL } from "node:url";
import { buildLinks } from "../../scripts/build-links.mjs";
import { request } from "../lib/http.mjs";
import { runLoad } from "../lib/load.mjs";
import { openFiles, settleDurableObjects, workerdProcesses } from "../lib/procmem.mjs";
import { contactEmail, ensureContacts } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtRatio, summary } from "../lib/stats.mjs";

export const name = "one-click";
export const title = "One-click unsubscribe (RFC 8058 POST)";

const AIM_SHARE = 0.6;
const AIM_P99_RATIO = 3;
/** The bench worker's LINK_SIGNING_KEYS (bench/wrangler.bench.toml). */
const KEYS = '{"b1":"bench-signing-secret-0123456789"}';
const ONE_CLICK_BODY = "List-Unsubscribe=One-Click";
const contactId = (n) => `bench-${String(n).padStart(8, "0")}`;

export async function measure(ctx) {
	const quick = ctx.options.quick;
	// One half of the contacts for each writing route: more than either writes in the run.
	const half = quick ? 10_000 : 50_000;
	const concurrency = 16;
	// Short rounds: each one-click opens a contact actor, and locally one workerd holds only about
	// 3,400 of them at once (lib/procmem.mjs settleDurableObjects); rounds start once they are evicted.
	const rounds = quick ? 2 : 6;
	const roundMs = quick ? 1500 : 2000;
	const target = await ctx.startWorker("one-click");
	try {
		// Thirds: one-click, the minimal route, the minimal route through an actor.
		await ensureContacts(target, 3 * half);

		const { js } = await buildLinks({ types: false });
		const { createLinkSigner } = await import(pathToFileURL(js).href);
		const links = await createLinkSigner({ keys: KEYS, baseUrl: target.baseUrl });
		const paths = Array.from({ length: half }, (_, i) => {
			const url = links.forRecipient(
				{ email: contactEmail(i + 1) },
				{ channel: "email", campaign: "bench" },
			).unsubscribeUrl;
			return new URL(url).pathname;
		});
		const form = { "content-type": "application/x-www-form-urlencoded" };

		// Both answer 200, and both unsubscribes land.
		const probe = await request(target.baseUrl, paths[0], { method: "POST", headers: form, body: ONE_CLICK_BODY });
		if (probe.status !== 200)
			throw new Error(`one-click POST answered ${probe.status}: ${probe.body.toString("utf8", 0, 300)}`);
		const minimalProbe = await request(target.baseUrl, "/__bench/minimal-one-click", {
			method: "POST",
			headers: target.authHeaders,
			body: JSON.stringify({ id: contactId(half + 1) }),
		});
		if (minimalProbe.status !== 200)
			throw new Error(
				`minimal-one-click answered ${minimalProbe.status}: ${minimalProbe.body.toString("utf8", 0, 300)}`,
			);
		const actorProbe = await request(target.baseUrl, "/__bench/minimal-one-click", {
			method: "POST",
			headers: target.authHeaders,
			body: JSON.stringify({ id: contactId(2 * half + 1), actor: true }),
		});
		if (actorProbe.status !== 200)
			throw new Error(
				`minimal-one-click through an actor answered ${actorProbe.status}: ${actorProbe.body.toString("utf8", 0, 300)}`,
			);
		for (const n of [1, half + 1, 2 * half + 1]) {
			const check = await target.get(`/v1/consent?email=${encodeURIComponent(contactEmail(n))}&channel=email`);
			if (check.json.reason !== "opted_out")
				throw new Error(`after the unsubscribe of contact ${n}: ${JSON.stringify(check.json)}`);
		}

		// Each route goes on through its half of the contacts from where it stopped.
		let nextOneClick = 1;
		let nextMinimal = 1;
		let nextActor = 1;
		const endpoints = [
			{ key: "healthz", label: "GET /healthz (no work, diagnostic)", options: { path: () => "/healthz" } },
			{
				key: "minimal",
				label: "POST /__bench/minimal-one-click (baseline)",
				options: {
					path: () => "/__bench/minimal-one-click",
					method: "POST",
					headers: target.authHeaders,
					body: () => JSON.stringify({ id: contactId(half + 1 + (nextMinimal++ % half)) }),
				},
			},
			{
				key: "minimalActor",
				label: "POST /__bench/minimal-one-click through a fresh actor (actor baseline)",
				options: {
					path: () => "/__bench/minimal-one-click",
					method: "POST",
					headers: target.authHeaders,
					body: () => JSON.stringify({ id: contactId(2 * half + 1 + (nextActor++ % half)), actor: true }),
				},
			},
			{
				key: "oneClick",
				label: "POST /u/{token} `List-Unsubscribe=One-Click`",
				options: {
					path: () => paths[nextOneClick++ % half],
					method: "POST",
					body: ONE_CLICK_BODY,
					headers: form,
				},
			},
		];
		const processes = workerdProcesses(target.processGroup, new URL(target.baseUrl).port);
		const baseline = processes ? openFiles(processes) : 0;
		let settleMs = 0;
		const load = async (endpoint, durationMs) => {
			if (endpoint.key === "oneClick" || endpoint.key === "minimalActor")
				settleMs += (await settleDurableObjects(processes, baseline)).waitedMs;
			return runLoad({ baseUrl: target.baseUrl, concurrency, durationMs, headers: {}, ...endpoint.options });
		};
		for (const endpoint of endpoints) await load(endpoint, 1000); // warm-up
		const totals = Object.fromEntries(
			endpoints.map((e) => [e.key, { ok: 0, elapsedMs: 0, latencies: [], errors: [], rps: [] }]),
		);
		for (let round = 0; round < rounds; round++) {
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
			if (total.errors.length > 0) {
				throw new Error(`${endpoint.label}: ${total.errors.length} failed requests, e.g. ${total.errors[0]}`);
			}
			const latency = summary(total.latencies);
			const row = {
				key: endpoint.key,
				label: endpoint.label,
				requests: total.ok,
				rps: (total.ok / total.elapsedMs) * 1000,
				roundRps: total.rps,
				p50: latency.median,
				p99: latency.p99,
			};
			ctx.log(`  ${row.label}: ${fmt(row.rps)} req/s, p50 ${fmt(row.p50)} ms, p99 ${fmt(row.p99)} ms`);
			return row;
		});
		const wrapped = nextOneClick > half || nextMinimal > half || nextActor > half;
		return { contacts: 3 * half, half, concurrency, rounds, roundMs, rows, wrapped, settleMs };
	} finally {
		await target.stop();
	}
}

const rowOf = (data, key) => data.rows.find((row) => row.key === key);

function aimsFor(data) {
	const oneClick = rowOf(data, "oneClick");
	const minimal = rowOf(data, "minimal");
	const share = oneClick.rps / minimal.rps;
	const p99 = oneClick.p99 / minimal.p99;
	return [
		{
			what: "one-click throughput vs. the minimal unsubscribe route",
			aim: `≥ ${fmtRatio(AIM_SHARE)}`,
			value: fmtRatio(share),
			ok: share >= AIM_SHARE,
		},
		{
			what: "one-click p99 vs. the minimal route's p99",
			aim: `≤ ${fmtRatio(AIM_P99_RATIO)}`,
			value: fmtRatio(p99),
			ok: p99 <= AIM_P99_RATIO,
		},
	];
}

export function render(runs) {
	const aims = runs.map((run) => aimsFor(run.data));
	const first = runs[0].data;
	const multi = runs.length > 1;
	const withRuntime = (run, cells) => (multi ? [run.label, ...cells] : cells);
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
				notes: runs.map((run) => {
					const [minimal, minimalActor, oneClick] = ["minimal", "minimalActor", "oneClick"].map((key) =>
						rowOf(run.data, key),
					);
					return `${run.label}, diagnostic: one-click throughput ${fmtRatio(oneClick.rps / minimalActor.rps)} of the actor baseline (the minimal route with its batch in a fresh actor, which itself reaches ${fmtRatio(minimalActor.rps / minimal.rps)} of the minimal route here); p99 ${fmtRatio(oneClick.p99 / minimalActor.p99)} of its p99.`;
				}),
			},
			{
				title: `Throughput and latency (concurrency ${first.concurrency}, ${first.rounds} rounds of ${fmt(first.roundMs / 1000)} s each)`,
				intro:
					`In a worker of its own with ${fmtInt(first.contacts)} seeded contacts. Each one-click POST unsubscribes one of the first ${fmtInt(first.half)} by a signed channel link (tokens made offline by consent-edge/links): ` +
					"token check, contact lookup, the contact's Durable Object applying Opt Out, and its D1 batch (state and version, ledger row, idempotency key). " +
					`The baseline, \`POST /__bench/minimal-one-click {id}\`, unsubscribes one of the next ${fmtInt(first.half)} with the least D1 work a correct unsubscribe needs: ` +
					"`SELECT id, consent, version FROM contacts WHERE id = ?`, then one batch: `UPDATE contacts SET consent = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?` and one `INSERT INTO ledger`. " +
					`The actor baseline (diagnostic), \`{id, actor: true}\`, does the same for one of the last ${fmtInt(first.half)}, but runs the batch in a fresh object of a SQLite-backed Durable Object class, as every change of the service goes through the contact's actor: the least one actor per contact can cost. Locally, starting an object costs the worker's one workerd thread about a millisecond (bench/README.md); in production it runs on the object's own machine. \`one-click / actor baseline\` is therefore what the service's own code adds. ` +
					"`/healthz` does no work through the same stack (diagnostic). The endpoints take turns, after 1 s of warm-up each; a one-click round starts once the contact actors of the previous one have been evicted (locally one workerd holds only about 3,400 SQLite-backed Durable Objects at once; bench/README.md). Ratio rows: throughput as a ratio, and how many times longer p50 and p99 are." +
					(runs.some((run) => run.data.wrapped)
						? " Some route went through its half of the contacts more than once: its later requests unsubscribed contacts already opted out."
						: ""),
				table: {
					head: [...(multi ? ["runtime"] : []), "endpoint", "req/s", "req/s per round", "p50 ms", "p99 ms", "requests"],
					rows: runs.flatMap((run) => {
						const ratio = (label, a, b) =>
							withRuntime(run, [
								label,
								fmtRatio(a.rps / b.rps),
								"",
								fmtRatio(a.p50 / b.p50),
								fmtRatio(a.p99 / b.p99),
								"",
							]);
						const [healthz, minimal, minimalActor, oneClick] = ["healthz", "minimal", "minimalActor", "oneClick"].map(
							(key) => rowOf(run.data, key),
						);
						return [
							...run.data.rows.map((row) =>
								withRuntime(run, [
									row.label,
									fmt(row.rps),
									row.roundRps.map((rps) => fmt(rps, 0)).join(", "),
									fmt(row.p50),
									fmt(row.p99),
									fmtInt(row.requests),
								]),
							),
							ratio("one-click / minimal (the aims)", oneClick, minimal),
							ratio("one-click / actor baseline (what the service's code adds)", oneClick, minimalActor),
							ratio("actor baseline / minimal (what a fresh actor costs here)", minimalActor, minimal),
							ratio("minimal / healthz (what one lookup and one write batch cost here)", minimal, healthz),
							ratio("one-click / healthz", oneClick, healthz),
						];
					}),
				},
			},
		],
	};
}
