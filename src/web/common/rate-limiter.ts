import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../../env";

export interface RateLimitResult {
	allowed: boolean;
	/** Attempts still allowed in the current window after this one. */
	remaining: number;
	/** Seconds until the next attempt would be allowed; 0 when allowed. */
	retryAfterSeconds: number;
}

const HITS_KEY = "hits";

/**
 * A sliding-window log for one key (one Durable Object per key, e.g. `ip:<address>`): the times of
 * the attempts allowed in the last `windowSeconds`. An attempt is allowed while fewer than `limit`
 * lie inside the window; refused attempts are not counted, so a client that waits `Retry-After`
 * seconds gets through. The limits here are tens of attempts, so the log stays a tiny array.
 *
 * Storage is the synchronous KV of the SQLite-backed object: a check and its write never
 * interleave with another call (no await between them). The log is persisted so an evicted object
 * keeps counting, and an alarm deletes it once the window has passed: keys of one-off visitors
 * leave nothing behind.
 */
export class RateLimiter extends DurableObject<Bindings> {
	async hit(limit: number, windowSeconds: number): Promise<RateLimitResult> {
		const now = Date.now();
		const windowMs = windowSeconds * 1000;
		const storage = this.ctx.storage;
		const hits = (storage.kv.get<number[]>(HITS_KEY) ?? []).filter((at) => at > now - windowMs);
		if (hits.length >= limit) {
			// The oldest attempts leave the window first; the (n - limit + 1)th oldest frees a slot.
			const freesAt = (hits[hits.length - limit] ?? now) + windowMs;
			storage.kv.put(HITS_KEY, hits);
			return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)) };
		}
		hits.push(now);
		storage.kv.put(HITS_KEY, hits);
		await storage.setAlarm(now + windowMs);
		return { allowed: true, remaining: limit - hits.length, retryAfterSeconds: 0 };
	}

	override async alarm(): Promise<void> {
		// Every attempt is older than the window the last hit asked for: forget the key.
		await this.ctx.storage.deleteAll();
	}
}
