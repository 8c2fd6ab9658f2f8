/**
 * Traits: free-form facts about a contact that the sender keeps with us (names, segments, its own
 * flags). They never decide consent; they only have to stay small and merge predictably.
 */

/** Traits and event properties: at most this much serialized JSON, and this deep. */
export const MAX_JSON_BYTES = 16 * 1024;
export const MAX_JSON_DEPTH = 8;

/** Why a JSON value is over the limits, or null. Iterative, so no input can exhaust the stack. */
export function jsonLimitProblem(value: unknown): string | null {
	const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
	while (stack.length > 0) {
		const { value: next, depth } = stack.pop() as { value: unknown; depth: number };
		if (typeof next !== "object" || next === null) continue;
		if (depth > MAX_JSON_DEPTH) return `nested more than ${MAX_JSON_DEPTH} levels deep`;
		for (const child of Object.values(next)) stack.push({ value: child, depth: depth + 1 });
	}
	if (new TextEncoder().encode(JSON.stringify(value)).length > MAX_JSON_BYTES) {
		return `larger than ${MAX_JSON_BYTES / 1024} KiB as JSON`;
	}
	return null;
}

/**
 * An update of traits merges into what is there: a key given is set (a nested object replaces the
 * old value whole), a key given as null is removed, keys not given keep their values. Senders
 * update one newsletter flag without sending every other one again, as they did in the marketing
 * tools they come from.
 */
export function mergeTraits(
	current: Readonly<Record<string, unknown>>,
	update: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
	const merged: Record<string, unknown> = { ...current };
	for (const [key, value] of Object.entries(update)) {
		if (value === null) delete merged[key];
		else merged[key] = value;
	}
	return merged;
}
