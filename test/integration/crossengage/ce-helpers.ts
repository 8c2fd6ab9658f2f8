/** Calls of the CrossEngage-compatible API and reads of the native state they leave. */
import { api, json, putTopic, unique } from "../../helpers";

export interface LedgerRow {
	event: string;
	channel: string | null;
	topic: string | null;
	changes: Array<{ field: string; from: unknown; to: unknown }>;
	changed: boolean;
	properties: Record<string, unknown>;
	source: string;
}

/**
 * A fixture with the guide's placeholders filled in: `USERID` (also inside links) becomes `id`;
 * `email` and `businessUnit` replace the body's when given.
 */
export function fill<T>(fixture: T, values: { id?: string; email?: string; businessUnit?: string } = {}): any {
	const text = values.id ? JSON.stringify(fixture).replaceAll("USERID", values.id) : JSON.stringify(fixture);
	const body = JSON.parse(text);
	if (values.email !== undefined) body.email = values.email;
	if (values.businessUnit !== undefined) body.businessUnit = values.businessUnit;
	return body;
}

/** The key: a bearer key (the admin token when not given), or null and the key in `headers`. */
export interface CallOptions {
	key?: string | null;
	headers?: Record<string, string>;
}

export const putUser = (id: string, body: unknown, options: CallOptions = {}) =>
	api("PUT", `/crossengage/users/${encodeURIComponent(id)}`, { body, ...options });

export const putLead = (body: unknown, options: CallOptions = {}) =>
	api("PUT", "/crossengage/leads", { body, ...options });

export const postEvents = (body: unknown, options: CallOptions = {}) =>
	api("POST", "/crossengage/events", { body, ...options });

/** The native contact of a user (GET /v1/users/{externalId}). */
export async function nativeUser(id: string) {
	const response = await api("GET", `/v1/users/${encodeURIComponent(id)}`);
	if (response.status !== 200) throw new Error(`user ${id}: ${response.status} ${await response.text()}`);
	return json(response);
}

/** A user's whole ledger, oldest first. */
export async function userLedger(id: string): Promise<LedgerRow[]> {
	return (await json(await api("GET", `/v1/users/${encodeURIComponent(id)}/history`))).events;
}

export async function leadLedger(email: string, businessUnit: string): Promise<LedgerRow[]> {
	const query = new URLSearchParams({ email, businessUnit });
	return (await json(await api("GET", `/v1/leads/history?${query}`))).events;
}

/** GET /v1/consent: `{allowed, reason}`. */
export async function decision(query: Record<string, string>): Promise<{ allowed: boolean; reason: string }> {
	const response = await api("GET", `/v1/consent?${new URLSearchParams(query)}`);
	if (response.status !== 200) throw new Error(`consent: ${response.status} ${await response.text()}`);
	const { allowed, reason } = await json(response);
	return { allowed, reason };
}

/**
 * The multi-newsletter topics of the guide (kids, pets, shoes: email, double opt-in) in a business
 * unit of their own, each mapped to its CrossEngage trait.
 */
export async function newsletterTopics(options: { doubleOptIn?: boolean } = {}) {
	const businessUnit = unique("ce");
	const suffix = businessUnit.slice(3);
	const topics = {
		kids: `newsletter-kids-${suffix}`,
		pets: `newsletter-pets-${suffix}`,
		shoes: `newsletter-shoes-${suffix}`,
	};
	const traits = { kids: "newsletterKids", pets: "newsletterPets", shoes: "newsletterShoes" } as const;
	for (const name of ["kids", "pets", "shoes"] as const) {
		await putTopic(topics[name], {
			businessUnit,
			doubleOptIn: options.doubleOptIn ?? true,
			providerRefs: { crossengage: traits[name] },
		});
	}
	return { businessUnit, topics };
}

/** An API key with these scopes (and business units). */
export async function createKey(scopes: string[], businessUnits?: string[]): Promise<string> {
	const response = await api("POST", "/v1/api-keys", {
		body: { name: unique("ce-key"), scopes, ...(businessUnits ? { businessUnits } : {}) },
	});
	if (response.status !== 201) throw new Error(`key: ${response.status} ${await response.text()}`);
	return (await json(response)).key;
}
