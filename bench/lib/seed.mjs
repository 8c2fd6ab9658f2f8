// Synthetic contacts through POST /__bench/seed (bench/bench-worker.ts), and the decisions the
// service must give for them. The rules here mirror the SQL in bench-worker.ts; keep them in step.
import { fmt, fmtInt } from "./stats.mjs";

const pad = (n) => String(n).padStart(8, "0");
/** The stored contact n (1-based) of business unit "default". */
export const contactEmail = (n) => `user${pad(n)}@example.com`;
/** An address with no contact; n % 100 == 0 is on the bare-address blocklist once contact n is seeded. */
export const unknownEmail = (n) => `nobody${pad(n)}@example.com`;

/** The expected email decision (kind marketing, no topic) for contact n. */
export function expectedForContact(n) {
	if (n % 100 === 11) return "blocked";
	if (n % 5 === 0) return "opted_out";
	if (n % 50 === 7) return "bounced";
	return "ok";
}

/** The expected email decision for unknown address n while contacts 1..seeded exist. */
export const expectedForUnknown = (n, seeded) => (n % 100 === 0 && n <= seeded ? "blocked" : "ok");

const CHUNK = 50_000;

export async function countRows(ctx) {
	const { json } = await ctx.post("/__bench/count", {});
	return json;
}

/**
 * Seeds contacts up to `target` (from where the database stands), in chunks of 50,000 rows per
 * request so no single statement runs for long. A database that already holds more (an earlier
 * suite seeded 1M) is left as it is. Returns what was inserted and how long it took.
 */
export async function ensureContacts(ctx, wanted) {
	const before = (await countRows(ctx)).contacts;
	const target = Math.max(wanted, before);
	const started = performance.now();
	let lastLog = started;
	for (let from = before + 1; from <= target; from += CHUNK) {
		const to = Math.min(target, from + CHUNK - 1);
		const { json } = await ctx.post("/__bench/seed", { from, to });
		if (json.contacts !== to - from + 1) throw new Error(`seeding ${from}..${to} inserted ${json.contacts} contacts`);
		if (performance.now() - lastLog > 5000 || to === target) {
			lastLog = performance.now();
			ctx.log(`  seeded ${fmtInt(to)} / ${fmtInt(target)} contacts (${fmt((lastLog - started) / 1000, 1)} s)`);
		}
	}
	const ms = performance.now() - started;
	const after = await countRows(ctx);
	if (after.contacts !== target) throw new Error(`expected ${target} contacts after seeding, found ${after.contacts}`);
	ctx.state.contacts = target;
	return { before, after: after.contacts, blocklist: after.blocklist, inserted: target - before, ms };
}
