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
	linkSigner: Promise<LinkSigner>;
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
			linkSigner: LinkSigner.fromJson(blankToNull(env.LINK_SIGNING_KEYS) ?? undefined),
		};
		// A bad LINK_SIGNING_KEYS must not become an unhandled rejection; it surfaces where links are made.
		config.linkSigner.catch(() => {});
		configs.set(env, config);
	}
	return config;
}
