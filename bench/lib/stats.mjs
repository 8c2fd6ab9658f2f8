// Small statistics and formatting helpers shared by the suites.

export function sorted(values) {
	return Float64Array.from(values).sort();
}

/** Percentile p (0..100) by linear interpolation between closest ranks; NaN for no values. */
export function percentile(values, p) {
	const s = values instanceof Float64Array && isSortedAscending(values) ? values : sorted(values);
	if (s.length === 0) return Number.NaN;
	const rank = (p / 100) * (s.length - 1);
	const low = Math.floor(rank);
	const high = Math.ceil(rank);
	return s[low] + (s[high] - s[low]) * (rank - low);
}

function isSortedAscending(values) {
	for (let i = 1; i < values.length; i++) if (values[i - 1] > values[i]) return false;
	return true;
}

export const median = (values) => percentile(values, 50);

export function summary(values) {
	const s = sorted(values);
	return {
		count: s.length,
		min: s[0] ?? Number.NaN,
		median: percentile(s, 50),
		p99: percentile(s, 99),
		max: s[s.length - 1] ?? Number.NaN,
	};
}

/** Fixed decimals that stay readable from 0.01 to 100,000. */
export function fmt(value, digits) {
	if (!Number.isFinite(value)) return "n/a";
	const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
	return value.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

export const fmtRatio = (value) => (Number.isFinite(value) ? `${fmt(value, 2)}x` : "n/a");
export const fmtPercent = (value) => (Number.isFinite(value) ? `${fmt(value * 100, 0)}%` : "n/a");
export const fmtInt = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a");

/** Deterministic PRNG (mulberry32): the same seed gives the same recipients on every run. */
export function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** k distinct integers from 1..n (k <= n), in random order. */
export function sampleDistinct(random, n, k) {
	if (k > n) throw new Error(`cannot draw ${k} distinct values from 1..${n}`);
	const picked = new Set();
	if (k > n / 2) {
		// Dense draw: a partial Fisher-Yates over 1..n.
		const all = Int32Array.from({ length: n }, (_, i) => i + 1);
		for (let i = 0; i < k; i++) {
			const j = i + Math.floor(random() * (n - i));
			[all[i], all[j]] = [all[j], all[i]];
		}
		return Array.from(all.subarray(0, k));
	}
	while (picked.size < k) picked.add(1 + Math.floor(random() * n));
	return Array.from(picked);
}

export function shuffle(random, values) {
	for (let i = values.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[values[i], values[j]] = [values[j], values[i]];
	}
	return values;
}
