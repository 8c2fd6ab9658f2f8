/** Simultaneous open connections one Worker invocation may have: how many writes run at once. */
export const CONNECTIONS = 6;

/** Runs `work` over `items` with at most `limit` running at once. */
export async function inParallel<T>(
	items: readonly T[],
	limit: number,
	work: (item: T) => Promise<void>,
): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) await work(items[next++] as T);
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Back to the event loop. Locally workerd runs every worker on one thread, and a loop whose awaits
 * all settle without returning to the event loop (D1 answers of the local simulator, data already
 * in memory) would hold every other request until it ends: long loops (import chunks, export pages)
 * call this between rounds.
 */
export function yieldToEventLoop(): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, 0));
}
