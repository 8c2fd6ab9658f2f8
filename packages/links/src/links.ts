/**
 * Unsubscribe and preference links: the URLs and the RFC 2369 / RFC 8058 headers for one
 * manage token, and the claims such a token carries. Shared by the service's POST /v1/links
 * (src/links/links.ts re-exports this) and the offline signer (index.ts), so both make the very
 * same links.
 *
 * Pure: no Web Crypto, no Node built-ins, no zod. The API validates its input with zod first; the
 * offline signer validates with the functions below, which follow the same rules.
 */
import { normalizeBusinessUnit, normalizeEmail, normalizePhone } from "./normalize";
import { CHANNELS, type Channel, type LinkClaims, type LinkSubject } from "./token";

export const ONE_CLICK = "List-Unsubscribe=One-Click";

/** The same rule as TopicKeySchema (src/api/schemas.ts). */
export const TOPIC_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MAX_CAMPAIGN_LENGTH = 128;
export const MAX_EXTERNAL_ID_LENGTH = 256;
export const MAX_CONTACT_ID_LENGTH = 128;
const CONTROL_CHARACTER = /\p{Cc}/u;

export interface LinkHeaders {
	"List-Unsubscribe": string;
	"List-Unsubscribe-Post": typeof ONE_CLICK;
}

export interface Links {
	unsubscribeUrl: string;
	preferencesUrl: string;
	headers: LinkHeaders;
}

/** What a link acts on: a channel, a topic (of its channel), both, or neither (everything). */
export interface LinkScope {
	channel?: Channel;
	topic?: string;
	campaign?: string;
}

/**
 * The origin (and optional path prefix) links start with: an absolute http(s) URL without query,
 * fragment or credentials; trailing slashes dropped.
 */
export function normalizeBaseUrl(input: unknown): string {
	let url: URL | null = null;
	try {
		url = typeof input === "string" ? new URL(input.trim()) : null;
	} catch {
		url = null;
	}
	if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
		throw new TypeError(`baseUrl must be an absolute https URL such as "https://consent.example.com"`);
	}
	if (url.search || url.hash || url.username || url.password) {
		throw new TypeError("baseUrl must not carry a query, a fragment or credentials");
	}
	return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

