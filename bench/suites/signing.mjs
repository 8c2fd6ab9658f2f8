// Offline link signing: the `@consent-edge/links` package as senders run it in Node, against
// the bare HMAC-SHA-256 it cannot avoid (node:crypto createHmac over the very token bodies the
// module signs), in the same process with their rounds taking turns. No worker: runs in Node only.
import { createHmac, createSecretKey } from "node:crypto";
import { pathToFileURL } from "node:url";
import { build as buildLinks } from "../../packages/links/scripts/build.mjs";
import { contactEmail } from "../lib/seed.mjs";
import { fmt, fmtInt, fmtPercent, median } from "../lib/stats.mjs";

export const name = "signing";
export const title = "Offline link signing (@consent-edge/links)";
/** Runs once in the bench's own Node process, before any worker starts: no runtime, no database. */
export const needsWorker = false;

const AIM_SHARE = 0.5;
const MILLION = 1_000_000;
const KEYS = JSON.stringify({
	b2: "bench-link-signing-secret-new-0123456789",
	b1: "bench-link-signing-secret-old-0123456789",
});
const SECRET = "bench-link-signing-secret-new-0123456789";
const BASE_URL = "https://consent.example.com";
const MAILTO = "unsubscribe@example.com";
const OPTIONS = { channel: "email", topic: "newsletter", campaign: "bench-2026-11" };

/** Variants in the order of the first round; the order reverses every round. */
const VARIANTS = [
	{ key: "raw", label: "raw HMAC-SHA-256: `createHmac(…).update(body).digest()`" },
	{ key: "module", label: "`links.forRecipient()`: recipient checks, token, both URLs and headers" },
	{ key: "webcrypto", label: "Web Crypto `crypto.subtle.sign` per link, awaited (HMAC only)" },
];

export async function measure(ctx) {
	const quick = ctx.options.quick;
	const perRound = quick ? 20_000 : 100_000;
	const rounds = quick ? 3 : 7;
	const { js: modulePath } = await buildLinks({ types: false });
	const { createLinkSigner } = await import(pathToFileURL(modulePath).href);
	const links = await createLinkSigner({ keys: KEYS, baseUrl: BASE_URL, mailto: MAILTO });

	const recipients = Array.from({ length: perRound }, (_, i) => ({ email: contactEmail(i + 1) }));
	// The bodies the module signs (`kid.payload`), for the raw HMAC: the same bytes, the same lengths.
	const bodies = recipients.map((recipient) => {
		const token = links.token(recipient, OPTIONS);
		return token.slice(0, token.lastIndexOf("."));
	});
	const key = createSecretKey(Buffer.from(SECRET, "utf8"));
	const webKey = await crypto.subtle.importKey(
		"raw",
		new TextEncoder().encode(SECRET),
		{ name: "HMAC", hash: "SHA-256" },
		false,
		["sign"],
	);
	const encoder = new TextEncoder();
	await verifySample({ links, recipients, webKey });

	const webCount = Math.floor(perRound / 5);
	const run = {
		raw: () => {
			let size = 0;
			for (const body of bodies) size += createHmac("sha256", key).update(body).digest("base64url").length;
			return size;
		},
		module: () => {
			let size = 0;
			for (const recipient of recipients) size += links.forRecipient(recipient, OPTIONS).unsubscribeUrl.length;
			return size;
		},
		webcrypto: async () => {
			let size = 0;
			for (let i = 0; i < webCount; i++) {
				size += (await crypto.subtle.sign("HMAC", webKey, encoder.encode(bodies[i]))).byteLength;
			}
			return size;
		},
	};
	const counts = { raw: perRound, module: perRound, webcrypto: webCount };
	const rates = Object.fromEntries(VARIANTS.map((variant) => [variant.key, []]));
	for (let round = -1; round < rounds; round++) {
		const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
		for (const variant of order) {
			const started = performance.now();
			await run[variant.key]();
			const ms = performance.now() - started;
			if (round >= 0) rates[variant.key].push((counts[variant.key] / ms) * 1000); // round -1 warms up
		}
		if (round >= 0) {
			ctx.log(
				`signing round ${round + 1}/${rounds}: module ${fmtInt(rates.module.at(-1))}/s, raw HMAC ${fmtInt(rates.raw.at(-1))}/s`,
			);
		}
	}

	// A million links, one after the other, with an address made per link as a sender's loop would.
	const started = performance.now();
	let size = 0;
	for (let i = 1; i <= MILLION; i++)
		size += links.forRecipient({ email: contactEmail(i) }, OPTIONS).unsubscribeUrl.length;
	const millionMs = performance.now() - started;
	ctx.log(`signing: 1,000,000 links in ${fmt(millionMs / 1000)} s (${fmtInt(size / MILLION)} characters per URL)`);

	return {
		node: process.version,
		perRound,
		rounds,
		webCount,
		urlLength: Math.round(size / MILLION),
		bodyLength: Math.round(bodies.reduce((sum, body) => sum + body.length, 0) / bodies.length),
		rates: Object.fromEntries(
			Object.entries(rates).map(([k, values]) => [
				k,
				{ median: median(values), min: Math.min(...values), max: Math.max(...values) },
			]),
		),
		millionMs,
	};
}

