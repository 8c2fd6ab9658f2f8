import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { createLinkSigner } from "../../../src/links/public";
import { type LinkClaims, LinkSigner } from "../../../src/links/token";
import { ADMIN, api, BASE, json, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";

const signer = LinkSigner.fromJson(env.LINK_SIGNING_KEYS);
const ONE_CLICK = "List-Unsubscribe=One-Click";

/** The token of a link, checked to be the same in both URLs and the header. */
function tokenOf(links: { unsubscribeUrl: string; preferencesUrl: string; headers: Record<string, string> }) {
	const match = /^(https?:\/\/[^/]+)\/u\/([A-Za-z0-9_.-]+)$/.exec(links.unsubscribeUrl);
	expect(match, links.unsubscribeUrl).not.toBeNull();
	const [, base, token] = match as unknown as [string, string, string];
	expect(links.preferencesUrl).toBe(`${base}/p/${token}`);
	expect(links.headers["List-Unsubscribe"]?.startsWith(`<${links.unsubscribeUrl}>`)).toBe(true);
	expect(links.headers["List-Unsubscribe-Post"]).toBe(ONE_CLICK);
	return token;
}

async function claimsOf(links: Parameters<typeof tokenOf>[0]): Promise<LinkClaims> {
	const result = await (await signer).verify(tokenOf(links));
	if (!result.ok) throw new Error(`token does not verify: ${result.reason}`);
	return result.claims;
}

const postLinks = (body: unknown, key?: string) => api("POST", "/v1/links", { body, key });
const postBatch = (body: unknown, key?: string) => api("POST", "/v1/links/batch", { body, key });

async function createKey(scopes: string[], businessUnits?: string[]): Promise<string> {
	const response = await api("POST", "/v1/api-keys", {
		body: { name: unique("links-key"), scopes, ...(businessUnits ? { businessUnits } : {}) },
	});
	expect(response.status).toBe(201);
	return (await json(response)).key;
}

/** The worker with other configuration: a fresh env object gets its own parsed config. */
async function withConfig(vars: Record<string, string>, path: string, body: unknown, origin = BASE) {
	const app = createApp();
	const request = new Request(`${origin}${path}`, {
		method: "POST",
		headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
	return app.fetch(
		request,
		{ ...env, ...vars } as never,
		{
			waitUntil: () => {},
			passThroughOnException: () => {},
			props: {},
		} as never,
	);
}

describe("POST /v1/links", () => {
	it("makes unsubscribe and preference links with one-click headers for an email", async () => {
		const topic = unique("news");
		await putTopic(topic, { channel: "email" });
		const before = Math.floor(Date.now() / 1000);
		const response = await postLinks({
			recipient: { email: "  Ann.Links@Example.DE ", businessUnit: "DE" },
			channel: "email",
			topic,
			campaign: "nov-2026",
		});
		expect(response.status).toBe(200);
		const links = await json(response);
		expect(Object.keys(links).sort()).toEqual(["headers", "preferencesUrl", "unsubscribeUrl"]);
		expect(links.unsubscribeUrl.startsWith(`${BASE}/u/`)).toBe(true);
		expect(links.headers).toEqual({
			"List-Unsubscribe": `<${links.unsubscribeUrl}>`,
			"List-Unsubscribe-Post": ONE_CLICK,
		});
		const claims = await claimsOf(links);
		expect(claims).toMatchObject({
			purpose: "manage",
			subject: { email: "ann.links@example.de", businessUnit: "de" },
			channel: "email",
			topic,
			campaign: "nov-2026",
		});
		expect(claims.expiresAt).toBeUndefined();
		expect(claims.issuedAt).toBeGreaterThanOrEqual(before);
		expect(claims.issuedAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
		// The first key of LINK_SIGNING_KEYS signs.
		expect(tokenOf(links).startsWith("t2.")).toBe(true);
	});

	it("names recipients by externalId, phone or contactId, and scopes by channel alone or nothing", async () => {
		const externalId = unique("user");
		const user = await json(await api("PUT", `/v1/users/${externalId}`, { body: { email: uniqueEmail() } }));
		const phone = uniquePhone();

		const byId = await claimsOf(await json(await postLinks({ recipient: { externalId }, channel: "sms" })));
		expect(byId).toMatchObject({ subject: { externalId }, channel: "sms" });
		expect(byId.topic).toBeUndefined();

		const spaced = `${phone.slice(0, 3)} ${phone.slice(3, 6)} ${phone.slice(6)}`;
		const byPhone = await claimsOf(await json(await postLinks({ recipient: { phone: spaced } })));
		expect(byPhone.subject).toEqual({ phone, businessUnit: "default" });
		expect(byPhone.channel).toBeUndefined();

		const byContact = await claimsOf(
			await json(await postLinks({ recipient: { contactId: user.id }, channel: "email" })),
		);
		expect(byContact.subject).toEqual({ contactId: user.id });
	});

	it("refuses unknown topics, a channel the topic is not in, and a business-unit topic elsewhere", async () => {
		const topic = unique("sms-news");
		await putTopic(topic, { channel: "sms" });
		const unknown = await postLinks({ recipient: { email: uniqueEmail() }, topic: unique("nope") });
		expect(unknown.status).toBe(400);
		expect(await json(unknown)).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "topic" }] });

		const mismatch = await postLinks({ recipient: { email: uniqueEmail() }, channel: "email", topic });
		expect(mismatch.status).toBe(400);
		expect((await json(mismatch)).detail).toContain("belongs to channel");
		// A topic link needs no channel: the topic has one.
		expect((await postLinks({ recipient: { phone: uniquePhone() }, topic })).status).toBe(200);

		const deOnly = unique("de-news");
		await putTopic(deOnly, { channel: "email", businessUnit: "de" });
		expect((await postLinks({ recipient: { email: uniqueEmail(), businessUnit: "de" }, topic: deOnly })).status).toBe(
			200,
		);
		const elsewhere = await postLinks({ recipient: { email: uniqueEmail(), businessUnit: "at" }, topic: deOnly });
		expect(elsewhere.status).toBe(400);
		expect(await json(elsewhere)).toMatchObject({ errors: [{ path: "recipient" }] });
		// A user is judged by its own business unit.
		const externalId = unique("user");
		await api("PUT", `/v1/users/${externalId}`, { body: { email: uniqueEmail(), businessUnit: "at" } });
		expect((await postLinks({ recipient: { externalId }, topic: deOnly })).status).toBe(400);
	});

	it("answers 400 for bad input, and never makes a link", async () => {
		const email = uniqueEmail();
		const bad: unknown[] = [
			{},
			{ recipient: {} },
			{ recipient: { email, phone: uniquePhone() } },
			{ recipient: { email: "not-an-email" } },
			{ recipient: { phone: "12345" } },
			{ recipient: { externalId: "" } },
			{ recipient: { externalId: "a\u0000b" } },
			{ recipient: { externalId: "u1", businessUnit: "de" } },
			{ recipient: { email, businessUnit: "not a unit" } },
			{ recipient: { email }, channel: "fax" },
			{ recipient: { email }, topic: "Not A Key" },
			{ recipient: { email }, campaign: "x".repeat(129) },
			{ recipient: { email }, campaign: "" },
			{ recipient: { email }, unknown: true },
			{ recipient: { email, extra: 1 } },
			{ recipients: [{ email }] },
		];
		for (const body of bad) {
			const response = await postLinks(body);
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect((await json(response)).code).toBe("VALIDATION_FAILED");
		}
		const text = await api("POST", "/v1/links", { raw: "{", headers: { "content-type": "application/json" } });
		expect(text.status).toBe(400);
	});

	it("needs links:write, and keeps a limited key to its business units", async () => {
		expect((await postLinks({ recipient: { email: uniqueEmail() } }, "wrong")).status).toBe(401);
		const noScope = await createKey(["consent:read", "events:write"]);
		const denied = await postLinks({ recipient: { email: uniqueEmail() } }, noScope);
		expect(denied.status).toBe(403);
		expect((await json(denied)).code).toBe("FORBIDDEN");

		const linksKey = await createKey(["links:write"]);
		expect((await postLinks({ recipient: { email: uniqueEmail(), businessUnit: "at" } }, linksKey)).status).toBe(200);

		const deKey = await createKey(["links:write"], ["de"]);
		expect((await postLinks({ recipient: { email: uniqueEmail(), businessUnit: "de" } }, deKey)).status).toBe(200);
		const otherUnit = await postLinks({ recipient: { email: uniqueEmail(), businessUnit: "at" } }, deKey);
		expect(otherUnit.status).toBe(403);
		expect(await json(otherUnit)).toMatchObject({ code: "FORBIDDEN", errors: [{ path: "recipient" }] });
		// "default" is a business unit like any other.
		expect((await postLinks({ recipient: { phone: uniquePhone() } }, deKey)).status).toBe(403);

		const deUser = unique("user");
		const atUser = unique("user");
		const de = await json(
			await api("PUT", `/v1/users/${deUser}`, { body: { email: uniqueEmail(), businessUnit: "de" } }),
		);
		await api("PUT", `/v1/users/${atUser}`, { body: { email: uniqueEmail(), businessUnit: "at" } });
		expect((await postLinks({ recipient: { externalId: deUser } }, deKey)).status).toBe(200);
		expect((await postLinks({ recipient: { contactId: de.id } }, deKey)).status).toBe(200);
		expect((await postLinks({ recipient: { externalId: atUser } }, deKey)).status).toBe(403);
		// An id it cannot place is not its to sign for.
		const unknown = await postLinks({ recipient: { externalId: unique("nobody") } }, deKey);
		expect(unknown.status).toBe(403);
		expect((await json(unknown)).detail).toContain("unknown contact");
		// An unlimited key may make links for users that do not exist yet.
		expect((await postLinks({ recipient: { externalId: unique("future") } }, linksKey)).status).toBe(200);
	});
});

