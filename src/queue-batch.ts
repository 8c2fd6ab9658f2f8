/** Queues take at most 100 messages per sendBatch; larger lists go in slices of that size, in order. */
const SEND_BATCH_LIMIT = 100;

export async function sendInBatches<Body>(queue: Queue<Body>, bodies: readonly Body[]): Promise<void> {
	for (let start = 0; start < bodies.length; start += SEND_BATCH_LIMIT) {
		await queue.sendBatch(bodies.slice(start, start + SEND_BATCH_LIMIT).map((body) => ({ body })));
	}
}