/** Samples of the module's tokens carry the signature Web Crypto (another implementation) computes. */
async function verifySample({ links, recipients, webKey }) {
	const options = { ...OPTIONS, issuedAt: 1_795_000_000 };
	for (let i = 0; i < 1000; i += 100) {
		const token = links.token(recipients[i], options);
		const body = token.slice(0, token.lastIndexOf("."));
		const signature = await crypto.subtle.sign("HMAC", webKey, new TextEncoder().encode(body));
		if (token !== `${body}.${Buffer.from(signature).toString("base64url")}`) {
			throw new Error(`the token for ${recipients[i].email} does not carry the signature Web Crypto computes`);
		}
	}
}

export function render(runs) {
	const rows = [];
	const aimsMissed = [];
	let data = null;
	for (const run of runs) {
		data = run.data;
		const raw = data.rates.raw.median;
		const share = data.rates.module.median / raw;
		if (share < AIM_SHARE)
			aimsMissed.push(`signing: module ${fmtPercent(share)} of raw HMAC (aim ≥ ${fmtPercent(AIM_SHARE)})`);
		for (const variant of VARIANTS) {
			const rate = data.rates[variant.key];
			rows.push([
				variant.label,
				fmtInt(rate.median),
				fmt(1e6 / rate.median, 2),
				`${fmtInt(rate.min)}–${fmtInt(rate.max)}`,
				fmtPercent(rate.median / raw),
			]);
		}
	}
	const share = data.rates.module.median / data.rates.raw.median;
	return {
		title,
		aimsMissed,
		sections: [
			{
				title: "Aims",
				table: {
					left: 2,
					head: ["measurement", "aim", runs[0].label],
					rows: [
						[
							"module / raw HMAC (links/s)",
							`≥ ${fmtPercent(AIM_SHARE)}`,
							`${fmtPercent(share)} ${share >= AIM_SHARE ? "✓ met" : "✗ missed"}`,
						],
						["1,000,000 links", "seconds", `${fmt(data.millionMs / 1000)} s`],
					],
				},
			},
			{
				title: "Links per second, in one Node process",
				intro:
					`The built package (packages/links/dist/index.js, as \`import { createLinkSigner } from "@consent-edge/links"\`) with the keys, base URL and a mailto ` +
					`set, making \`{unsubscribeUrl, preferencesUrl, headers}\` for ${fmtInt(data.perRound)} distinct email recipients per round ` +
					`(channel, topic and campaign set), against createHmac over the very \`kid.payload\` bodies the module signs ` +
					`(${data.bodyLength} bytes each; the raw side skips everything else a link needs). Median of ${data.rounds} rounds after one warm-up round, ` +
					`the variants taking turns in alternating order; Web Crypto signs ${fmtInt(data.webCount)} bodies per round.`,
				table: { head: ["variant", "links/s", "µs/link", "min–max per round", "vs raw HMAC"], rows },
				notes: [
					`1,000,000 links with \`links.forRecipient()\` one after the other (the address built per link): ${fmt(data.millionMs / 1000)} s; URLs of ${data.urlLength} characters.`,
					"What the module adds to the HMAC: checking and normalizing the recipient (the email rules of the service), the payload JSON and its base64url, the two URLs and the List-Unsubscribe header, and the objects that hold them.",
					"Before measuring, samples of the tokens were checked to carry the signature Web Crypto computes.",
				],
			},
		],
	};
}
