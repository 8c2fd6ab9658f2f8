import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConsentError, type ConsentErrorCode } from "../consent/errors";

export type ErrorCode =
	| "VALIDATION_FAILED"
	| "MALFORMED_JSON"
	| "UNSUPPORTED_MEDIA_TYPE"
	| "UNAUTHORIZED"
	| "FORBIDDEN"
	| "NOT_FOUND"
	| "METHOD_NOT_ALLOWED"
	| "CONFLICT"
	| "EXTERNAL_IDS_MISMATCH"
	| "PAYLOAD_TOO_LARGE"
	| "INVALID_SIGNATURE"
	| "RATE_LIMITED"
	| "CHALLENGE_FAILED"
	| "CHALLENGE_UNAVAILABLE"
	| "CONFIGURATION_REQUIRED"
	| "INTERNAL";

export interface FieldError {
	path: string;
	message: string;
}

/** The one way handlers report a failure; app.onError renders it as problem+json. */
export class ApiError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly code: ErrorCode,
		readonly detail: string,
		readonly errors?: FieldError[],
	) {
		super(detail);
	}
}

const TITLES: Record<ErrorCode, string> = {
	VALIDATION_FAILED: "Validation failed",
	MALFORMED_JSON: "Malformed JSON",
	UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
	UNAUTHORIZED: "Unauthorized",
	FORBIDDEN: "Forbidden",
	NOT_FOUND: "Not found",
	METHOD_NOT_ALLOWED: "Method not allowed",
	CONFLICT: "Conflict",
	EXTERNAL_IDS_MISMATCH: "External ids mismatch",
	PAYLOAD_TOO_LARGE: "Payload too large",
	INVALID_SIGNATURE: "Invalid signature",
	RATE_LIMITED: "Too many requests",
	CHALLENGE_FAILED: "Challenge failed",
	CHALLENGE_UNAVAILABLE: "Challenge unavailable",
	CONFIGURATION_REQUIRED: "Configuration required",
	INTERNAL: "Internal error",
};

export function problem(c: Context, error: ApiError): Response {
	const body = {
		type: `https://consent-edge.dev/problems/${error.code.toLowerCase().replace(/_/g, "-")}`,
		title: TITLES[error.code],
		status: error.status,
		detail: error.detail,
		code: error.code,
		...(error.errors ? { errors: error.errors } : {}),
	};
	const headers: Record<string, string> = { "content-type": "application/problem+json" };
	if (error.status === 401) headers["www-authenticate"] = 'Bearer realm="consent-edge"';
	return c.body(JSON.stringify(body), error.status, headers);
}

/** The answer for each refusal of the domain. */
const CONSENT_ERRORS: Record<ConsentErrorCode, { status: ContentfulStatusCode; code: ErrorCode }> = {
	invalid_event: { status: 400, code: "VALIDATION_FAILED" },
	invalid_traits: { status: 400, code: "VALIDATION_FAILED" },
	external_ids_mismatch: { status: 409, code: "EXTERNAL_IDS_MISMATCH" },
	identity_conflict: { status: 409, code: "CONFLICT" },
	contact_changed: { status: 409, code: "CONFLICT" },
};

/** Maps anything thrown to an ApiError; only unknown errors (logged by the caller) become 500s. */
export function toApiError(err: unknown): ApiError | null {
	if (err instanceof ApiError) return err;
	if (err instanceof ConsentError) {
		const { status, code } = CONSENT_ERRORS[err.code];
		return new ApiError(status, code, err.detail, err.fields);
	}
	if (err instanceof HTTPException) {
		if (err.status === 413) return new ApiError(413, "PAYLOAD_TOO_LARGE", "The request body is larger than 1 MiB.");
		if (err.status === 415) {
			return new ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.");
		}
		if (err.status === 400 && /json/i.test(err.message)) {
			return new ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON.");
		}
		if (err.status >= 400 && err.status < 500) {
			return new ApiError(err.status as ContentfulStatusCode, "VALIDATION_FAILED", err.message || "Bad request.");
		}
	}
	return null;
}

export const notFound = (what: string) => new ApiError(404, "NOT_FOUND", `${what} not found.`);
export const invalid = (detail: string, errors?: FieldError[]) =>
	new ApiError(400, "VALIDATION_FAILED", detail, errors);
