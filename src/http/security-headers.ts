/**
 * The security headers of every answer: the full set on pages, a short one on everything else.
 */
import type { MiddlewareHandler } from "hono";

type Header = readonly [name: string, value: string];

const HSTS: Header = ["strict-transport-security", "max-age=15552000; includeSubDomains"];
const NOSNIFF: Header = ["x-content-type-options", "nosniff"];
const SAME_ORIGIN_RESOURCE: Header = ["cross-origin-resource-policy", "same-origin"];

/** Pages (text/html): what browsers apply to a document, with the pages' Content-Security-Policy. */
function pageHeaders(contentSecurityPolicy: string): readonly Header[] {
	return [
		["content-security-policy", contentSecurityPolicy],
		["cross-origin-opener-policy", "same-origin"],
		SAME_ORIGIN_RESOURCE,
		["origin-agent-cluster", "?1"],
		["referrer-policy", "no-referrer"],
		HSTS,
		NOSNIFF,
		["x-dns-prefetch-control", "off"],
		["x-download-options", "noopen"],
		["x-frame-options", "SAMEORIGIN"],
		["x-permitted-cross-domain-policies", "none"],
		["x-xss-protection", "0"],
	];
}

/**
 * Everything else (JSON, problem+json, CSV, CSS): no document renders it, so only what keeps a
 * browser from treating it as one, framing it or embedding it elsewhere. The page set would add
 * about 600 bytes to every consent check's answer of about 100, and work at every hop (locally,
 * a dozen headers cost a bare answer a tenth of its CPU).
 */
const DATA_HEADERS: readonly Header[] = [
	["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
	SAME_ORIGIN_RESOURCE,
	HSTS,
	NOSNIFF,
];

/** A page may widen its policy (a unit's logo) or send its referrer to its own origin (forms that check it). */
const PAGE_MAY_SET = new Set(["content-security-policy", "referrer-policy"]);

/** The headers of every answer; `pagePolicy` is the pages' Content-Security-Policy (src/web/common/csp.ts). */
export function securityHeaders(pagePolicy: string): MiddlewareHandler {
	const forPages = pageHeaders(pagePolicy);
	return async (c, next) => {
		await next();
		const headers = c.res.headers;
		if (headers.get("content-type")?.startsWith("text/html")) {
			for (const [name, value] of forPages) {
				if (!PAGE_MAY_SET.has(name) || !headers.has(name)) headers.set(name, value);
			}
		} else {
			for (const [name, value] of DATA_HEADERS) headers.set(name, value);
		}
	};
}
