import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
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

/** Every router shares one validation hook, so every bad input fails the same way. */
export function createRouter() {
	return new OpenAPIHono<AppEnv>({
		strict: true,
		defaultHook: (result) => {
			if (result.success) return;
			const errors = result.error.issues.map((issue) => ({
				path: [result.target, ...issue.path.map(String)].join("."),
				message: issue.message,
			}));
			const first = errors[0];
			throw new ApiError(
				400,
				"VALIDATION_FAILED",
				first ? `${first.path}: ${first.message}` : "The request is not valid.",
				errors,
			);
		},
	});
}
