/**
 * A business unit's accent colour as a stylesheet. The pages' CSP allows styles only from our own
 * origin (no inline style), so the colour travels in the stylesheet's URL,
 * `/assets/theme/0a7d4f.css`: a pure function of the colour, cached for good.
 *
 * Whatever colour is configured, text keeps WCAG AA contrast (4.5:1): buttons get white or black
 * text, whichever reads better on the accent (one of the two always reaches 4.6:1); links and
 * borders use the accent darkened until it reaches 4.5:1 on the page's light backgrounds.
 */
import { Hono } from "hono";

export type Rgb = readonly [number, number, number];

export { parseHexColour } from "../../colour";

const byte = (hex: string, at: number) => Number.parseInt(hex.slice(at, at + 2), 16);
const rgbOf = (hex: string): Rgb => [byte(hex, 0), byte(hex, 2), byte(hex, 4)];
const hexOf = (rgb: Rgb) => `#${rgb.map((value) => value.toString(16).padStart(2, "0")).join("")}`;

/** Relative luminance, WCAG 2.1 (sRGB). */
export function luminance([r, g, b]: Rgb): number {
	const linear = (value: number) => {
		const c = value / 255;
		return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
	};
	return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG contrast ratio, 1 to 21. */
export function contrast(a: Rgb, b: Rgb): number {
	const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
	return (light + 0.05) / (dark + 0.05);
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
/** The pages' light backgrounds (--bg, --soft in styles.ts): text in the accent must read on both. */
const PAGE_BACKGROUNDS: Rgb[] = [WHITE, [0xf6, 0xf8, 0xfa]];
export const AA_TEXT = 4.5;

/** Mixed with black; rounded, so that the colour checked is the colour written. */
const towardBlack = ([r, g, b]: Rgb, share: number): Rgb => [
	Math.round(r * (1 - share)),
	Math.round(g * (1 - share)),
	Math.round(b * (1 - share)),
];

/** White or black, whichever has the higher contrast on `background`. */
export const readableOn = (background: Rgb): Rgb =>
	contrast(WHITE, background) >= contrast(BLACK, background) ? WHITE : BLACK;

/** The colour, darkened in small steps until text in it reaches AA on every page background. */
export function readableAccent(rgb: Rgb): Rgb {
	for (let share = 0; share < 1; share += 0.05) {
		const candidate = towardBlack(rgb, share);
		if (PAGE_BACKGROUNDS.every((background) => contrast(candidate, background) >= AA_TEXT)) return candidate;
	}
	return BLACK;
}

export interface Theme {
	/** Button background: the colour as configured. */
	button: string;
	/** Text on buttons. */
	onButton: string;
	/** Links, notice borders, button borders: the colour, darkened where needed. */
	accent: string;
	/** Hover background and secondary buttons' text: a darker shade. */
	accentStrong: string;
	onAccentStrong: string;
}

export function themeOf(hex: string): Theme {
	const rgb = rgbOf(hex);
	const accent = readableAccent(rgb);
	const strong = towardBlack(accent, 0.3);
	return {
		button: hexOf(rgb),
		onButton: hexOf(readableOn(rgb)),
		accent: hexOf(accent),
		accentStrong: hexOf(strong),
		onAccentStrong: hexOf(readableOn(strong)),
	};
}

/** The stylesheet: the variables of APP_CSS (styles.ts) for this colour. */
export function themeCss(hex: string): string {
	const theme = themeOf(hex);
	return `:root { --accent: ${theme.accent}; --accent-strong: ${theme.accentStrong}; --button: ${theme.button}; --on-button: ${theme.onButton}; --on-accent-strong: ${theme.onAccentStrong}; }\n`;
}

export const themeHref = (hex: string) => `/assets/theme/${hex}.css`;

/** GET /assets/theme/{rrggbb}.css: mounted next to /assets/app.css. */
export const themeRouter = new Hono().get("/assets/theme/:file", (c) => {
	const hex = /^([0-9a-f]{6})\.css$/.exec(c.req.param("file"))?.[1];
	if (!hex) return c.notFound();
	return c.body(themeCss(hex), 200, {
		"content-type": "text/css; charset=utf-8",
		// The URL is the colour: its content never changes.
		"cache-control": "public, max-age=31536000, immutable",
	});
});
