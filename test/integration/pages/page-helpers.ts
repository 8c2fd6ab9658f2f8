import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type LinkClaims, LinkSigner } from "../../../src/links/token";
import { BASE, json, postEvents } from "../../helpers";

const signer = LinkSigner.fromJson(env.LINK_SIGNING_KEYS);
const now = () => Math.floor(Date.now() / 1000);

export async function manageToken(subject: LinkClaims["subject"], scope: Partial<LinkClaims> = {}): Promise<string> {
	return (await signer).sign({ purpose: "manage", subject, issuedAt: now(), ...scope });
}

export async function confirmToken(subject: LinkClaims["subject"], scope: Partial<LinkClaims> = {}): Promise<string> {
	return (await signer).sign({ purpose: "confirm", subject, issuedAt: now(), expiresAt: now() + 3600, ...scope });
}

/** A request to a public page, as a browser or a mailbox provider sends it (no API key). */
export function visit(
	method: string,
	path: string,
	options: { body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<Response> {
	return exports.default.fetch(
		new Request(`${BASE}${path}`, { method, headers: options.headers, body: options.body, redirect: "manual" }),
	);
}

/** A browser form post (application/x-www-form-urlencoded). */
export function submit(path: string, fields: Array<[string, string]>, headers: Record<string, string> = {}) {
	return visit("POST", path, { body: new URLSearchParams(fields), headers });
}

export async function consentOf(contactId: string): Promise<any> {
	const row = await env.DB.prepare("SELECT consent FROM contacts WHERE id = ?")
		.bind(contactId)
		.first<{ consent: string }>();
	return row ? JSON.parse(row.consent) : null;
}

export async function contactIdByEmail(email: string, businessUnit = "default"): Promise<string | null> {
	const row = await env.DB.prepare("SELECT id FROM contacts WHERE email = ? AND business_unit = ?")
		.bind(email, businessUnit)
		.first<{ id: string }>();
	return row?.id ?? null;
}

/** A lead with the given events applied through the API; returns its contact id. */
export async function seedLead(email: string, events: Array<Record<string, unknown>>, businessUnit = "default") {
	const response = await postEvents({ email, businessUnit }, events);
	expect(response.status).toBe(200);
	const body = await json(response);
	return body as { id: string; confirmations: Array<{ topic: string; confirmUrl: string }> };
}

/** Checks the headers every public page carries. */
export function expectPageHeaders(response: Response) {
	expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
	expect(response.headers.get("content-security-policy")).not.toContain("unsafe-inline");
	expect(response.headers.get("cache-control")).toBe("no-store");
	expect(response.headers.get("x-robots-tag")).toBe("noindex");
}

/** Whether the checkbox of that name and value is ticked in the page. */
export function isChecked(html: string, name: string, value: string): boolean {
	const tag = html.match(new RegExp(`<input type="checkbox" name="${name}" value="${value}"[^>]*>`));
	if (!tag) throw new Error(`no checkbox ${name}=${value}`);
	return / checked(=""|\s|>|\/)/.test(tag[0]);
}

export const countH1 = (html: string) => html.match(/<h1[\s>]/g)?.length ?? 0;

export { ledgerOf, type StoredLedgerRow as LedgerRow } from "../../helpers";
