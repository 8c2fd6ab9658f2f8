/**
 * Cloudflare Turnstile on POST /subscribe. Tests cannot reach Cloudflare, so the app gets a
 * verifier of the test's (createApp({ turnstileVerifier })); the real verifier's request and its
 * reading of siteverify's answers are tested against a fetcher that answers as siteverify does.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { ADDRESS_LIMIT } from "../../src/web/signup/routes";
import {
	SITEVERIFY_URL,
	siteverify,
	TURNSTILE_FIELD,
	type TurnstileCheck,
	type TurnstileVerifier,
} from "../../src/web/signup/turnstile";
import { api, BASE, json, putTopic, unique, uniqueEmail } from "../helpers";

const SECRET = "turnstile-test-secret";
const GOOD_TOKEN = "token-that-passes";

/** A verifier that passes GOOD_TOKEN only, and remembers what it was asked. */
function recordingVerifier(answer?: (check: TurnstileCheck) => Promise<{ success: boolean; errorCodes: string[] }>) {
	const checks: TurnstileCheck[] = [];
	const verifier: TurnstileVerifier = async (check) => {
		checks.push(check);
		return answer
			? answer(check)
			: {
					success: check.token === GOOD_TOKEN,
					errorCodes: check.token === GOOD_TOKEN ? [] : ["invalid-input-response"],
				};
	};
	return { checks, verifier };
}

const uniqueIp = () => `198.51.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;

function post(
	verifier: TurnstileVerifier,
	body: string,
	contentType: string,
	{ secret = SECRET, ip = uniqueIp(), headers = {} as Record<string, string> } = {},
) {
	const request = new Request(`${BASE}/subscribe`, {
		method: "POST",
		headers: { "content-type": contentType, "cf-connecting-ip": ip, ...headers },
		body,
	});
	// A fresh env object: the service reads its configuration once per env.
	return createApp({ turnstileVerifier: verifier }).fetch(request, { ...env, TURNSTILE_SECRET_KEY: secret } as never);
}

const postJson = (verifier: TurnstileVerifier, body: Record<string, unknown>, options = {}) =>
	post(verifier, JSON.stringify(body), "application/json", options);

const postForm = (verifier: TurnstileVerifier, fields: Array<[string, string]>, options = {}) =>
	post(verifier, new URLSearchParams(fields).toString(), "application/x-www-form-urlencoded", options);

async function newTopic() {
	const topic = unique("turnstile");
	await putTopic(topic, { channel: "email", doubleOptIn: false });
	return topic;
}

/** The lead's status, or 404 when the sign-up wrote nothing. */
const leadOf = (email: string) => api("GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=default`);

