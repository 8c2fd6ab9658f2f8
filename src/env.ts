import type { ContactActor } from "./contacts/contact-actor";
import { LinkSigner } from "./links/token";

/** Bindings with the Durable Object namespace typed for RPC. */
export type Bindings = Omit<Env, "CONTACT_ACTOR"> & { CONTACT_ACTOR: DurableObjectNamespace<ContactActor> };

export type EspUnsubscribePolicy = "channel" | "topics";

/** Configuration parsed once per isolate and env object: the only place that reads env values. */
export interface Config {
	adminToken: string | null;
	publicBaseUrl: string | null;
	listUnsubscribeMailto: string | null;
	espUnsubscribePolicy: EspUnsubscribePolicy;
	signupAllowedOrigins: string[];
	/** Business unit → page locale, from BUSINESS_UNIT_LOCALES. */
	businessUnitLocales: Record<string, string>;
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
			linkSigner: LinkSigner.fromJson(blankToNull(env.LINK_SIGNING_KEYS) ?? undefined),
		};
		// A bad LINK_SIGNING_KEYS must not become an unhandled rejection; it surfaces where links are made.
		config.linkSigner.catch(() => {});
		configs.set(env, config);
	}
	return config;
}
