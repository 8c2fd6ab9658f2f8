import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LinkSigner } from "../../src/links/token";
import { ADDRESS_LIMIT, IP_LIMIT, ipBucket } from "../../src/web/signup/routes";
import { api, BASE, json, postEvents, putTopic, unique, uniqueEmail } from "../helpers";

const SHOP = "https://shop.example";

/** An IPv6 address in a /64 no other test uses (the per-IP limit buckets IPv6 by /64). */
const uniqueIp = () => {
	const hex = () => Math.floor(Math.random() * 0x10000).toString(16);
	return `2001:db8:${hex()}:${hex()}::${hex()}`;
};

type SignupOptions = { ip?: string; headers?: Record<string, string> };

function postSignup(body: BodyInit | null, options: SignupOptions & { contentType?: string } = {}) {
	const headers: Record<string, string> = { "cf-connecting-ip": options.ip ?? uniqueIp(), ...options.headers };
	if (options.contentType) headers["content-type"] = options.contentType;
	return exports.default.fetch(new Request(`${BASE}/subscribe`, { method: "POST", headers, body }));
}

const signupJson = (body: unknown, options: SignupOptions = {}) =>
	postSignup(JSON.stringify(body), { ...options, contentType: "application/json" });

/** A urlencoded form post, as a browser sends a plain HTML form; `topics` repeats. */
function signupForm(fields: Array<[string, string]>, options: SignupOptions = {}) {
	return postSignup(new URLSearchParams(fields).toString(), {
		...options,
		contentType: "application/x-www-form-urlencoded",
	});
}

async function historyOf(email: string, businessUnit = "default") {
	const response = await api(
		"GET",
		`/v1/leads/history?email=${encodeURIComponent(email)}&businessUnit=${businessUnit}&limit=1000`,
	);
	if (response.status === 404) return null;
	expect(response.status).toBe(200);
	return (await json(response)).events as Array<Record<string, any>>;
}

