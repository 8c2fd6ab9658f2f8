/**
 * `@consent-edge/links`: the link signer for senders, so they make unsubscribe and preference links
 * (and the List-Unsubscribe headers) for a million recipients without calling the service.
 * Built to dist/index.js (plain ESM, no dependencies) and dist/index.d.ts by scripts/build.mjs.
 *
 *     const links = await createLinkSigner({ keys: process.env.LINK_SIGNING_KEYS, baseUrl: "https://consent.example.com" });
 *     const { unsubscribeUrl, preferencesUrl, headers } = links.forRecipient(
 *       { email: "ann@example.de", businessUnit: "de" }, { channel: "email", topic: "newsletter-kids", campaign: "nov-2026" });
 *
 * The tokens are byte for byte those of the service's LinkSigner (Web Crypto), which verifies
 * them: both write the payload with token.ts. Making a link is synchronous, with node:crypto's
 * HMAC (so the module runs in Node, and in Workers with nodejs_compat).
 *
 * Every exported type is declared in this file, so the generated dist/index.d.ts stands alone.
 */
import { checkScope, linkBuilder, manageClaims, normalizeBaseUrl, normalizeMailto, recipientSubject } from "./links";
import { base64UrlEncode, type LinkClaims, parseSigningKeys, payloadJson } from "./token";

// token.ts CHANNELS, spelt out here so that dist/index.d.ts imports nothing (the tests check both agree).
/** The service's channels. */
export type Channel = "email" | "sms" | "whatsapp" | "push";

/** Whom a link is for, as the service identifies contacts. */
export type Recipient =
	| { externalId: string }
	| { email: string; businessUnit?: string }
	| { phone: string; businessUnit?: string }
	| { contactId: string };

/** What the link unsubscribes from: a topic, a channel, or (neither) every channel. */
export interface LinkOptions {
	channel?: Channel;
	/** A topic key; a one-click from a topic link unsubscribes that topic only. */
	topic?: string;
	/** Campaign id, recorded with the unsubscribe (statistics per campaign). */
	campaign?: string;
	/** Issue time (unix seconds or a Date); now when omitted. Manage links never expire. */
	issuedAt?: number | Date;
}

export interface Links {
	/** The unsubscribe page, `BASE/u/TOKEN`: put it visibly in the message body. */
	unsubscribeUrl: string;
	/** The preference center, `BASE/p/TOKEN`. */
	preferencesUrl: string;
	/** Set both on the message, and have DKIM sign both (RFC 8058). */
	headers: {
		/** `<https://…/u/TOKEN>`, or `<https://…/u/TOKEN>, <mailto:…?subject=unsubscribe%20TOKEN>` with a mailto. */
		"List-Unsubscribe": string;
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click";
	};
}

export interface LinkSignerOptions {
	/**
	 * The service's LINK_SIGNING_KEYS: JSON `{"kid": "secret", …}` (or that object); the first key
	 * signs. Give the signer the same value as the service, or at least its first key.
	 */
	keys: string | Record<string, string>;
	/** The service's public origin (its PUBLIC_BASE_URL), e.g. `https://consent.example.com`. */
	baseUrl: string;
	/**
	 * Adds a mailto: URI after the https one in List-Unsubscribe, with the link's token at the end of
	 * its subject (`?subject=unsubscribe%20TOKEN`; `unsubscribe` when it names no subject), as the
	 * service's LIST_UNSUBSCRIBE_MAILTO does. Give it the same value.
	 */
	mailto?: string | null;
}

/** Made by createLinkSigner; every method is synchronous and throws a TypeError for invalid input. */
export interface LinkSigner {
	/** The key id the tokens are signed with (the first of `keys`). */
	readonly keyId: string;
	/** The links and headers for one recipient. */
	forRecipient(recipient: Recipient, options?: LinkOptions): Links;
	/** The same for many recipients with one scope and issue time, in input order. */
	forRecipients(recipients: Iterable<Recipient>, options?: LinkOptions): Links[];
	/** The signed token alone (the last path segment of both URLs). */
	token(recipient: Recipient, options?: LinkOptions): string;
}

