// Provider webhooks (issue 4's benchmark): a signed 1,000-event SendGrid batch, POSTed as SendGrid
// does, against the bench worker's queue consumer.
// - verify+enqueue: the POST's latency (ECDSA check on the raw body, parse, 10 sendBatch calls);
// - end to end: from the POST until the consumer has written all 1,000 ledger rows, as events/s;
// - baseline, same run: the same 1,000 rows written by one raw D1 batch (/__bench/raw-insert).
// Each round uses contacts and event ids not used before, and waits for the consumer to finish.
import { createPrivateKey, sign } from "node:crypto";
import { request } from "../lib/http.mjs";
import { contactEmail, ensureContacts } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtRatio, median } from "../lib/stats.mjs";

export const name = "webhooks";
export const title = "Provider webhooks (SendGrid, 1,000-event batches)";

const BATCH = 1000;
// Bench-only key: its public half is SENDGRID_WEBHOOK_PUBLIC_KEY in bench/wrangler.bench.toml.
const PRIVATE_KEY = createPrivateKey({
	key: Buffer.from(
		"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgs3LwMm2VX2B9K3Dc8+Qgnb6cJBppRJ1E52FYf7T/wP6hRANCAARxym/CWKfKiP1T18TnAeK2J+/+ZCZnNSTFqwzNPLQ4cjRBMH7eRSvssVt6EcIEyvQOmcWN/D/SFlYJAJm4TYeR",
		"base64",
	),
	format: "der",
	type: "pkcs8",
});

/** 1,000 events for contacts from..from+999: unsubscribes, complaints and hard bounces. */
function batchFor(round, from) {
	const kinds = [{ event: "unsubscribe" }, { event: "spamreport" }, { event: "bounce", type: "bounce" }];
	const timestamp = Math.floor(Date.now() / 1000);
	return Array.from({ length: BATCH }, (_, i) => ({
		email: contactEmail(from + i),
		...kinds[i % kinds.length],
		sg_event_id: `bench-${process.pid}-${round}-${i}`,
		timestamp,
	}));
}

function signedRequest(events) {
	const body = JSON.stringify(events);
	const timestamp = String(Math.floor(Date.now() / 1000));
	// node:crypto signs ECDSA as DER, exactly the encoding SendGrid sends.
	const signature = sign("sha256", Buffer.from(timestamp + body), PRIVATE_KEY).toString("base64");
	return {
		body,
		headers: {
			"content-type": "application/json",
			"x-twilio-email-event-webhook-signature": signature,
			"x-twilio-email-event-webhook-timestamp": timestamp,
		},
	};
}

