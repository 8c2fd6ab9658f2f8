// Minimal HTTP client on node:http with keep-alive: less client CPU than fetch, which matters when
// the load generator shares two cores with workerd. Only ever talks to 127.0.0.1.
import http from "node:http";

export function createAgent(maxSockets = 16) {
	return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/**
 * One request; resolves when the whole body has arrived.
 * @returns {Promise<{status: number, headers: import("node:http").IncomingHttpHeaders, body: Buffer, ms: number}>}
 */
export function request(baseUrl, path, { method = "GET", headers = {}, body, agent, timeoutMs = 120_000 } = {}) {
	const url = new URL(path, baseUrl);
	if (url.hostname !== "127.0.0.1") throw new Error(`the bench only talks to 127.0.0.1, not ${url.hostname}`);
	return new Promise((resolve, reject) => {
		const started = performance.now();
		const req = http.request(
			url,
			{
				method,
				agent,
				headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
				timeout: timeoutMs,
			},
			(res) => {
				const chunks = [];
				res.on("data", (chunk) => chunks.push(chunk));
				res.on("end", () =>
					resolve({
						status: res.statusCode ?? 0,
						headers: res.headers,
						body: Buffer.concat(chunks),
						ms: performance.now() - started,
					}),
				);
				res.on("error", reject);
			},
		);
		req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
		req.on("error", reject);
		req.end(body);
	});
}

/** A request that must answer `expect` (200 unless told); returns the parsed JSON body and the time. */
export async function requestJson(baseUrl, path, options = {}) {
	const { expect = 200, ...rest } = options;
	const response = await request(baseUrl, path, rest);
	if (response.status !== expect) {
		throw new Error(
			`${rest.method ?? "GET"} ${path}: expected ${expect}, got ${response.status}: ${response.body.toString("utf8", 0, 500)}`,
		);
	}
	return { ...response, json: JSON.parse(response.body.toString("utf8")) };
}