/** The part of node:crypto used here (the project has no @types/node). */
interface NodeCrypto {
	createSecretKey(key: Uint8Array): object;
	createHmac(algorithm: "sha256", key: object): { update(data: string): { digest(encoding: "base64url"): string } };
}

/** Node's Buffer (a global there): its base64url of a string is several times faster than btoa and replaces. */
interface NodeBuffer {
	from(text: string, encoding: "utf8"): { toString(encoding: "base64url"): string };
}

async function loadNodeCrypto(): Promise<NodeCrypto> {
	// A computed name keeps bundlers (and the worker build) from resolving a node: module.
	const name = "node:crypto";
	const module = await import(/* webpackIgnore: true */ /* @vite-ignore */ name).catch(() => null);
	if (typeof module?.createHmac !== "function" || typeof module?.createSecretKey !== "function") {
		throw new TypeError("@consent-edge/links needs node:crypto (Node.js 20 or newer)");
	}
	return module as NodeCrypto;
}

const encoder = new TextEncoder();

/**
 * A token as the service's LinkSigner.sign makes it: `kid.payload.signature`,
 * payload the base64url of payloadJson(claims), signature the base64url HMAC-SHA-256 of
 * `kid.payload`. Synchronous: Web Crypto's sign would cost a promise per link, more than the HMAC.
 * The key object is made once; a string key would be converted on every call.
 */
function tokenMaker(nodeCrypto: NodeCrypto, kid: string, secret: string): (claims: LinkClaims) => string {
	const key = nodeCrypto.createSecretKey(encoder.encode(secret));
	const buffer = (globalThis as unknown as { Buffer?: NodeBuffer }).Buffer;
	const base64Url = buffer
		? (json: string) => buffer.from(json, "utf8").toString("base64url")
		: (json: string) => base64UrlEncode(encoder.encode(json));
	return (claims) => {
		const body = `${kid}.${base64Url(payloadJson(claims))}`;
		return `${body}.${nodeCrypto.createHmac("sha256", key).update(body).digest("base64url")}`;
	};
}

function issuedAtOf(options: LinkOptions | undefined): number {
	const value = options?.issuedAt;
	if (value === undefined) return Math.floor(Date.now() / 1000);
	if (value instanceof Date && Number.isFinite(value.getTime())) return Math.floor(value.getTime() / 1000);
	if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
	throw new TypeError("options.issuedAt must be unix seconds (a non-negative integer) or a valid Date");
}

/**
 * A signer for one key set and base URL. Asynchronous once (it loads node:crypto); the links
 * themselves are made synchronously.
 */
export async function createLinkSigner(options: LinkSignerOptions): Promise<LinkSigner> {
	if (typeof options !== "object" || options === null) {
		throw new TypeError("createLinkSigner({ keys, baseUrl, mailto? }) needs an options object");
	}
	if (options.keys === undefined || options.keys === null) throw new TypeError("keys (LINK_SIGNING_KEYS) is missing");
	const keys = parseSigningKeys(typeof options.keys === "string" ? options.keys : JSON.stringify(options.keys));
	const { kid, secret } = keys[0] as { kid: string; secret: string };
	const build = linkBuilder(
		normalizeBaseUrl(options.baseUrl),
		options.mailto === undefined || options.mailto === null || options.mailto === ""
			? null
			: normalizeMailto(options.mailto),
	);

	const makeToken = tokenMaker(await loadNodeCrypto(), kid, secret);
	const tokenFor = (recipient: Recipient, options: LinkOptions | undefined) =>
		makeToken(manageClaims(recipientSubject(recipient), checkScope(options), issuedAtOf(options)));

	return {
		keyId: kid,
		forRecipient: (recipient, options) => build(tokenFor(recipient, options)),
		forRecipients(recipients, options) {
			const scope = checkScope(options);
			const issuedAt = issuedAtOf(options);
			const links: Links[] = [];
			for (const recipient of recipients) {
				links.push(build(makeToken(manageClaims(recipientSubject(recipient), scope, issuedAt))));
			}
			return links;
		},
		token: tokenFor,
	};
}
