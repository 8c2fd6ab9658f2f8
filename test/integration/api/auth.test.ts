import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/http/auth";
import { api, json, postEvents, unique, uniqueEmail } from "../../helpers";

async function createKey(scopes: string[], businessUnits?: string[], creator?: string) {
	const response = await api("POST", "/v1/api-keys", {
		body: { name: unique("key"), scopes, ...(businessUnits ? { businessUnits } : {}) },
		key: creator,
	});
	return { response, body: await json(response) };
}

describe("API keys", () => {
	it("answers 401 without a key or with a wrong one, as problem+json", async () => {
		for (const key of [null, "wrong", "test-admin-tokenX", "ce_notakey"]) {
			const response = await api("GET", "/v1/topics", { key });
			expect(response.status).toBe(401);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
			expect(response.headers.get("www-authenticate")).toContain("Bearer");
			expect((await json(response)).code).toBe("UNAUTHORIZED");
		}
	});

	it("shows a new key once and stores only its hash", async () => {
		const { response, body } = await createKey(["consent:read"]);
		expect(response.status).toBe(201);
		expect(body.key).toMatch(/^ce_[A-Za-z0-9_-]{43}$/);
		const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?")
			.bind(body.id)
			.first<Record<string, string>>();
		expect(row?.key_hash).toBe(await sha256Hex(body.key));
		expect(JSON.stringify(row)).not.toContain(body.key);
		const list = await json(await api("GET", "/v1/api-keys"));
		const listed = list.apiKeys.find((k: { id: string }) => k.id === body.id);
		expect(listed).toMatchObject({ scopes: ["consent:read"], businessUnits: null, revokedAt: null });
		expect(listed.key).toBeUndefined();
	});

	it("allows a key its scopes only (403 otherwise)", async () => {
		const { body } = await createKey(["consent:read"]);
		expect((await api("GET", "/v1/consent?email=a%40example.org&channel=email", { key: body.key })).status).toBe(200);
		const denied = await postEvents({ email: uniqueEmail() }, [{ event: "Opt Out" }], body.key);
		expect(denied.status).toBe(403);
		expect((await json(denied)).code).toBe("FORBIDDEN");
		expect((await api("GET", "/v1/api-keys", { key: body.key })).status).toBe(403);
		expect(
			(await api("PUT", `/v1/topics/${unique("t")}`, { key: body.key, body: { name: "x", channel: "email" } })).status,
		).toBe(403);
	});

	it("keeps a business-unit key to its business units", async () => {
		const { body } = await createKey(["events:write", "contacts:read", "consent:read"], ["de"]);
		const email = uniqueEmail();
		expect((await postEvents({ email, businessUnit: "de" }, [{ event: "Opt Out" }], body.key)).status).toBe(200);
		const other = await postEvents({ email, businessUnit: "at" }, [{ event: "Opt Out" }], body.key);
		expect(other.status).toBe(403);
		// Nothing was written for the refused business unit.
		expect((await api("GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=at`)).status).toBe(404);
		expect(
			(await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&channel=email`, { key: body.key })).status,
		).toBe(403);
		expect(
			(
				await api("GET", `/v1/consent?email=${encodeURIComponent(email)}&businessUnit=de&channel=email`, {
					key: body.key,
				})
			).status,
		).toBe(200);
		// A bare-address block spans every business unit.
		const { body: writer } = await createKey(["contacts:write"], ["de"]);
		expect((await api("PUT", `/v1/blocklist/${encodeURIComponent(uniqueEmail())}`, { key: writer.key })).status).toBe(
			403,
		);
	});

	it("lets an admin key make keys only within its own business units", async () => {
		const { body: admin } = await createKey(["admin"], ["de"]);
		expect((await createKey(["consent:read"], ["de"], admin.key)).response.status).toBe(201);
		expect((await createKey(["consent:read"], ["at"], admin.key)).response.status).toBe(403);
		expect((await createKey(["consent:read"], undefined, admin.key)).response.status).toBe(403);
	});

	it("revokes a key at once", async () => {
		const { body } = await createKey(["consent:read"]);
		const url = "/v1/consent?email=a%40example.org&channel=email";
		expect((await api("GET", url, { key: body.key })).status).toBe(200);
		expect((await api("DELETE", `/v1/api-keys/${body.id}`)).status).toBe(204);
		expect((await api("GET", url, { key: body.key })).status).toBe(401);
		expect((await api("DELETE", `/v1/api-keys/${body.id}`)).status).toBe(404);
	});

	it("rejects unknown scopes", async () => {
		expect((await createKey(["everything"])).response.status).toBe(400);
	});
});