describe("POST /subscribe with Turnstile", () => {
	it("without TURNSTILE_SECRET_KEY asks nobody and signs up as before", async () => {
		const { checks, verifier } = recordingVerifier();
		const topic = await newTopic();
		const email = uniqueEmail();
		const response = await postJson(verifier, { email, topics: [topic] }, { secret: "" });
		expect(response.status).toBe(202);
		expect(checks).toEqual([]);
		expect((await json(await leadOf(email))).consent.topics[topic].status).toBe("subscribed");
	});

	it("with the secret, signs up only with a token that passes, and hands siteverify the secret, token and IP", async () => {
		const { checks, verifier } = recordingVerifier();
		const topic = await newTopic();
		const email = uniqueEmail();
		const ip = uniqueIp();
		const response = await postJson(verifier, { email, topics: [topic], [TURNSTILE_FIELD]: GOOD_TOKEN }, { ip });
		expect(response.status).toBe(202);
		expect(checks).toEqual([{ secret: SECRET, token: GOOD_TOKEN, remoteIp: ip }]);
		expect((await json(await leadOf(email))).consent.topics[topic].status).toBe("subscribed");
	});

	it("refuses a missing token (without asking) and a refused one with 403 CHALLENGE_FAILED, writing nothing", async () => {
		const { checks, verifier } = recordingVerifier();
		const topic = await newTopic();
		const email = uniqueEmail();

		const missing = await postJson(verifier, { email, topics: [topic] });
		expect(missing.status).toBe(403);
		expect(missing.headers.get("content-type")).toBe("application/problem+json");
		const problem = await json(missing);
		expect(problem.code).toBe("CHALLENGE_FAILED");
		expect(problem.detail).toContain(TURNSTILE_FIELD);
		expect(checks).toEqual([]);

		const refused = await postJson(verifier, { email, topics: [topic], [TURNSTILE_FIELD]: "forged" });
		expect(refused.status).toBe(403);
		expect((await json(refused)).code).toBe("CHALLENGE_FAILED");
		expect(checks.map((check) => check.token)).toEqual(["forged"]);
		expect((await leadOf(email)).status).toBe(404);
	});

	it("answers a form with a page in the unit's language: 403 for a refused token", async () => {
		const { verifier } = recordingVerifier();
		const topic = await newTopic();
		const email = uniqueEmail();
		const response = await postForm(
			verifier,
			[
				["email", email],
				["topics", topic],
				[TURNSTILE_FIELD, "forged"],
			],
			{ headers: { "accept-language": "de" } },
		);
		expect(response.status).toBe(403);
		expect(response.headers.get("content-type")).toContain("text/html");
		const page = await response.text();
		expect(page).toContain("Bitte bestätigen Sie, dass Sie ein Mensch sind");
		expect((await leadOf(email)).status).toBe(404);
	});

	it("fails closed when siteverify cannot be asked: 503, nothing written, for JSON and forms", async () => {
		const { verifier } = recordingVerifier(async () => {
			throw new Error("network down");
		});
		const topic = await newTopic();
		const email = uniqueEmail();
		const viaJson = await postJson(verifier, { email, topics: [topic], [TURNSTILE_FIELD]: GOOD_TOKEN });
		expect(viaJson.status).toBe(503);
		expect((await json(viaJson)).code).toBe("CHALLENGE_UNAVAILABLE");
		const viaForm = await postForm(verifier, [
			["email", email],
			["topics", topic],
			[TURNSTILE_FIELD, GOOD_TOKEN],
		]);
		expect(viaForm.status).toBe(503);
		expect(await viaForm.text()).toContain("not available right now");
		expect((await leadOf(email)).status).toBe(404);
	});

	it("checks the token before the per-address limit: failed challenges do not use up a person's attempts", async () => {
		const { verifier } = recordingVerifier();
		const topic = await newTopic();
		const email = uniqueEmail();
		for (let attempt = 0; attempt < ADDRESS_LIMIT.limit + 2; attempt++) {
			const refused = await postJson(verifier, { email, topics: [topic], [TURNSTILE_FIELD]: `bot-${attempt}` });
			expect(refused.status).toBe(403);
		}
		const person = await postJson(verifier, { email, topics: [topic], [TURNSTILE_FIELD]: GOOD_TOKEN });
		expect(person.status).toBe(202);
		expect((await json(await leadOf(email))).consent.topics[topic].status).toBe("subscribed");
	});

	it("refuses a token longer than Turnstile's 2048 characters as a bad field, before asking", async () => {
		const { checks, verifier } = recordingVerifier();
		const topic = await newTopic();
		const response = await postJson(verifier, {
			email: uniqueEmail(),
			topics: [topic],
			[TURNSTILE_FIELD]: "x".repeat(2049),
		});
		expect(response.status).toBe(400);
		expect((await json(response)).code).toBe("VALIDATION_FAILED");
		expect(checks).toEqual([]);
	});
});

describe("siteverify()", () => {
	/** Answers as Cloudflare's siteverify does, and keeps the requests. */
	function siteverifyFetcher(answer: (form: FormData) => Response) {
		const requests: Array<{ url: string; form: FormData }> = [];
		const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
			const request = new Request(input, init);
			const form = await request.formData();
			requests.push({ url: request.url, form });
			return answer(form);
		}) as typeof fetch;
		return { requests, fetcher };
	}

	it("posts secret, response and remoteip to siteverify and reads its verdict", async () => {
		const { requests, fetcher } = siteverifyFetcher((form) =>
			Response.json(
				form.get("response") === "good"
					? { success: true, "error-codes": [], hostname: "shop.example" }
					: { success: false, "error-codes": ["invalid-input-response"] },
			),
		);
		const verify = siteverify(fetcher);
		expect(await verify({ secret: "s", token: "good", remoteIp: "203.0.113.9" })).toEqual({
			success: true,
			errorCodes: [],
		});
		expect(await verify({ secret: "s", token: "bad", remoteIp: null })).toEqual({
			success: false,
			errorCodes: ["invalid-input-response"],
		});
		expect(requests[0]?.url).toBe(SITEVERIFY_URL);
		expect(Object.fromEntries(requests[0]?.form ?? [])).toEqual({
			secret: "s",
			response: "good",
			remoteip: "203.0.113.9",
		});
		expect(requests[1]?.form.has("remoteip")).toBe(false);
	});

	it("counts only success: true as a pass, and throws on an answer that is not 2xx", async () => {
		const odd = siteverify(siteverifyFetcher(() => Response.json({ success: "true" })).fetcher);
		expect((await odd({ secret: "s", token: "t", remoteIp: null })).success).toBe(false);
		const down = siteverify(siteverifyFetcher(() => new Response("bad gateway", { status: 502 })).fetcher);
		await expect(down({ secret: "s", token: "t", remoteIp: null })).rejects.toThrow(/502/);
	});
});
