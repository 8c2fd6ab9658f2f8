/**
 * Read-your-writes across requests, with D1's Sessions API: every write under /v1 answers with a
 * D1 bookmark in `x-consent-bookmark` (and so does every write of the CrossEngage-compatible API); a read that sends it back (consent checks, statistics) is
 * served by a replica that has caught up with that write. Without it a read may lag a little.
 */
import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { primaryBookmark } from "../db/client";
import { type AppEnv, validationFailed } from "./router";

export const BOOKMARK_HEADER = "x-consent-bookmark";

const DESCRIPTION =
	"A D1 session bookmark (opaque). Every successful write of the API answers with one; send the newest you got " +
	"back on a later consent check or statistics call, and that read sees your write. Without it a read may be " +
	"served by a read replica a little behind the newest writes.";
const EXAMPLE = "00000085-0000024c-00004c6d-8e61117bf38d7adb71b934ebbf891683";

/**
 * What a bookmark may look like. D1 treats it as opaque (today 59 characters of hex digits and
 * dashes); obviously bad values are refused here with a 400 rather than failing in D1 (a control
 * character cannot even travel in D1's own request header): at most 256 visible ASCII characters.
 */
const BOOKMARK_PATTERN = /^[\x21-\x7e]*$/;
const BookmarkSchema = z
	.string()
	.max(256)
	.regex(BOOKMARK_PATTERN, "visible ASCII characters only (as it was answered)")
	// An empty header is no header (as D1's withSession reads it).
	.transform((value) => value || undefined);

/** The request header of the reads that take a bookmark, for their routes' `parameters` (documented). */
export const BOOKMARK_PARAMETER = {
	name: BOOKMARK_HEADER,
	in: "header" as const,
	required: false,
	description: DESCRIPTION,
	schema: { type: "string" as const, maxLength: 256, pattern: BOOKMARK_PATTERN.source },
	example: EXAMPLE,
};

/**
 * The bookmark a read was sent (null: none), or the 400 a route validator would answer. Only this
 * header is read: a route's header validator copies every request header into an object first, a
 * visible share of a single consent check's own work in a CPU profile.
 */
export function sentBookmark(c: Context<AppEnv>): string | null {
	const value = c.req.header(BOOKMARK_HEADER);
	if (value === undefined) return null;
	const result = BookmarkSchema.safeParse(value);
	if (!result.success)
		throw validationFailed(
			"header",
			result.error.issues.map((issue) => ({ ...issue, path: [BOOKMARK_HEADER, ...issue.path] })),
		);
	return result.data ?? null;
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** The API: the native routes and the CrossEngage-compatible ones. */
const API_PREFIXES = ["/v1/", "/crossengage/"];
/** POSTs of the API that write nothing (they compute answers): no bookmark. */
const READ_ONLY_POSTS = new Set(["/v1/consent/check", "/v1/links", "/v1/links/batch"]);

/** Whether a successful answer of this operation carries a bookmark. */
export function carriesBookmark(method: string, path: string): boolean {
	return (
		WRITE_METHODS.has(method.toUpperCase()) &&
		API_PREFIXES.some((prefix) => path.startsWith(prefix)) &&
		!READ_ONLY_POSTS.has(path)
	);
}

/**
 * Records a bookmark a write of this request produced (the contact's actor gives one); the newest
 * wins. Bookmarks of one database sort in commit order (D1's own client compares them so).
 */
export function noteBookmark(c: Context<AppEnv>, bookmark: string | null | undefined): void {
	if (!bookmark) return;
	const known = c.get("bookmark");
	if (!known || known < bookmark) c.set("bookmark", bookmark);
}

/**
 * Puts the bookmark on every successful write answer of the API that lacks one.
 *
 * One rule for every route, instead of each route threading bookmarks out of everything it calls:
 * writes through the contact's actor hand theirs up (`noteBookmark`) and cost nothing more; any
 * other write (topics, blocklist, keys, imports, erasures, profile upserts…) went through the
 * plain binding, which gives none, so one trivial read on the primary answers a bookmark at or
 * after every committed write, this request's included. One D1 query per such write, no route to
 * forget.
 */
export function bookmarks(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		await next();
		if (!carriesBookmark(c.req.method, c.req.path)) return;
		if (c.res.status < 200 || c.res.status >= 300 || c.res.headers.has(BOOKMARK_HEADER)) return;
		let bookmark = c.get("bookmark") ?? null;
		if (!bookmark) {
			try {
				bookmark = await primaryBookmark(c.env);
			} catch (error) {
				// The write is done; its answer goes out without a bookmark rather than as a failure.
				console.error("no bookmark for the answer of a write", c.req.method, c.req.path, error);
			}
		}
		if (bookmark) c.header(BOOKMARK_HEADER, bookmark);
	};
}

interface RouteDefinition {
	type: string;
	route?: { method: string; path: string; responses: Record<string, Record<string, unknown>> };
}

/**
 * Documents the response header on every operation `bookmarks()` puts it on (one reusable header
 * component), from the same rule, so the document cannot drift from what the middleware does.
 * Call once all routes are mounted.
 */
export function documentBookmarks(registry: {
	definitions: RouteDefinition[];
	registerComponent: (type: "headers", name: string, component: Record<string, unknown>) => unknown;
}): void {
	registry.registerComponent("headers", "ConsentBookmark", {
		description: DESCRIPTION,
		schema: { type: "string", maxLength: 256, example: EXAMPLE },
	});
	const header = { $ref: "#/components/headers/ConsentBookmark" };
	for (const definition of registry.definitions) {
		const route = definition.route;
		if (definition.type !== "route" || !route || !carriesBookmark(route.method, route.path)) continue;
		// New objects: the route's own (shared) response objects stay as they are.
		route.responses = Object.fromEntries(
			Object.entries(route.responses).map(([status, response]) =>
				/^2\d\d$/.test(status)
					? [status, { ...response, headers: { ...(response.headers as object), [BOOKMARK_HEADER]: header } }]
					: [status, response],
			),
		);
	}
}
