// Minimal HTTP client on node:http with keep-alive: less client CPU than fetch, which matters when
// the load generator shares two cores with workerd. Only ever talks to 127.0.0.1.
//
// Keep-alive and local workerd: workerd closes an idle keep-alive connection 5 s after its last
// response, and a connection whose request was still running 5 s after it began right after
// sending that response (without `connection: close`). Node 20's global agent keeps idle sockets
// for exactly 5 s too, so a request sent on a pooled socket just as workerd closes it fails with
// "socket hang up" / ECONNRESET / EPIPE: the request never reached the worker. Hence, in this module:
// - requests without an agent of their own use BENCH_AGENT, never Node's global agent;
// - every agent drops an idle socket after IDLE_SOCKET_MS (3 s, before workerd's 5 s);
// - a socket whose request took LONG_REQUEST_MS (4 s) or more is destroyed, not reused;
// - a request that failed that way on a reused socket, before any answer, is sent again once.
import http from "node:http";

/** Idle keep-alive sockets are closed by the client after this long (workerd closes them at 5 s). */
const IDLE_SOCKET_MS = 3000;
/** A request that ran this long may have its connection closed by workerd after the answer: not reused. */
const LONG_REQUEST_MS = 4000;

export function createAgent(maxSockets = 16) {
	return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: IDLE_SOCKET_MS });
}

/** The agent of every request that names none (ctx.get/ctx.post): keep-alive, safe against the race above. */
export const BENCH_AGENT = createAgent(32);

/** The error of a request written to a keep-alive socket the server had closed (it never ran). */
const isStaleSocketError = (error, req, answered) =>
	req.reusedSocket &&
	!answered &&
	(["ECONNRESET", "EPIPE"].includes(error?.code ?? "") || /socket hang up/.test(String(error?.message)));

/**
 * One request; resolves when the whole body has arrived. Without `agent`, on BENCH_AGENT; `agent:
 * false` for a connection of its own.
 * @returns {Promise<{status: number, headers: import("node:http").IncomingHttpHeaders, body: Buffer, ms: number}>}
 */
export function request(baseUrl, path, options = {}) {
	return withStaleSocketRetry(() => requestOnce(baseUrl, path, options));
}

/** Sends again, once, a request that died on a keep-alive socket workerd had just closed. */
async function withStaleSocketRetry(send) {
	try {
		return await send();
	} catch (error) {
		if (!error.staleSocket) throw error;
		return send();
	}
}

/** After the answer: a socket that served a long request is not reused (workerd closes it). */
function releaseSocket(res, started) {
	if (performance.now() - started >= LONG_REQUEST_MS) res.socket?.destroy();
}

function requestOnce(
	baseUrl,
	path,
	{ method = "GET", headers = {}, body, agent = BENCH_AGENT, timeoutMs = 120_000 } = {},
) {
	const url = new URL(path, baseUrl);
	if (url.hostname !== "127.0.0.1") throw new Error(`the bench only talks to 127.0.0.1, not ${url.hostname}`);
	return new Promise((resolve, reject) => {
		const started = performance.now();
		let answered = false;
		const req = http.request(
			url,
			{
				method,
				agent,
				headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
				timeout: timeoutMs,
			},
			(res) => {
				answered = true;
				const chunks = [];
				res.on("data", (chunk) => chunks.push(chunk));
				res.on("end", () => {
					releaseSocket(res, started);
					resolve({
						status: res.statusCode ?? 0,
						headers: res.headers,
						body: Buffer.concat(chunks),
						ms: performance.now() - started,
					});
				});
				res.on("error", reject);
			},
		);
		req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
		req.on("error", (error) => {
			if (isStaleSocketError(error, req, answered)) error.staleSocket = true;
			reject(error);
		});
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
 * For calls that take seconds (exports, imports, 1M-row reads): a connection of their own, closed
 * after the answer, so no keep-alive socket is ever in doubt (see the top of this file).
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
				res.on("end", () => {
					releaseSocket(res, started);
					finish();
				});
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

/**
 * A POST whose body is streamed from `chunks` (an iterable or async iterable of Buffers, written
 * with backpressure, never held whole) with a known `length` (Content-Length), on a connection of
 * its own. Resolves with the answer (buffered: a small JSON) and the time to it; rejects when the
 * bytes written were not `length`.
 * @returns {Promise<{status: number, headers: import("node:http").IncomingHttpHeaders, body: Buffer, ms: number, uploadMs: number}>}
 */
export function uploadStream(baseUrl, path, { headers = {}, chunks, length, timeoutMs = 600_000, method = "POST" }) {
	const url = new URL(path, baseUrl);
	if (url.hostname !== "127.0.0.1") throw new Error(`the bench only talks to 127.0.0.1, not ${url.hostname}`);
	return new Promise((resolve, reject) => {
		const started = performance.now();
		let uploadMs = Number.NaN;
		const req = http.request(
			url,
			{ method, agent: false, headers: { ...headers, "content-length": length }, timeout: timeoutMs },
			(res) => {
				const body = [];
				res.on("data", (chunk) => body.push(chunk));
				res.on("end", () =>
					resolve({
						status: res.statusCode ?? 0,
						headers: res.headers,
						body: Buffer.concat(body),
						ms: performance.now() - started,
						uploadMs,
					}),
				);
				res.on("error", reject);
			},
		);
		req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
		req.on("error", reject);
		(async () => {
			let written = 0;
			for await (const chunk of chunks) {
				if (req.destroyed) return;
				written += chunk.length;
				if (!req.write(chunk)) await new Promise((resume) => req.once("drain", resume));
			}
			if (written !== length) {
				req.destroy(new Error(`${method} ${path}: wrote ${written} bytes of a Content-Length of ${length}`));
				return;
			}
			req.end();
			uploadMs = performance.now() - started;
		})().catch((error) => req.destroy(error));
	});
}
