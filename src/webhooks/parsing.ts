/** Small readers the provider parsers share: tolerant of whatever a provider (or a forger) sends. */
import { WebhookBodyError } from "./provider";

export const isRecord = (value: unknown): value is Record<string, unknown> =>
	typeof value === "object" && value !== null && !Array.isArray(value);

/** A string with something in it, else null. */
export const nonBlank = (value: unknown): string | null =>
	typeof value === "string" && value.trim() !== "" ? value : null;

/** Unix seconds (a number, or a numeric string; fractions kept to the millisecond) as ISO 8601, else null. */
export function unixToIso(seconds: unknown): string | null {
	const value = typeof seconds === "string" && /^\d+(\.\d+)?$/.test(seconds) ? Number(seconds) : seconds;
	if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) return null;
	const ms = Math.round(value * 1000);
	return ms <= 8.64e15 ? new Date(ms).toISOString() : null;
}

/** The body as UTF-8 text (a BOM dropped), or null when it is not UTF-8. */
export function decodeUtf8(body: Uint8Array): string | null {
	try {
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
	} catch {
		return null;
	}
}

/** The body as JSON; a WebhookBodyError (400) when it is not UTF-8, empty or not JSON. */
export function readJson(body: Uint8Array, reviver?: Parameters<typeof JSON.parse>[1]): unknown {
	const text = decodeUtf8(body);
	if (text === null) throw new WebhookBodyError("body is not UTF-8");
	if (text.trim() === "") throw new WebhookBodyError("body is empty");
	try {
		return JSON.parse(text, reviver);
	} catch {
		throw new WebhookBodyError("body is not JSON");
	}
}
