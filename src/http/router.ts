import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Bindings } from "../env";
import { ApiError } from "./errors";
import type { Principal } from "./principal";

export interface AppEnv {
	Bindings: Bindings;
	Variables: {
		principal: Principal;
		/** The newest D1 bookmark this request's writes produced (src/http/bookmark.ts). */
		bookmark: string | undefined;
	};
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

// An unknown field is refused with the fields the body accepts, so a caller who wrote `userId` or
// `externalID` reads what to send instead. Global, so every strict object says it the same way.
z.config({
	customError: (issue) => {
		if (issue.code !== "unrecognized_keys") return undefined;
		const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def
			?.shape;
		const unknown = `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
		return shape ? `${unknown}; accepted: ${Object.keys(shape).join(", ")}` : unknown;
	},
});

/** The 400 of invalid input: every issue with its path under `target` (query, json, header…). */
export function validationFailed(
	target: string,
	issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): ApiError {
	const errors = issues.map((issue) => ({
		path: [target, ...issue.path.map(String)].join("."),
		message: issue.message,
	}));
	const first = errors[0];
	return new ApiError(
		400,
		"VALIDATION_FAILED",
		first ? `${first.path}: ${first.message}` : "The request is not valid.",
		errors,
	);
}

/** Every router shares one validation hook, so every bad input fails the same way. */
export function createRouter() {
	return new OpenAPIHono<AppEnv>({
		strict: true,
		defaultHook: (result) => {
			if (!result.success) throw validationFailed(result.target, result.error.issues);
		},
	});
}
