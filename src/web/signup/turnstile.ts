/**
 * Cloudflare Turnstile on POST /subscribe, optional: with TURNSTILE_SECRET_KEY set, a sign-up must
 * carry the token the Turnstile widget on the sender's form puts in `cf-turnstile-response`, and
 * the token must pass Cloudflare's siteverify. It comes on top of the honeypot and the rate limits.
 *
 * The verifier is a parameter (createApp({ turnstileVerifier })) so that tests run offline with a
 * verifier of their own; the service uses `siteverify()`, which asks Cloudflare.
 */

/** The form field (and JSON key) the widget fills in. */
export const TURNSTILE_FIELD = "cf-turnstile-response";
/** Cloudflare documents tokens of up to 2048 characters. */
export const MAX_TURNSTILE_TOKEN = 2048;
export const SITEVERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify";
/** A sign-up waits at most this long for siteverify; after it, the person is asked to try again. */
const SITEVERIFY_TIMEOUT_MS = 5_000;

export interface TurnstileCheck {
	secret: string;
	token: string;
	/** The visitor's IP (CF-Connecting-IP), which siteverify compares with the one that solved it. */
	remoteIp: string | null;
}

/** siteverify's verdict; `errorCodes` are Cloudflare's (`invalid-input-response`, `timeout-or-duplicate`, …). */
export interface TurnstileVerdict {
	success: boolean;
	errorCodes: string[];
}

/** Answers the verdict, or throws when the verifier could not be asked (network, 5xx, bad answer). */
export type TurnstileVerifier = (check: TurnstileCheck) => Promise<TurnstileVerdict>;

/** The verifier that asks Cloudflare's siteverify (through `fetcher`, the global fetch by default). */
export const siteverify =
	(fetcher: typeof fetch = fetch): TurnstileVerifier =>
	async ({ secret, token, remoteIp }) => {
		const form = new FormData();
		form.set("secret", secret);
		form.set("response", token);
		if (remoteIp) form.set("remoteip", remoteIp);
		const response = await fetcher(SITEVERIFY_URL, {
			method: "POST",
			body: form,
			signal: AbortSignal.timeout(SITEVERIFY_TIMEOUT_MS),
		});
		if (!response.ok) throw new Error(`Turnstile siteverify answered ${response.status}`);
		const body = (await response.json()) as { success?: unknown; "error-codes"?: unknown };
		const codes = body["error-codes"];
		return {
			success: body.success === true,
			errorCodes: Array.isArray(codes) ? codes.filter((code): code is string => typeof code === "string") : [],
		};
	};

export type ChallengeResult = "passed" | "failed" | "unavailable";

/**
 * The sign-up's challenge: "passed" when Turnstile is off (no secret) or the token passes;
 * "failed" for a missing or refused token; "unavailable" when siteverify cannot be asked, so the
 * service fails closed and the person is told to try again later.
 */
export async function checkChallenge(
	verifier: TurnstileVerifier,
	secret: string | null,
	token: string | undefined,
	remoteIp: string | null,
): Promise<ChallengeResult> {
	if (!secret) return "passed";
	if (!token) return "failed";
	try {
		const verdict = await verifier({ secret, token, remoteIp });
		if (!verdict.success)
			console.warn("sign-up: Turnstile refused the token:", verdict.errorCodes.join(",") || "no code");
		return verdict.success ? "passed" : "failed";
	} catch (error) {
		console.error("sign-up: Turnstile siteverify failed", (error as Error)?.name ?? "error");
		return "unavailable";
	}
}
