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

/**
 * For calls that may take more than a few seconds: a connection of their own, closed after the
 * answer. Local workerd closes a keep-alive connection about 5 s after a request on it began when
 * the request is still running then (without `connection: close`), so the next request that
 * Node's keep-alive global agent sends on that socket fails with EPIPE or ECONNRESET.
 */
export const LONG_CALL = false;

/**
 * One request whose answer is streamed (on a connection of its own, see LONG_CALL, unless `agent`): `onData(chunk)` sees every chunk as it arrives and nothing
 * is kept (a large export is never held in memory), except up to 2,000 bytes of a non-200 body for
 * the error message. Resolves at the end of the body with the byte count, the time to the first
 * byte and to the last, and `complete`: false when the transfer was cut off (an errored stream
 * ends a chunked body without its terminating chunk).
 * @returns {Promise<{status: number, headers: import("node:http").IncomingHttpHeaders, bytes: number, firstByteMs: number, ms: number, complete: boolean, errorBody: string}>}
 */
export function requestStream(
	baseUrl,
	path,
	{ method = "GET", headers = {}, body, agent = LONG_CALL, timeoutMs = 600_000, onData = () => {} } = {},
) {
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
				const status = res.statusCode ?? 0;
				let bytes = 0;
				let firstByteMs = Number.NaN;
				let errorBody = "";
				let settled = false;
				const finish = () => {
					if (settled) return;
					settled = true;
					resolve({
						status,
						headers: res.headers,
						bytes,
						firstByteMs,
						ms: performance.now() - started,
						complete: res.complete,
						errorBody,
					});
				};
				res.on("data", (chunk) => {
					if (bytes === 0) firstByteMs = performance.now() - started;
					bytes += chunk.length;
					if (status === 200) onData(chunk);
					else if (errorBody.length < 2000) errorBody += chunk.toString("utf8", 0, 2000 - errorBody.length);
				});
				res.on("end", finish);
				// A cut-off body: "aborted"/"error" (ECONNRESET) instead of a clean end; complete stays false.
				res.on("error", finish);
				res.on("close", finish);
			},
		);
		req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
		req.on("error", reject);
		req.end(body);
	});
}