// Printable ASCII without blanks, angle brackets, quotes and commas: RFC 2369 puts the URI between
// angle brackets in a comma-separated list, so those must arrive percent-encoded.
const MAILTO_PATTERN = /^mailto:[!#-+\--;=?-~]+@[!#-+\--;=?-~]+$/;

/**
 * A mailto: URI for List-Unsubscribe (LIST_UNSUBSCRIBE_MAILTO): `unsubscribe@example.com`,
 * `mailto:unsubscribe@example.com` or `<mailto:…>` are all accepted. Without a subject, one is added
 * (`?subject=unsubscribe`): each link appends its token to the subject (see linkBuilder), and the
 * service's mail handler reads it from there.
 */
export function normalizeMailto(input: unknown): string {
	if (typeof input !== "string") throw new TypeError("mailto must be a string such as mailto:unsubscribe@example.com");
	let value = input.trim();
	if (value.startsWith("<") && value.endsWith(">")) value = value.slice(1, -1).trim();
	value = /^mailto:/i.test(value) ? `mailto:${value.slice(7)}` : `mailto:${value}`;
	if (!MAILTO_PATTERN.test(value)) {
		throw new TypeError(
			`mailto "${input}" is not a mailto: URI of printable ASCII without blanks, quotes, commas or angle brackets (percent-encode them)`,
		);
	}
	const hashAt = value.indexOf("#");
	const fragment = hashAt === -1 ? "" : value.slice(hashAt);
	if (hashAt !== -1) value = value.slice(0, hashAt);
	const queryStart = value.indexOf("?");
	const query = queryStart === -1 ? "" : value.slice(queryStart + 1);
	const hasSubject = query.split("&").some((pair) => pair.split("=")[0]?.toLowerCase() === "subject");
	if (hasSubject) return value + fragment;
	return `${value}${queryStart === -1 ? "?" : query === "" ? "" : "&"}subject=unsubscribe${fragment}`;
}

/**
 * A normalized mailto split where a link's token goes: at the end of the subject's value, after a
 * space (`%20`) when the subject has text. `mailto:u@example.com?subject=unsubscribe&body=x` gives
 * `["mailto:u@example.com?subject=unsubscribe%20", "&body=x"]`, so a link's mailto is
 * `mailto:u@example.com?subject=unsubscribe%20TOKEN&body=x`. Tokens are base64url and dots: they
 * need no percent-encoding in a URI.
 */
function mailtoAround(mailto: string): [before: string, after: string] {
	// A fragment (RFC 3986) is no part of the query: the token goes before it.
	const hashAt = mailto.indexOf("#");
	const uri = hashAt === -1 ? mailto : mailto.slice(0, hashAt);
	const fragment = hashAt === -1 ? "" : mailto.slice(hashAt);
	// normalizeMailto gave it a query with a subject: the loop finds it.
	let start = uri.indexOf("?") + 1;
	for (const pair of uri.slice(start).split("&")) {
		const end = start + pair.length;
		const equals = pair.indexOf("=");
		if ((equals === -1 ? pair : pair.slice(0, equals)).toLowerCase() === "subject") {
			const hasText = equals !== -1 && equals < pair.length - 1;
			const subject = equals === -1 ? `${uri.slice(0, end)}=` : uri.slice(0, end);
			return [hasText ? `${subject}%20` : subject, uri.slice(end) + fragment];
		}
		start = end + 1;
	}
	throw new Error(`mailto "${mailto}" has no subject: normalize it with normalizeMailto first`);
}

/**
 * Makes the links for manage tokens under one base URL: the unsubscribe page `/u/TOKEN`, the
 * preference center `/p/TOKEN` (same token), and the headers: List-Unsubscribe with the https URI
 * first and the optional mailto after it (RFC 2369, most preferred first) with the token at the end
 * of its subject (`mailto:…?subject=unsubscribe%20TOKEN`), List-Unsubscribe-Post for RFC 8058
 * one-click. Arguments are taken as normalized (normalizeBaseUrl, normalizeMailto).
 */
export function linkBuilder(baseUrl: string, mailto: string | null): (token: string) => Links {
	const unsubscribePrefix = `${baseUrl}/u/`;
	const preferencesPrefix = `${baseUrl}/p/`;
	const [mailtoBefore, mailtoAfter] = mailto ? mailtoAround(mailto) : ["", ""];
	return (token) => {
		const unsubscribeUrl = unsubscribePrefix + token;
		const listUnsubscribe = mailto
			? `<${unsubscribeUrl}>, <${mailtoBefore}${token}${mailtoAfter}>`
			: `<${unsubscribeUrl}>`;
		return {
			unsubscribeUrl,
			preferencesUrl: preferencesPrefix + token,
			headers: { "List-Unsubscribe": listUnsubscribe, "List-Unsubscribe-Post": ONE_CLICK },
		};
	};
}

/** Claims of an unsubscribe/preference token: purpose manage, no expiry. */
export function manageClaims(subject: LinkSubject, scope: LinkScope, issuedAt: number): LinkClaims {
	const claims: LinkClaims = { purpose: "manage", subject, issuedAt };
	if (scope.channel) claims.channel = scope.channel;
	if (scope.topic) claims.topic = scope.topic;
	if (scope.campaign) claims.campaign = scope.campaign;
	return claims;
}

const fail = (message: string): never => {
	throw new TypeError(message);
};

function identifier(value: unknown, field: string, maxLength: number): string {
	if (typeof value !== "string" || value.length === 0 || value.length > maxLength || CONTROL_CHARACTER.test(value)) {
		fail(`recipient.${field} must be a string of 1 to ${maxLength} characters without control characters`);
	}
	return value as string;
}

function businessUnitOf(value: unknown): string {
	if (value !== undefined && value !== null && typeof value !== "string")
		fail("recipient.businessUnit must be a string");
	return (
		normalizeBusinessUnit(value as string | undefined) ??
		fail(`recipient.businessUnit "${value}" must be letters, digits, _ and -, at most 64`)
	);
}

/**
 * The token subject for a recipient as senders name it: `{externalId}`, `{email, businessUnit?}`,
 * `{phone, businessUnit?}` or `{contactId}`, normalized as the service stores it (emails trimmed
 * and lower-cased, phones E.164, business unit "default" when omitted). Throws a TypeError for
 * anything else, unknown fields included (a misspelt businessUnit must not silently mean "default").
 */
export function recipientSubject(recipient: unknown): LinkSubject {
	if (typeof recipient !== "object" || recipient === null) {
		return fail(
			"recipient must be an object: {externalId}, {email, businessUnit?}, {phone, businessUnit?} or {contactId}",
		);
	}
	const r = recipient as Record<string, unknown>;
	let count = 0;
	for (const key in r) {
		if (key === "externalId" || key === "email" || key === "phone" || key === "contactId") count++;
		else if (key !== "businessUnit") fail(`recipient has an unknown field "${key}"`);
	}
	if (count !== 1) fail("name the recipient by exactly one of externalId, email, phone or contactId");
	if (r.externalId !== undefined || r.contactId !== undefined) {
		if (r.businessUnit !== undefined) fail("recipient.businessUnit goes with email or phone only");
		return r.externalId !== undefined
			? { externalId: identifier(r.externalId, "externalId", MAX_EXTERNAL_ID_LENGTH) }
			: { contactId: identifier(r.contactId, "contactId", MAX_CONTACT_ID_LENGTH) };
	}
	if (r.email !== undefined) {
		const email = (typeof r.email === "string" && normalizeEmail(r.email)) || fail(`"${r.email}" is not a valid email`);
		return { email, businessUnit: businessUnitOf(r.businessUnit) };
	}
	const phone =
		(typeof r.phone === "string" && normalizePhone(r.phone)) ||
		fail(`"${r.phone}" is not a valid E.164 phone number (+4917612345678)`);
	return { phone, businessUnit: businessUnitOf(r.businessUnit) };
}

const channels: ReadonlySet<string> = new Set(CHANNELS);

const SCOPE_FIELDS: ReadonlySet<string> = new Set(["channel", "topic", "campaign", "issuedAt"]);

/**
 * Checks channel, topic and campaign as the API does (whether the topic exists only the service
 * knows). Unknown fields are refused: a misspelt `topic` would otherwise make a link that
 * unsubscribes from everything. `issuedAt` is let through for the caller to check.
 */
export function checkScope(scope: unknown): LinkScope {
	if (scope === undefined || scope === null) return {};
	if (typeof scope !== "object") return fail("options must be an object {channel?, topic?, campaign?}");
	for (const key in scope) if (!SCOPE_FIELDS.has(key)) fail(`options has an unknown field "${key}"`);
	const { channel, topic, campaign } = scope as Record<string, unknown>;
	if (channel !== undefined && !(typeof channel === "string" && channels.has(channel))) {
		fail(`channel must be one of ${CHANNELS.join(", ")}`);
	}
	if (topic !== undefined && !(typeof topic === "string" && TOPIC_KEY_PATTERN.test(topic))) {
		fail("topic must be a topic key: lower-case letters, digits, '.', '_' and '-', at most 64");
	}
	if (
		campaign !== undefined &&
		!(
			typeof campaign === "string" &&
			campaign.length > 0 &&
			campaign.length <= MAX_CAMPAIGN_LENGTH &&
			!CONTROL_CHARACTER.test(campaign)
		)
	) {
		fail(`campaign must be a string of 1 to ${MAX_CAMPAIGN_LENGTH} characters without control characters`);
	}
	return scope as LinkScope;
}
