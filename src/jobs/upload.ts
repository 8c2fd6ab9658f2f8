/**
 * A request body into JOB_FILES without holding it in memory: what was read already, then the rest
 * as it streams. With Content-Length the object is one `put` of a FixedLengthStream; without it, a
 * multipart upload of UPLOAD_PART_BYTES parts (R2 wants every part but the last of one size).
 */
import { ApiError } from "../http/errors";
import { UPLOAD_PART_BYTES } from "./limits";

/** The first bytes of a body: `chunks` (at most `limit` bytes and one chunk), and the reader of the rest. */
export interface BodyHead {
	chunks: Uint8Array[];
	bytes: number;
	/** null: the body ended within the limit. */
	rest: ReadableStreamDefaultReader<Uint8Array> | null;
}

/** Reads a body until it ends or more than `limit` bytes arrived. */
export async function readHead(body: ReadableStream<Uint8Array>, limit: number): Promise<BodyHead> {
	const reader = body.getReader();
	const chunks: Uint8Array[] = [];
	let bytes = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) {
			reader.releaseLock();
			return { chunks, bytes, rest: null };
		}
		chunks.push(value);
		bytes += value.byteLength;
		if (bytes > limit) return { chunks, bytes, rest: reader };
	}
}

/** The head's bytes in one piece. */
export function joined(chunks: readonly Uint8Array[]): Uint8Array {
	const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
	let at = 0;
	for (const chunk of chunks) {
		out.set(chunk, at);
		at += chunk.byteLength;
	}
	return out;
}

const tooLarge = (maxBytes: number) =>
	new ApiError(
		413,
		"PAYLOAD_TOO_LARGE",
		`An import takes at most ${maxBytes / 1024 / 1024} MiB: split the file (imports are idempotent).`,
	);

/**
 * Stores the head and the rest of a body at `key`; answers its size. `length`: the body's
 * Content-Length, when it has one. Over `maxBytes`: 413, nothing kept.
 */
export async function storeBody(
	bucket: R2Bucket,
	key: string,
	head: BodyHead,
	length: number | null,
	maxBytes: number,
	contentType: string,
): Promise<number> {
	const httpMetadata = { contentType };
	if (!head.rest) {
		await bucket.put(key, joined(head.chunks), { httpMetadata });
		return head.bytes;
	}
	const rest = head.rest;
	if (length !== null) {
		if (length > maxBytes) {
			await rest.cancel();
			throw tooLarge(maxBytes);
		}
		const fixed = new FixedLengthStream(length);
		const writer = fixed.writable.getWriter();
		const write = (async () => {
			for (const chunk of head.chunks) await writer.write(chunk);
			for (;;) {
				const { done, value } = await rest.read();
				if (done) break;
				await writer.write(value);
			}
			await writer.close();
		})();
		const [written, put] = await Promise.allSettled([write, bucket.put(key, fixed.readable, { httpMetadata })]);
		if (written.status === "rejected" || put.status === "rejected") {
			await rest.cancel().catch(() => {});
			await writer.abort().catch(() => {});
			if (written.status === "rejected") {
				throw new ApiError(400, "VALIDATION_FAILED", "The body is not as long as its Content-Length says.");
			}
			throw (put as PromiseRejectedResult).reason;
		}
		return length;
	}
	return multipart(bucket, key, head, maxBytes, httpMetadata);
}

async function multipart(
	bucket: R2Bucket,
	key: string,
	head: BodyHead,
	maxBytes: number,
	httpMetadata: R2HTTPMetadata,
): Promise<number> {
	const rest = head.rest as ReadableStreamDefaultReader<Uint8Array>;
	const upload = await bucket.createMultipartUpload(key, { httpMetadata });
	const parts: R2UploadedPart[] = [];
	let buffer = new Uint8Array(UPLOAD_PART_BYTES);
	let filled = 0;
	let size = 0;
	const flush = async () => {
		parts.push(await upload.uploadPart(parts.length + 1, buffer.subarray(0, filled)));
		buffer = new Uint8Array(UPLOAD_PART_BYTES);
		filled = 0;
	};
	const add = async (chunk: Uint8Array) => {
		size += chunk.byteLength;
		if (size > maxBytes) throw tooLarge(maxBytes);
		for (let at = 0; at < chunk.byteLength; ) {
			const take = Math.min(chunk.byteLength - at, UPLOAD_PART_BYTES - filled);
			buffer.set(chunk.subarray(at, at + take), filled);
			filled += take;
			at += take;
			if (filled === UPLOAD_PART_BYTES) await flush();
		}
	};
	try {
		for (const chunk of head.chunks) await add(chunk);
		for (;;) {
			const { done, value } = await rest.read();
			if (done) break;
			await add(value);
		}
		if (filled > 0 || parts.length === 0) await flush();
		await upload.complete(parts);
		return size;
	} catch (error) {
		await rest.cancel().catch(() => {});
		await upload.abort().catch(() => {});
		throw error;
	}
}
