// Closed-loop load generator: `concurrency` workers, each sending its next request as soon as the
// previous one answered, for a fixed time. Counts answers per second and keeps every latency.
import { createAgent, request } from "./http.mjs";

/**
 * @param {object} options
 * @param {string} options.baseUrl
 * @param {(i: number) => string} options.path  the i-th request's path (vary it to vary the keys)
 * @param {number} options.concurrency
 * @param {number} options.durationMs
 * @param {Record<string, string>} [options.headers]
 * @param {string} [options.method]  GET unless told
 * @param {string | ((i: number) => string)} [options.body]  the same body for every request (POST), or the i-th request's
 * @param {number} [options.maxRequests]  stop after this many requests, even before `durationMs`
 */
export async function runLoad({
	baseUrl,
	path,
	concurrency,
	durationMs,
	headers = {},
	method = "GET",
	body,
	maxRequests = Number.POSITIVE_INFINITY,
}) {
	const agent = createAgent(concurrency);
	const latencies = [];
	const errors = [];
	let next = 0;
	const started = performance.now();
	const deadline = started + durationMs;
	async function worker() {
		while (performance.now() < deadline && next < maxRequests) {
			const i = next++;
			const target = path(i);
			try {
				const response = await request(baseUrl, target, {
					agent,
					headers,
					method,
					body: typeof body === "function" ? body(i) : body,
				});
				if (response.status === 200) latencies.push(response.ms);
				else errors.push(`${response.status} ${target}: ${response.body.toString("utf8", 0, 200)}`);
			} catch (error) {
				errors.push(`${target}: ${error.message}`);
			}
		}
	}
	await Promise.all(Array.from({ length: concurrency }, worker));
	const elapsedMs = performance.now() - started;
	agent.destroy();
	return { ok: latencies.length, errors, elapsedMs, rps: (latencies.length / elapsedMs) * 1000, latencies };
}