describe("the links at work", () => {
	it("open the pages, and the one-click POST unsubscribes the recipient from the channel", async () => {
		const email = uniqueEmail();
		const links = await json(await postLinks({ recipient: { email }, channel: "email", campaign: "c-42" }));
		const path = (url: string) => new URL(url).pathname;
		expect((await api("GET", path(links.unsubscribeUrl), { key: null })).status).toBe(200);
		expect((await api("GET", path(links.preferencesUrl), { key: null })).status).toBe(200);
		const oneClick = await api("POST", path(links.unsubscribeUrl), {
			key: null,
			raw: links.headers["List-Unsubscribe-Post"],
			headers: { "content-type": "application/x-www-form-urlencoded" },
		});
		expect(oneClick.status).toBe(200);
		const decision = await json(await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&channel=email`));
		expect(decision).toMatchObject({ allowed: false, reason: "opted_out" });
	});
});

describe("link configuration", () => {
	it("appends LIST_UNSUBSCRIBE_MAILTO after the https URI, with the link's token at the end of its subject", async () => {
		const recipient = { email: uniqueEmail() };
		const plain = await withConfig({ LIST_UNSUBSCRIBE_MAILTO: "unsubscribe@example.com" }, "/v1/links", { recipient });
		expect(plain.status).toBe(200);
		const links = await json(plain);
		const token = tokenOf(links);
		expect(links.headers["List-Unsubscribe"]).toBe(
			`<${links.unsubscribeUrl}>, <mailto:unsubscribe@example.com?subject=unsubscribe%20${token}>`,
		);
		await claimsOf(links);

		const withSubject = await json(
			await withConfig({ LIST_UNSUBSCRIBE_MAILTO: "mailto:list@example.com?Subject=Remove%20me" }, "/v1/links", {
				recipient,
			}),
		);
		expect(withSubject.headers["List-Unsubscribe"]).toBe(
			`<${withSubject.unsubscribeUrl}>, <mailto:list@example.com?Subject=Remove%20me%20${tokenOf(withSubject)}>`,
		);

		const withQuery = await json(
			await withConfig({ LIST_UNSUBSCRIBE_MAILTO: "mailto:list@example.com?body=x" }, "/v1/links", { recipient }),
		);
		expect(withQuery.headers["List-Unsubscribe"]).toBe(
			`<${withQuery.unsubscribeUrl}>, <mailto:list@example.com?body=x&subject=unsubscribe%20${tokenOf(withQuery)}>`,
		);

		// The batch: every link its own token in its own mailto.
		const batch = await json(
			await withConfig({ LIST_UNSUBSCRIBE_MAILTO: "unsubscribe@example.com" }, "/v1/links/batch", {
				channel: "email",
				recipients: [{ email: uniqueEmail() }, { email: uniqueEmail() }],
			}),
		);
		expect(batch.links).toHaveLength(2);
		for (const link of batch.links) {
			expect(link.headers["List-Unsubscribe"]).toBe(
				`<${link.unsubscribeUrl}>, <mailto:unsubscribe@example.com?subject=unsubscribe%20${tokenOf(link)}>`,
			);
		}
		expect(tokenOf(batch.links[0])).not.toBe(tokenOf(batch.links[1]));

		// A value that would break the header is left out (and logged); the https URI stays.
		const broken = await json(
			await withConfig({ LIST_UNSUBSCRIBE_MAILTO: "a@example.com>, <https://evil.example" }, "/v1/links", {
				recipient,
			}),
		);
		expect(broken.headers["List-Unsubscribe"]).toBe(`<${broken.unsubscribeUrl}>`);
	});

	it("uses the request's origin without PUBLIC_BASE_URL, and PUBLIC_BASE_URL when set", async () => {
		const recipient = { email: uniqueEmail() };
		const fromRequest = await json(
			await withConfig({ PUBLIC_BASE_URL: "" }, "/v1/links", { recipient }, "http://localhost:8787"),
		);
		expect(fromRequest.unsubscribeUrl.startsWith("http://localhost:8787/u/")).toBe(true);
		expect(fromRequest.preferencesUrl.startsWith("http://localhost:8787/p/")).toBe(true);
		await claimsOf(fromRequest);

		const configured = await json(
			await withConfig(
				{ PUBLIC_BASE_URL: "https://consent.example.org/" },
				"/v1/links/batch",
				{ recipients: [recipient] },
				"http://localhost:8787",
			),
		);
		expect(configured.links[0].unsubscribeUrl.startsWith("https://consent.example.org/u/")).toBe(true);
	});
});

describe("POST /v1/links/batch", () => {
	it("makes 10,000 links in input order, each verifying", async () => {
		const topic = unique("batch-news");
		await putTopic(topic, { channel: "email" });
		const prefix = unique("b");
		const recipients = Array.from({ length: 10_000 }, (_, i) => ({ email: `${prefix}-${i}@example.com` }));
		const response = await postBatch({ channel: "email", topic, campaign: "c-1", businessUnit: "de", recipients });
		expect(response.status).toBe(200);
		const { links } = await json(response);
		expect(links).toHaveLength(10_000);
		const verifier = await signer;
		for (let i = 0; i < links.length; i++) {
			const result = await verifier.verify(tokenOf(links[i]));
			if (!result.ok) throw new Error(`link ${i}: ${result.reason}`);
			if (!("email" in result.claims.subject) || result.claims.subject.email !== `${prefix}-${i}@example.com`) {
				throw new Error(`link ${i} is for ${JSON.stringify(result.claims.subject)}`);
			}
			expect(result.claims.subject.businessUnit).toBe("de");
			expect(result.claims).toMatchObject({ channel: "email", topic, campaign: "c-1", purpose: "manage" });
		}
	});

	it("takes each recipient's own business unit before the batch's", async () => {
		const externalId = unique("user");
		const { links } = await json(
			await postBatch({
				businessUnit: "at",
				recipients: [
					{ email: uniqueEmail() },
					{ email: uniqueEmail(), businessUnit: "ch" },
					{ phone: uniquePhone() },
					{ externalId },
				],
			}),
		);
		const subjects = await Promise.all(
			links.map(async (link: Parameters<typeof tokenOf>[0]) => (await claimsOf(link)).subject),
		);
		expect(subjects.map((s) => ("businessUnit" in s ? s.businessUnit : null))).toEqual(["at", "ch", "at", null]);
		expect(subjects[3]).toEqual({ externalId });
	});

	it("refuses empty and oversized batches, and says which recipient is bad", async () => {
		expect((await postBatch({ recipients: [] })).status).toBe(400);
		const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ externalId: `u${i}` }));
		expect((await postBatch({ recipients: tooMany })).status).toBe(400);
		const bad = await postBatch({ recipients: [{ email: uniqueEmail() }, { email: "nope" }] });
		expect(bad.status).toBe(400);
		expect((await json(bad)).errors[0].path).toMatch(/^json\.recipients\.1/);
		expect((await postBatch({ recipient: { email: uniqueEmail() } })).status).toBe(400);
	});

	it("keeps a limited key to its business units, naming every refused recipient", async () => {
		const deKey = await createKey(["links:write"], ["de"]);
		const deUser = unique("user");
		await api("PUT", `/v1/users/${deUser}`, { body: { email: uniqueEmail(), businessUnit: "de" } });
		const allowed = await postBatch(
			{ businessUnit: "de", recipients: [{ email: uniqueEmail() }, { externalId: deUser }] },
			deKey,
		);
		expect(allowed.status).toBe(200);
		const refused = await postBatch(
			{
				businessUnit: "de",
				recipients: [
					{ email: uniqueEmail() },
					{ email: uniqueEmail(), businessUnit: "at" },
					{ externalId: deUser },
					{ externalId: unique("nobody") },
				],
			},
			deKey,
		);
		expect(refused.status).toBe(403);
		expect((await json(refused)).errors.map((e: { path: string }) => e.path)).toEqual(["recipients.1", "recipients.3"]);
	});
});

describe("the offline signer (@consent-edge/links) in workerd", () => {
	it("makes links the worker verifies (node:crypto through nodejs_compat)", async () => {
		const links = await createLinkSigner({ keys: env.LINK_SIGNING_KEYS, baseUrl: BASE });
		const link = links.forRecipient(
			{ email: "Ann@Example.de", businessUnit: "de" },
			{ channel: "email", topic: "newsletter", campaign: "c", issuedAt: 1_795_000_000 },
		);
		expect(await claimsOf(link)).toEqual({
			purpose: "manage",
			subject: { email: "ann@example.de", businessUnit: "de" },
			channel: "email",
			topic: "newsletter",
			campaign: "c",
			issuedAt: 1_795_000_000,
		});
	});
});
