/** Colours as configuration gives them (BRANDING's accent); read by src/env.ts and the pages' theme. */

/** `#0a7d4f` or `#0a7` (any case) → `0a7d4f`; null for anything else. */
export function parseHexColour(value: string): string | null {
	const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
	if (!match?.[1]) return null;
	const hex = match[1].toLowerCase();
	return hex.length === 3 ? [...hex].map((digit) => digit + digit).join("") : hex;
}
