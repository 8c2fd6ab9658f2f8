import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Bindings, getConfig } from "../../src/env";
import { brandFor } from "../../src/web/common/branding";
import { CONTENT_SECURITY_POLICY, contentSecurityPolicy } from "../../src/web/common/csp";
import { AA_TEXT, contrast, parseHexColour, type Rgb, themeCss, themeOf } from "../../src/web/common/theme";

const byte = (hex: string, at: number) => Number.parseInt(hex.slice(at, at + 2), 16);
const rgb = (hex: string): Rgb => [byte(hex, 1), byte(hex, 3), byte(hex, 5)];
const WHITE: Rgb = [255, 255, 255];
const SOFT: Rgb = [0xf6, 0xf8, 0xfa];

/** A fresh env object: its own parsed config. */
const configWith = (branding: string) => getConfig({ ...env, BRANDING: branding } as unknown as Bindings);

afterEach(() => {
	vi.restoreAllMocks();
});

describe("accent colours keep WCAG AA contrast", () => {
	it("for any colour: button text on the button, links and borders on the page, the hover shade", () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 0xffffff }), (value) => {
				const theme = themeOf(value.toString(16).padStart(6, "0"));
				expect(contrast(rgb(theme.onButton), rgb(theme.button))).toBeGreaterThanOrEqual(AA_TEXT);
				for (const background of [WHITE, SOFT]) {
					expect(contrast(rgb(theme.accent), background)).toBeGreaterThanOrEqual(AA_TEXT);
					expect(contrast(rgb(theme.accentStrong), background)).toBeGreaterThanOrEqual(AA_TEXT);
				}
				expect(contrast(rgb(theme.onAccentStrong), rgb(theme.accentStrong))).toBeGreaterThanOrEqual(AA_TEXT);
			}),
			{ numRuns: 2000 },
		);
	});

	it("keeps a colour that already reads well, and darkens one that does not", () => {
		expect(themeOf("0a7d4f")).toMatchObject({ button: "#0a7d4f", accent: "#0a7d4f", onButton: "#ffffff" });
		const yellow = themeOf("ffcc00");
		expect(yellow).toMatchObject({ button: "#ffcc00", onButton: "#000000" });
		expect(yellow.accent).not.toBe("#ffcc00");
		expect(themeCss("0a7d4f")).toContain("--accent: #0a7d4f;");
	});

	it.each([
		["#0A7D4F", "0a7d4f"],
		["#0a7", "00aa77"],
		[" #abcdef ", "abcdef"],
		["0a7d4f", null],
		["#0a7d4", null],
		["red", null],
		["#0a7d4f; color: red", null],
	])("parses %j as %j", (input, expected) => {
		expect(parseHexColour(input)).toBe(expected);
	});
});

describe("the pages' CSP", () => {
	it("is the service's policy, with only the logo's https origin added to img-src", () => {
		expect(contentSecurityPolicy()).toBe(
			"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		);
		expect(contentSecurityPolicy("https://cdn.shop.example")).toBe(
			"default-src 'none'; style-src 'self'; img-src 'self' data: https://cdn.shop.example; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		);
		expect(contentSecurityPolicy("http://cdn.shop.example")).toBe(contentSecurityPolicy());
		expect(CONTENT_SECURITY_POLICY.imgSrc).toEqual(["'self'", "data:"]);
	});
});

describe("BRANDING", () => {
	it("is read per business unit over the * entry, field by field", () => {
		const config = configWith(
			JSON.stringify({
				DE: { name: "Shop DE", logoUrl: "https://cdn.shop.example/de/logo.svg", accent: "#0A7D4F" },
				"*": { name: "Shop", accent: "#7a1f5c" },
				at: { logoUrl: "https://img.shop.example:8443/at.png" },
			}),
		);
		expect(brandFor(config.branding, "de", "host.example")).toEqual({
			name: "Shop DE",
			logoUrl: "https://cdn.shop.example/de/logo.svg",
			logoOrigin: "https://cdn.shop.example",
			themeHref: "/assets/theme/0a7d4f.css",
		});
		expect(brandFor(config.branding, "at", "host.example")).toEqual({
			name: "Shop",
			logoUrl: "https://img.shop.example:8443/at.png",
			logoOrigin: "https://img.shop.example:8443",
			themeHref: "/assets/theme/7a1f5c.css",
		});
		expect(brandFor(config.branding, null, "host.example")).toMatchObject({ name: "Shop", logoUrl: null });
	});

	it("defaults without it: the host's name, no logo, the default colours", () => {
		const config = configWith("");
		expect(brandFor(config.branding, "de", "consent.example.test")).toEqual({
			name: "consent.example.test",
			logoUrl: null,
			logoOrigin: null,
			themeHref: null,
		});
	});

	it("logs what it cannot use and leaves it out, never failing", () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const config = configWith(
			JSON.stringify({
				de: {
					name: "Shop DE",
					logoUrl: "http://cdn.shop.example/logo.png",
					accent: "green",
					motto: "Buy more",
				},
				fr: { logoUrl: "https://user:secret@cdn.shop.example/logo.png", name: "  " },
				nl: "Winkel",
				"bad unit!": { name: "x" },
			}),
		);
		expect(config.branding).toEqual({ de: { name: "Shop DE" }, fr: {} });
		expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
			expect.stringContaining('"de".logoUrl'),
			expect.stringContaining('"de".accent'),
			expect.stringContaining('unknown field "motto"'),
			expect.stringContaining('"fr".logoUrl'),
			expect.stringContaining('"fr".name'),
			expect.stringContaining('"nl"'),
			expect.stringContaining('"bad unit!"'),
		]);
		expect(configWith("not json").branding).toEqual({});
		expect(configWith("[1]").branding).toEqual({});
	});
});
