/**
 * Whether a POST comes from one of our own pages, as the browser tells it. Used where a signed
 * link or a session alone is not enough: the admin dashboard's posts and the erasure a person
 * confirms on the preference center.
 */
import type { Context } from "hono";
import { getConfig } from "../../env";
import type { AppEnv } from "../../http/router";

/** Our own origins: the one the request came to, and PUBLIC_BASE_URL's. */
function ownOrigins(c: Context<AppEnv>): string[] {
	const own = [new URL(c.req.url).origin];
	const publicBase = getConfig(c.env).publicBaseUrl;
	if (publicBase) own.push(new URL(publicBase).origin);
	return own;
}

/**
 * Every header the browser sends about where the post comes from must say it is our own page
 * (Sec-Fetch-Site same-origin, Origin one of ours), and at least one must be there. A sandboxed
 * page's `Origin: null` is refused, so the page with the form must not send `Referrer-Policy:
 * no-referrer` (with it, browsers send `Origin: null` on the page's own posts). hono/csrf is not
 * used because it lets a request through when either header passes.
 */
export function fromOwnPage(c: Context<AppEnv>): boolean {
	const site = c.req.header("sec-fetch-site");
	const origin = c.req.header("origin");
	if (site === undefined && origin === undefined) return false;
	if (site !== undefined && site !== "same-origin") return false;
	return origin === undefined || ownOrigins(c).includes(origin);
}