async function leadStatus(email: string, businessUnit = "default") {
	return api("GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=${businessUnit}`);
}

async function topicsPair() {
	const doi = unique("doi");
	const plain = unique("news");
	await putTopic(doi, { channel: "email", doubleOptIn: true });
	await putTopic(plain, { channel: "email", doubleOptIn: false });
	return { doi, plain };
}

/** Status, body and every header but Date: what a caller can compare between two answers. */
async function fingerprint(response: Response) {
	const headers = [...response.headers].filter(([name]) => name !== "date").sort();
	return { status: response.status, headers, body: await response.text() };
}

describe("POST /subscribe", () => {
	it("JSON: double-opt-in topics go pending with a signed confirmUrl in the ledger, others subscribed", async () => {
		const { doi, plain } = await topicsPair();
		const email = uniqueEmail();
		const ip = uniqueIp();
		const response = await signupJson(
			{ email: `  ${email.toUpperCase()} `, topics: [doi, plain, doi] },
			{ ip, headers: { "user-agent": "signup-test/1.0" } },
		);
		expect(response.status).toBe(202);
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect(await json(response)).toEqual({ status: "accepted" });

		const contact = await json(await leadStatus(email));
		expect(contact.consent.topics[doi].status).toBe("pending");
		expect(contact.consent.topics[plain].status).toBe("subscribed");

		const rows = (await historyOf(email)) ?? [];
		expect(rows).toHaveLength(2); // the repeated topic is one event
		const doiRow = rows.find((row) => row.topic === doi);
		expect(doiRow).toMatchObject({ event: "Subscribe", channel: "email", source: "signup_form", ip });
		expect(doiRow?.userAgent).toBe("signup-test/1.0");
		const confirmUrl = doiRow?.properties.confirmUrl as string;
		expect(confirmUrl.startsWith(`${BASE}/c/`)).toBe(true);
		const signer = await LinkSigner.fromJson(env.LINK_SIGNING_KEYS);
		const verified = await signer.verify(confirmUrl.slice(`${BASE}/c/`.length));
		expect(verified.ok && verified.claims).toMatchObject({
			purpose: "confirm",
			subject: { contactId: contact.id },
			topic: doi,
		});
		const plainRow = rows.find((row) => row.topic === plain);
		expect(plainRow?.properties.confirmUrl).toBeUndefined();
		expect(plainRow?.source).toBe("signup_form");
	});

	it("form (urlencoded, repeated topics): pending + subscribed, and a 'check your inbox' page", async () => {
		const { doi, plain } = await topicsPair();
		const email = uniqueEmail();
		const response = await signupForm([
			["email", email],
			["businessUnit", "shop-en"],
			["topics", doi],
			["topics", plain],
			["website", ""],
			["submit", "Sign up"], // extra form fields are ignored
		]);
		expect(response.status).toBe(202);
		expect(response.headers.get("content-type")).toContain("text/html");
		expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
		const html = await response.text();
		expect(html).toContain("Please check your inbox");
		expect(html).toContain('lang="en"');
		expect(html).not.toContain(email);

		const rows = (await historyOf(email, "shop-en")) ?? [];
		expect(rows.map((row) => [row.topic, row.source]).sort()).toEqual(
			[
				[doi, "signup_form"],
				[plain, "signup_form"],
			].sort(),
		);
		expect(String(rows.find((row) => row.topic === doi)?.properties.confirmUrl)).toMatch(/^https:\/\/.+\/c\//);
		const contact = await json(await leadStatus(email, "shop-en"));
		expect(contact.consent.topics[doi].status).toBe("pending");
		expect(contact.consent.topics[plain].status).toBe("subscribed");
	});

	it("form (multipart/form-data) works like urlencoded; PHP-style topics[] is accepted", async () => {
		const { doi } = await topicsPair();
		const email = uniqueEmail();
		const form = new FormData();
		form.append("email", email);
		form.append("topics[]", doi);
		const response = await postSignup(form);
		expect(response.status).toBe(202);
		expect(await response.text()).toContain("Please check your inbox");
		const rows = (await historyOf(email)) ?? [];
		expect(rows).toHaveLength(1);
		expect(rows[0]?.properties.confirmUrl).toBeTruthy();
	});

	it("answers known, unknown, pending, subscribed and blocked addresses exactly the same way", async () => {
		const { doi, plain } = await topicsPair();
		const unknown = uniqueEmail();
		const subscribed = uniqueEmail();
		await postEvents({ email: subscribed }, [
			{ event: "Subscribe", topic: plain },
			{ event: "Subscribe", topic: doi },
			{ event: "Confirm Subscription", topic: doi },
		]);
		const pending = uniqueEmail();
		await postEvents({ email: pending }, [{ event: "Subscribe", topic: doi }]);
		const blocked = uniqueEmail();
		await postEvents({ email: blocked }, [{ event: "Block" }]);
		const user = uniqueEmail();
		expect((await api("PUT", `/v1/users/${unique("ext")}`, { body: { email: user } })).status).toBe(201);

		for (const send of [
			(email: string) => signupJson({ email, topics: [doi, plain] }, { headers: { origin: SHOP } }),
			(email: string) =>
				signupForm([
					["email", email],
					["topics", doi],
					["topics", plain],
				]),
		]) {
			const answers = await Promise.all(
				[unknown, subscribed, pending, blocked, user].map(async (email) => fingerprint(await send(email))),
			);
			expect(answers[0]?.status).toBe(202);
			for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
		}
		// …and every one of them was recorded.
		for (const email of [unknown, subscribed, pending, blocked]) {
			const rows = (await historyOf(email)) ?? [];
			expect(rows.filter((row) => row.source === "signup_form").length).toBe(4);
		}
	});

	it("a filled honeypot gets the same 202 and writes nothing", async () => {
		const { doi } = await topicsPair();
		const honest = uniqueEmail();
		const reference = await fingerprint(await signupJson({ email: honest, topics: [doi] }));
		const email = uniqueEmail();
		const trapped = await fingerprint(await signupJson({ email, topics: [doi], website: "http://spam.example" }));
		expect(trapped).toEqual(reference);
		const formTrapped = await signupForm([
			["email", email],
			["topics", doi],
			["website", "buy now"],
		]);
		expect(formTrapped.status).toBe(202);
		expect(await formTrapped.text()).toContain("Please check your inbox");

		expect((await leadStatus(email)).status).toBe(404);
		expect(await historyOf(email)).toBeNull();
		expect(await historyOf(honest)).toHaveLength(1);
	});

	it(`limits each IP to ${IP_LIMIT.limit} attempts (429 with Retry-After, nothing written); IPv6 per /64`, async () => {
		const { doi } = await topicsPair();
		const prefix = uniqueIp().split("::")[0];
		for (let i = 0; i < IP_LIMIT.limit; i++) {
			// Different hosts of one /64 share the bucket.
			const response = await signupJson({ email: uniqueEmail(), topics: [doi] }, { ip: `${prefix}::${i + 1}` });
			expect(response.status).toBe(202);
		}
		const email = uniqueEmail();
		const limited = await signupJson({ email, topics: [doi] }, { ip: `${prefix}::abcd` });
		expect(limited.status).toBe(429);
		expect(limited.headers.get("content-type")).toBe("application/problem+json");
		expect((await json(limited)).code).toBe("RATE_LIMITED");
		const retryAfter = Number(limited.headers.get("retry-after"));
		expect(retryAfter).toBeGreaterThan(0);
		expect(retryAfter).toBeLessThanOrEqual(IP_LIMIT.windowSeconds);

		const form = await signupForm(
			[
				["email", email],
				["topics", doi],
			],
			{ ip: `${prefix}::1`, headers: { "accept-language": "de" } },
		);
		expect(form.status).toBe(429);
		expect(form.headers.get("retry-after")).toBeTruthy();
		expect(await form.text()).toContain("Zu viele Versuche");
		expect(await historyOf(email)).toBeNull();

		// Another network is not affected.
		expect((await signupJson({ email, topics: [doi] })).status).toBe(202);
	});

	it(`limits each address to ${ADDRESS_LIMIT.limit} attempts an hour, known or not, +tags included`, async () => {
		const { doi } = await topicsPair();
		const known = uniqueEmail();
		await postEvents({ email: known }, [{ event: "Subscribe", topic: doi }]);
		const unknown = uniqueEmail();
		for (const email of [known, unknown]) {
			const before = (await historyOf(email))?.length ?? 0;
			for (let i = 0; i < ADDRESS_LIMIT.limit; i++) {
				expect((await signupJson({ email, topics: [doi] })).status).toBe(202);
			}
			// A sub-address of the same mailbox, in capitals, from yet another IP: still the same person.
			const [local, domain] = email.split("@");
			const limited = await signupJson({ email: `${local}+again@${domain}`.toUpperCase(), topics: [doi] });
			expect(limited.status).toBe(429);
			expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(ADDRESS_LIMIT.windowSeconds - 60);
			const plain = await signupJson({ email, topics: [doi] });
			expect(plain.status).toBe(429);
			expect(await json(plain)).toMatchObject({ code: "RATE_LIMITED", status: 429 });
			expect((await historyOf(email))?.length ?? 0).toBe(before + ADDRESS_LIMIT.limit);
			expect(await historyOf(`${local}+again@${domain}`)).toBeNull();
		}
	});

	it("CORS: preflight answered for allowed origins only; foreign origins refused and nothing written", async () => {
		const preflight = await exports.default.fetch(
			new Request(`${BASE}/subscribe`, {
				method: "OPTIONS",
				headers: {
					origin: SHOP,
					"access-control-request-method": "POST",
					"access-control-request-headers": "content-type",
				},
			}),
		);
		expect(preflight.status).toBe(204);
		expect(preflight.headers.get("access-control-allow-origin")).toBe(SHOP);
		expect(preflight.headers.get("vary")).toContain("Origin");
		expect(preflight.headers.get("access-control-allow-methods")).toBe("POST");
		expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type");
		expect(preflight.headers.get("access-control-max-age")).toBe("86400");
		expect(preflight.headers.get("allow")).toBe("POST, OPTIONS");

		const foreignPreflight = await exports.default.fetch(
			new Request(`${BASE}/subscribe`, {
				method: "OPTIONS",
				headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
			}),
		);
		expect(foreignPreflight.status).toBe(403);
		expect(foreignPreflight.headers.get("access-control-allow-origin")).toBeNull();
		expect(foreignPreflight.headers.get("vary")).toContain("Origin");

		const { doi } = await topicsPair();
		const allowed = await signupJson({ email: uniqueEmail(), topics: [doi] }, { headers: { origin: SHOP } });
		expect(allowed.status).toBe(202);
		expect(allowed.headers.get("access-control-allow-origin")).toBe(SHOP);
		expect(allowed.headers.get("access-control-expose-headers")).toBe("Retry-After");
		expect(allowed.headers.get("vary")).toContain("Origin");

		const own = await signupForm(
			[
				["email", uniqueEmail()],
				["topics", doi],
			],
			{ headers: { origin: BASE } },
		);
		expect(own.status).toBe(202);
		expect(own.headers.get("access-control-allow-origin")).toBeNull();

		for (const origin of ["https://evil.example", "https://shop.example.evil.example", "null"]) {
			const email = uniqueEmail();
			const refused = await signupJson({ email, topics: [doi] }, { headers: { origin } });
			expect(refused.status).toBe(403);
			expect(refused.headers.get("access-control-allow-origin")).toBeNull();
			expect(refused.headers.get("vary")).toContain("Origin");
			expect((await json(refused)).code).toBe("FORBIDDEN");
			const refusedForm = await signupForm(
				[
					["email", email],
					["topics", doi],
				],
				{ headers: { origin } },
			);
			expect(refusedForm.status).toBe(403);
			expect(refusedForm.headers.get("content-type")).toContain("text/html");
			expect(await historyOf(email)).toBeNull();
		}
	});

	it("rejects invalid input with 400 (problem+json for JSON, a page for forms) and writes nothing", async () => {
		const { doi } = await topicsPair();
		const smsTopic = unique("sms");
		await putTopic(smsTopic, { channel: "sms" });
		const otherUnit = unique("at-only");
		await putTopic(otherUnit, { channel: "email", businessUnit: "at" });
		const email = uniqueEmail();
		const cases: Array<[unknown, string]> = [
			[{ email: "not-an-email", topics: [doi] }, "email"],
			[{ email, topics: [] }, "topics"],
			[{ email, topics: ["no-such-topic"] }, "topics.0"],
			[{ email, topics: [smsTopic] }, "topics.0"],
			[{ email, businessUnit: "de", topics: [otherUnit] }, "topics.0"],
			[{ email, businessUnit: "not a unit!", topics: [doi] }, "businessUnit"],
			[{ email, topics: [doi], extra: 1 }, ""],
			[{ email, topics: doi }, "topics"],
			[[email], ""],
		];
		for (const [body, path] of cases) {
			const response = await signupJson(body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
			const problem = await json(response);
			expect(problem.code).toBe("VALIDATION_FAILED");
			expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path);
		}
		const malformed = await postSignup("{nope", { contentType: "application/json" });
		expect(malformed.status).toBe(400);
		expect((await json(malformed)).code).toBe("MALFORMED_JSON");
		const textPlain = await postSignup(`email=${email}`, { contentType: "text/plain" });
		expect(textPlain.status).toBe(415);
		expect((await json(textPlain)).code).toBe("UNSUPPORTED_MEDIA_TYPE");

		const badEmail = await signupForm([
			["email", "ann@"],
			["topics", doi],
		]);
		expect(badEmail.status).toBe(400);
		expect(badEmail.headers.get("content-type")).toContain("text/html");
		expect(await badEmail.text()).toContain("Please check the email address");
		const noTopic = await signupForm([["email", email]]);
		expect(noTopic.status).toBe(400);
		expect(await noTopic.text()).toContain("Please choose at least one subscription");
		const unknownTopic = await signupForm([
			["email", email],
			["topics", "no-such-topic"],
		]);
		expect(unknownTopic.status).toBe(400);
		expect(await unknownTopic.text()).toContain("not set up correctly");

		expect((await leadStatus(email)).status).toBe(404);
		expect((await leadStatus(email, "de")).status).toBe(404);
	});

	it("speaks German by Accept-Language and by the business unit's locale", async () => {
		const { doi } = await topicsPair();
		const byHeader = await signupForm(
			[
				["email", uniqueEmail()],
				["topics", doi],
			],
			{ headers: { "accept-language": "de-DE,de;q=0.9,en;q=0.5" } },
		);
		expect(byHeader.status).toBe(202);
		const html = await byHeader.text();
		expect(html).toContain('lang="de"');
		expect(html).toContain("Bitte sehen Sie in Ihr Postfach");
		expect(html).toContain("7 Tage");

		const byUnit = await signupForm(
			[
				["email", uniqueEmail()],
				["businessUnit", "at"],
				["topics", doi],
			],
			{ headers: { "accept-language": "en-US" } },
		);
		expect(await byUnit.text()).toContain("Bitte sehen Sie in Ihr Postfach");

		const invalid = await signupForm(
			[
				["email", "x"],
				["topics", doi],
			],
			{ headers: { "accept-language": "de" } },
		);
		expect(invalid.status).toBe(400);
		expect(await invalid.text()).toContain("Bitte prüfen Sie die E-Mail-Adresse");
	});

	it("links back to the form's page only when it is on an allowed origin", async () => {
		const { doi } = await topicsPair();
		const fields: Array<[string, string]> = [
			["email", uniqueEmail()],
			["topics", doi],
		];
		const back = await signupForm(fields, { headers: { origin: SHOP, referer: `${SHOP}/newsletter?x=1` } });
		expect(await back.text()).toContain(`href="${SHOP}/newsletter?x=1"`);
		const none = await signupForm(fields, { headers: { referer: "https://elsewhere.example/page" } });
		expect(await none.text()).not.toContain("elsewhere.example");
	});

	it("changes nothing on GET (405) and answers OPTIONS without Origin", async () => {
		const email = uniqueEmail();
		const get = await api("GET", `/subscribe?email=${encodeURIComponent(email)}&topics=x`, { key: null });
		expect(get.status).toBe(405);
		expect(get.headers.get("allow")).toBe("POST, OPTIONS");
		expect((await json(get)).code).toBe("METHOD_NOT_ALLOWED");
		expect((await api("OPTIONS", "/subscribe", { key: null })).status).toBe(204);
		expect((await leadStatus(email)).status).toBe(404);
	});
});

describe("ipBucket", () => {
	it("keeps IPv4, maps IPv4-mapped IPv6, and reduces IPv6 to its /64", () => {
		expect(ipBucket("203.0.113.7")).toBe("203.0.113.7");
		expect(ipBucket("::ffff:203.0.113.7")).toBe("203.0.113.7");
		expect(ipBucket("2001:0db8:0001:0002:0003:0004:0005:0006")).toBe("2001:db8:1:2::/64");
		expect(ipBucket("2001:db8:1:2::9")).toBe("2001:db8:1:2::/64");
		expect(ipBucket("2001:db8::1")).toBe("2001:db8:0:0::/64");
		expect(ipBucket("::1")).toBe("0:0:0:0::/64");
		expect(ipBucket(null)).toBe("unknown");
	});
});

describe("RateLimiter (Durable Object)", () => {
	const limiter = () => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(unique("limiter-test")));
	const storedHits = (stub: ReturnType<typeof limiter>) =>
		runInDurableObject(stub, (_instance, state) => state.storage.kv.get<number[]>("hits"));

	it("allows `limit` attempts, does not log refused ones, and forgets the key when its alarm runs", async () => {
		const stub = limiter();
		expect(await stub.hit(2, 60)).toEqual({ allowed: true, remaining: 1, retryAfterSeconds: 0 });
		expect(await stub.hit(2, 60)).toEqual({ allowed: true, remaining: 0, retryAfterSeconds: 0 });
		const refused = await stub.hit(2, 60);
		expect(refused.allowed).toBe(false);
		expect(refused.retryAfterSeconds).toBeGreaterThan(55);
		expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
		expect(await storedHits(stub)).toHaveLength(2);

		expect(await runDurableObjectAlarm(stub)).toBe(true);
		expect(await storedHits(stub)).toBeUndefined();
		expect((await stub.hit(2, 60)).allowed).toBe(true);
	});

	it("slides: attempts older than the window no longer count", async () => {
		const stub = limiter();
		const now = Date.now();
		await runInDurableObject(stub, (_instance, state) => state.storage.kv.put("hits", [now - 59_000, now - 1_000]));
		const refused = await stub.hit(2, 60);
		expect(refused).toMatchObject({ allowed: false });
		expect(refused.retryAfterSeconds).toBeLessThanOrEqual(2);
		await runInDurableObject(stub, (_instance, state) => state.storage.kv.put("hits", [now - 61_000, now - 1_000]));
		expect(await stub.hit(2, 60)).toMatchObject({ allowed: true, remaining: 0 });
		expect(await storedHits(stub)).toHaveLength(2);
	});
});
