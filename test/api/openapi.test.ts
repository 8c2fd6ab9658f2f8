import { describe, expect, it } from "vitest";
import { api, json } from "../helpers";

describe("OpenAPI and docs", () => {
	it("serves an OpenAPI 3.1 document with every route and its schemas", async () => {
		const response = await api("GET", "/openapi.json", { key: null });
		expect(response.status).toBe(200);
		const doc = await json(response);
		expect(doc.openapi).toBe("3.1.0");
		const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
			Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
		);
		expect(routes.sort()).toEqual(
			[
				"DELETE /v1/api-keys/{id}",
				"DELETE /v1/blocklist/{address}",
				"DELETE /v1/dead-letters/{id}",
				"DELETE /v1/leads",
				"DELETE /v1/suppressions",
				"DELETE /v1/topics/{key}",
				"DELETE /v1/users/{externalId}",
				"GET /healthz",
				"GET /v1/api-keys",
				"GET /v1/blocklist/{address}",
				"GET /v1/consent",
				"GET /v1/dead-letters",
				"GET /v1/exports/contacts.csv",
				"GET /v1/suppressions",
				"GET /v1/exports/events.csv",
				"GET /v1/leads",
				"GET /v1/leads/history",
				"GET /v1/stats/campaigns",
				"GET /v1/stats/opt-outs",
				"GET /v1/topics",
				"GET /v1/topics/{key}",
				"GET /v1/users/{externalId}",
				"GET /v1/users/{externalId}/history",
				"POST /v1/api-keys",
				"POST /v1/consent/check",
				"POST /v1/dead-letters/{id}/replay",
				"POST /v1/events",
				"POST /v1/imports/contacts",
				"POST /v1/links",
				"POST /v1/links/batch",
				"POST /v1/suppressions",
				"PUT /v1/blocklist/{address}",
				"PUT /v1/leads",
				"PUT /v1/topics/{key}",
				"PUT /v1/users/{externalId}",
			].sort(),
		);
		expect(doc.components.schemas.Contact.properties.consent).toBeDefined();
		expect(doc.components.schemas.EventsRequest.additionalProperties).toBe(false);
		expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
		expect(doc.paths["/v1/events"].post.requestBody.content["application/json"]).toBeDefined();
	});

	it("renders the docs page under a strict CSP, without scripts", async () => {
		const response = await api("GET", "/docs", { key: null });
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toContain("text/html");
		const csp = response.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("default-src 'none'");
		expect(csp).not.toContain("unsafe-inline");
		const html = await response.text();
		expect(html).toContain("/v1/consent/check");
		expect(html).not.toContain("<script");
		expect((await api("GET", "/assets/app.css", { key: null })).headers.get("content-type")).toContain("text/css");
	});
});
