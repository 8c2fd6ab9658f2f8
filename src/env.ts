import { parseHexColour } from "./colour";
import { normalizeBusinessUnit } from "./consent/normalize";
import type { EspUnsubscribePolicy } from "./consent/provider-events";
import { LinkSigner } from "./links/token";

/** The worker's bindings, as `wrangler types` generates them (worker-configuration.d.ts). */
export type Bindings = Env;

export type { EspUnsubscribePolicy } from "./consent/provider-events";

/** Configuration parsed once per isolate and env object: the only place that reads env values. */
export interface Config {
	adminToken: string | null;
	publicBaseUrl: string | null;
	listUnsubscribeMailto: string | null;
	espUnsubscribePolicy: EspUnsubscribePolicy;
	signupAllowedOrigins: string[];
	/** Business unit → page locale, from BUSINESS_UNIT_LOCALES. */
	businessUnitLocales: Record<string, string>;
	/** Business unit → ISO 3166-1 alpha-2 country (upper case), from BUSINESS_UNIT_COUNTRIES: phones may be national there. */
	businessUnitCountries: Record<string, string>;
	/** Business unit (or "*" for every other) → the sender's name, logo and accent colour on the pages, from BRANDING. */
	branding: Record<string, BrandSettings>;
	linkSigner: Promise<LinkSigner>;
	/** TURNSTILE_SECRET_KEY: with it, POST /subscribe requires a Turnstile token that passes siteverify. */
	turnstileSecret: string | null;
}

function parseLocales(json: string | null): Record<string, string> {
	if (!json) return {};
	try {
		const parsed = JSON.parse(json);
		return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed : {};
	} catch {
		console.error("BUSINESS_UNIT_LOCALES is not a JSON object; pages fall back to Accept-Language");
		return {};
	}
}

function parseCountries(json: string | null): Record<string, string> {
	if (!json) return {};
	try {
		const parsed: unknown = JSON.parse(json);
		if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
		const countries: Record<string, string> = {};
		for (const [unit, country] of Object.entries(parsed)) {
			if (typeof country === "string" && /^[A-Za-z]{2}$/.test(country)) countries[unit] = country.toUpperCase();
			else
				console.error(
					`BUSINESS_UNIT_COUNTRIES: "${unit}" is not a two-letter country code; its phones must be international`,
				);
		}
		return countries;
	} catch {
		console.error("BUSINESS_UNIT_COUNTRIES is not a JSON object; phones must be international");
		return {};
	}
}

/** What BRANDING may set for a business unit; every field is checked, and left out when it is not usable. */
export interface BrandSettings {
	/** The sender's name, as the pages show it. */
	name?: string;
	/** An https URL of the logo: the pages' CSP then allows images from its origin. */
	logoUrl?: string;
	/** `rrggbb`, lower case. */
	accent?: string;
}

const MAX_BRAND_NAME = 80;
const MAX_LOGO_URL = 2048;

function brandName(value: unknown): string | null {
	if (typeof value !== "string") return null;
	const name = value.trim();
	return name !== "" && name.length <= MAX_BRAND_NAME && !/[\p{Cc}\p{Cf}]/u.test(name) ? name : null;
}

function logoUrl(value: unknown): string | null {
	if (typeof value !== "string" || value.length > MAX_LOGO_URL) return null;
	try {
		const url = new URL(value);
		return url.protocol === "https:" && url.username === "" && url.password === "" ? url.href : null;
	} catch {
		return null;
	}
}

const BRAND_FIELDS: Record<keyof BrandSettings, (value: unknown) => string | null> = {
	name: brandName,
	logoUrl,
	accent: (value) => (typeof value === "string" ? parseHexColour(value) : null),
};

/**
 * BRANDING: `{"de": {"name": "Shop DE", "logoUrl": "https://…", "accent": "#0a7d4f"}, "*": {…}}`.
 * A value that is not usable is logged (once per isolate, as the config is parsed once) and left
 * out; the pages then use the defaults.
 */
function parseBranding(json: string | null): Record<string, BrandSettings> {
	if (!json) return {};
	let parsed: unknown;
	try {
		parsed = JSON.parse(json);
	} catch {
		parsed = null;
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
		console.error("BRANDING is not a JSON object; pages use the default branding");
		return {};
	}
	const branding: Record<string, BrandSettings> = {};
	for (const [key, entry] of Object.entries(parsed)) {
		const unit = key === "*" ? "*" : key.trim() === "" ? null : normalizeBusinessUnit(key);
		if (!unit || typeof entry !== "object" || entry === null || Array.isArray(entry)) {
			console.error(`BRANDING: "${key}" is not a business unit with an object of settings; ignored`);
			continue;
		}
		const settings: BrandSettings = {};
		for (const [field, value] of Object.entries(entry as Record<string, unknown>)) {
			if (!Object.hasOwn(BRAND_FIELDS, field)) {
				console.error(`BRANDING: "${key}" has an unknown field "${field}"; ignored`);
				continue;
			}
			const checked = BRAND_FIELDS[field as keyof BrandSettings](value);
			if (checked === null) {
				console.error(
					`BRANDING: "${key}".${field} is not usable (name: up to ${MAX_BRAND_NAME} characters; logoUrl: https; accent: #rrggbb); ignored`,
				);
			} else settings[field as keyof BrandSettings] = checked;
		}
		branding[unit] = settings;
	}
	return branding;
}

const configs = new WeakMap<object, Config>();

const blankToNull = (value: string | undefined): string | null => (value && value.trim() !== "" ? value.trim() : null);

export function getConfig(env: Bindings): Config {
	let config = configs.get(env);
	if (!config) {
		config = {
			adminToken: blankToNull(env.ADMIN_TOKEN),
			publicBaseUrl: blankToNull(env.PUBLIC_BASE_URL)?.replace(/\/+$/, "") ?? null,
			listUnsubscribeMailto: blankToNull(env.LIST_UNSUBSCRIBE_MAILTO),
			espUnsubscribePolicy: (env.ESP_UNSUBSCRIBE_POLICY as string) === "topics" ? "topics" : "channel",
			signupAllowedOrigins: (blankToNull(env.SIGNUP_ALLOWED_ORIGINS) ?? "")
				.split(",")
				.map((origin) => origin.trim())
				.filter(Boolean),
			businessUnitLocales: parseLocales(blankToNull(env.BUSINESS_UNIT_LOCALES)),
			businessUnitCountries: parseCountries(blankToNull(env.BUSINESS_UNIT_COUNTRIES)),
			branding: parseBranding(blankToNull(env.BRANDING)),
			linkSigner: LinkSigner.fromJson(blankToNull(env.LINK_SIGNING_KEYS) ?? undefined),
			turnstileSecret: blankToNull(env.TURNSTILE_SECRET_KEY),
		};
		// A bad LINK_SIGNING_KEYS must not become an unhandled rejection; it surfaces where links are made.
		config.linkSigner.catch(() => {});
		configs.set(env, config);
	}
	return config;
}