async function waitForRows(ctx, afterId, rows, timeoutMs = 300_000) {
	const deadline = performance.now() + timeoutMs;
	for (;;) {
		const { json } = await ctx.post("/__bench/ledger-progress", { source: "webhook:sendgrid", afterId });
		if (json.rows >= rows) return json;
		if (performance.now() > deadline) throw new Error(`consumer wrote ${json.rows} of ${rows} ledger rows in time`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

export async function measure(ctx) {
	// Under wrangler dev the dev proxy restarts the worker mid-run under this load, and the local
	// queue then stops delivering for minutes: the measurement would time out, not measure.
	if (ctx.runtime === "wrangler-dev") {
		ctx.log("  skipped under wrangler dev (its proxy restarts the worker under queue load; see bench/README.md)");
		return { skipped: true, rounds: 0, results: [] };
	}
	const rounds = ctx.options.quick ? 2 : 5;
	// Each round needs fresh contacts for the service and for the raw baseline.
	await ensureContacts(ctx, 2 * BATCH * (rounds + 1));
	const results = [];
	for (let round = 0; round <= rounds; round++) {
		const from = 1 + 2 * BATCH * round;
		const events = batchFor(round, from);
		const { maxLedgerId } = (await ctx.post("/__bench/ledger-progress", { source: "none", afterId: 0 })).json;
		const { body, headers } = signedRequest(events);
		const started = performance.now();
		const response = await request(ctx.baseUrl, "/webhooks/sendgrid", { method: "POST", headers, body, agent: false });
		const enqueueMs = performance.now() - started;
		if (response.status !== 200)
			throw new Error(`POST /webhooks/sendgrid: ${response.status} ${response.body.toString("utf8", 0, 300)}`);
		const answer = JSON.parse(response.body.toString("utf8"));
		if (answer.accepted !== BATCH)
			throw new Error(`accepted ${answer.accepted} of ${BATCH}: ${JSON.stringify(answer.problems?.[0])}`);
		await waitForRows(ctx, maxLedgerId, BATCH);
		const appliedMs = performance.now() - started;

		// The same rows, for other contacts, as one raw D1 batch.
		const rows = events.map((event, i) => ({
			email: contactEmail(from + BATCH + i),
			event: "Opt Out",
			key: `raw-${event.sg_event_id}`,
		}));
		const rawStarted = performance.now();
		await ctx.post("/__bench/raw-insert", { rows });
		const rawMs = performance.now() - rawStarted;
		if (round > 0) results.push({ enqueueMs, appliedMs, rawMs }); // round 0 warms up
		ctx.log(
			`  round ${round}: verify+enqueue ${fmt(enqueueMs)} ms, applied in ${fmt(appliedMs)} ms, raw D1 batch ${fmt(rawMs)} ms`,
		);
	}
	return { rounds, results };
}

export function render(runs) {
	const measured = runs.filter((run) => !run.data.skipped);
	const skipped = runs.filter((run) => run.data.skipped).map((run) => run.label);
	const summaries = measured.map((run) => {
		const enqueue = median(run.data.results.map((r) => r.enqueueMs));
		const applied = median(run.data.results.map((r) => r.appliedMs));
		const raw = median(run.data.results.map((r) => r.rawMs));
		return {
			run,
			enqueue,
			applied,
			raw,
			eventsPerSecond: (BATCH / applied) * 1000,
			rawPerSecond: (BATCH / raw) * 1000,
		};
	});
	return {
		title,
		aimsMissed: [],
		sections: [
			{
				title: "1,000-event batch: verify + enqueue, end to end, and the raw D1 baseline",
				intro:
					"Medians of the rounds after a warm-up round. verify+enqueue is the POST's latency as SendGrid sees it (ECDSA P-256 over timestamp + raw body, parse, 10 sendBatch calls of 100). " +
					"End to end is from the POST until the consumer has written all 1,000 ledger rows (queue batches of 100, each event through its contact's Durable Object, idempotency checked). " +
					"The baseline writes the same number of ledger rows, idempotency keys and state updates for other contacts with one raw D1 batch." +
					(skipped.length > 0
						? ` Not measured under ${skipped.join(", ")}: its dev proxy restarts the worker under this queue load, after which the local queue stops delivering for minutes.`
						: ""),
				table: {
					head: [...(runs.length > 1 ? ["runtime"] : []), "measurement", "median", "per second", "vs raw D1 batch"],
					rows: summaries.flatMap((s) => {
						const label = runs.length > 1 ? [s.run.label] : [];
						return [
							[
								...label,
								"verify + enqueue (POST latency)",
								`${fmt(s.enqueue)} ms`,
								`${fmtInt((BATCH / s.enqueue) * 1000)} events/s`,
								fmtRatio(s.enqueue / s.raw),
							],
							[
								...label,
								"end to end (all rows applied)",
								`${fmt(s.applied)} ms`,
								`${fmtInt(s.eventsPerSecond)} events/s`,
								fmtRatio(s.applied / s.raw),
							],
							[...label, "raw D1 batch of the same rows", `${fmt(s.raw)} ms`, `${fmtInt(s.rawPerSecond)} rows/s`, "1x"],
						];
					}),
				},
			},
		],
	};
}
