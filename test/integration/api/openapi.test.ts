import { describe, expect, it } from "vitest";
import { SCOPES } from "../../../src/http/auth";
import { api, json, unique } from "../../helpers";

interface Operation {
	operationId?: string;
	summary?: string;
	description?: string;
	tags?: string[];
	security?: Array<Record<string, string[]>>;
	parameters?: Array<{ name: string; in: string }>;
	requestBody?: { content: Record<string, { schema?: unknown; example?: unknown }> };
	responses: Record<string, { description: string; content?: Record<string, unknown> }>;
}

/** Every operation of the document: `GET /v1/consent` and its object. */
function operationsOf(doc: { paths: Record<string, Record<string, Operation>> }) {
	return Object.entries(doc.paths).flatMap(([path, methods]) =>
		Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, op })),
	);
}

/**
 * The operationIds are part of the contract: generated clients name their functions after them
 * (openapi-typescript's `operations`), so a rename is a breaking change and must show up here.
 */
const OPERATION_IDS: Record<string, string> = {
	"GET /healthz": "getHealth",
	"PUT /v1/users/{externalId}": "upsertUser",
	"GET /v1/users/{externalId}": "getUser",
	"GET /v1/users/{externalId}/history": "getUserHistory",
	"DELETE /v1/users/{externalId}": "eraseUser",
	"PUT /v1/leads": "upsertLead",
	"GET /v1/leads": "getLead",
	"GET /v1/leads/history": "getLeadHistory",
	"DELETE /v1/leads": "eraseLead",
	"POST /v1/events": "recordEvents",
	"GET /v1/consent": "checkConsent",
	"POST /v1/consent/check": "checkConsentBatch",
	"PUT /v1/topics/{key}": "upsertTopic",
	"GET /v1/topics/{key}": "getTopic",
	"GET /v1/topics": "listTopics",
	"DELETE /v1/topics/{key}": "deleteTopic",
	"PUT /v1/blocklist/{address}": "blockAddress",
	"GET /v1/blocklist/{address}": "getBlockedAddress",
	"DELETE /v1/blocklist/{address}": "unblockAddress",
	"GET /v1/suppressions": "getSuppression",
	"POST /v1/suppressions": "addSuppressions",
	"DELETE /v1/suppressions": "removeSuppression",
	"POST /v1/api-keys": "createApiKey",
	"GET /v1/api-keys": "listApiKeys",
	"DELETE /v1/api-keys/{id}": "revokeApiKey",
	"POST /v1/links": "createLinks",
	"POST /v1/links/batch": "createLinksBatch",
	"GET /v1/dead-letters": "listDeadLetters",
	"POST /v1/dead-letters/{id}/replay": "replayDeadLetter",
	"DELETE /v1/dead-letters/{id}": "discardDeadLetter",
	"GET /v1/exports/contacts.csv": "exportContacts",
	"GET /v1/exports/events.csv": "exportEvents",
	"POST /v1/imports/contacts": "importContacts",
	"GET /v1/imports/{id}": "getImportJob",
	"POST /v1/exports/contacts": "exportContactsJob",
	"POST /v1/exports/events": "exportEventsJob",
	"GET /v1/exports/{id}": "getExportJob",
	"GET /v1/exports/{id}/download": "downloadExport",
	"GET /v1/stats/opt-outs": "getOptOutStats",
	"GET /v1/stats/campaigns": "getCampaignStats",
	"GET /v1/stats/contacts": "getContactStats",
	"PUT /crossengage/users/{id}": "crossEngageUpsertUser",
	"PUT /crossengage/leads": "crossEngageUpsertLead",
	"POST /crossengage/events": "crossEngageRecordEvents",
};

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
				"GET /v1/exports/{id}",
				"GET /v1/exports/{id}/download",
				"GET /v1/imports/{id}",
				"POST /v1/exports/contacts",
				"POST /v1/exports/events",
				"GET /v1/leads",
				"GET /v1/leads/history",
				"GET /v1/stats/campaigns",
				"GET /v1/stats/contacts",
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
				"PUT /crossengage/users/{id}",
				"PUT /crossengage/leads",
				"POST /crossengage/events",
			].sort(),
		);
		expect(doc.components.schemas.Contact.properties.consent).toBeDefined();
		expect(doc.components.schemas.EventsRequest.additionalProperties).toBe(false);
		expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
		expect(doc.components.securitySchemes.xngAuthToken).toMatchObject({
			type: "apiKey",
			in: "header",
			name: "X-XNG-AuthToken",
		});
		expect(doc.paths["/v1/events"].post.requestBody.content["application/json"]).toBeDefined();
	});

	it("gives every operation a unique, stable operationId, one described tag, security and its error answers", async () => {
		const doc = await json(await api("GET", "/openapi.json", { key: null }));
		const operations = operationsOf(doc);
		expect(Object.fromEntries(operations.map(({ key, op }) => [key, op.operationId]))).toEqual(OPERATION_IDS);
		const ids = operations.map(({ op }) => op.operationId);
		expect(new Set(ids).size).toBe(ids.length);
		for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z0-9]*$/);

		const tags = new Map((doc.tags as Array<{ name: string; description?: string }>).map((tag) => [tag.name, tag]));
		for (const tag of tags.values()) expect(tag.description, tag.name).toBeTruthy();
		const schemes = doc.components.securitySchemes as Record<string, unknown>;
		for (const { key, op } of operations) {
			expect(op.summary, key).toBeTruthy();
			expect(op.description, key).toBeTruthy();
			expect(op.tags, key).toHaveLength(1);
			expect(tags.has(op.tags?.[0] ?? ""), `${key}: tag ${op.tags?.[0]} is in the document's tags`).toBe(true);
			expect(Array.isArray(op.security), `${key} states its security`).toBe(true);
			if (key === "GET /healthz") {
				expect(op.security).toEqual([]);
				continue;
			}
			// A bearer key with the scopes the route needs (the `admin` scope includes every other); the
			// CrossEngage-compatible routes also take the same key in X-XNG-AuthToken, with the same scopes.
			const alternatives = key.includes(" /crossengage/") ? ["bearer", "xngAuthToken"] : ["bearer"];
			expect(
				op.security?.flatMap((requirement) => Object.keys(requirement)),
				key,
			).toEqual(alternatives);
			for (const requirement of op.security ?? []) {
				for (const [scheme, scopes] of Object.entries(requirement)) {
					expect(schemes[scheme], `${key}: scheme ${scheme}`).toBeDefined();
					expect(scopes.length, key).toBeGreaterThan(0);
					expect(scopes, key).toEqual(Object.values(op.security?.[0] ?? {})[0]);
					for (const scope of scopes) expect(SCOPES, key).toContain(scope);
				}
			}
			// What redocly's operation-4xx-response would check (off in redocly.yaml for /healthz's sake).
			const problems = Object.entries(op.responses).filter(([status]) => /^4\d\d$/.test(status));
			expect(problems.length, `${key} declares its 4xx answers`).toBeGreaterThan(0);
			for (const [, response] of problems)
				expect(Object.keys(response.content ?? {})).toEqual(["application/problem+json"]);
			for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
				const example = media.example ?? (media.schema as { example?: unknown } | undefined)?.example;
				expect(example, `${key}: an example of its ${type} body`).toBeDefined();
			}
		}
		expect(doc.security).toBeUndefined(); // each operation states its own: nothing is secured by default
		expect(doc.info.license).toMatchObject({ name: "MIT", identifier: "MIT" });
		expect(doc.info.description).toBeTruthy();
		expect(doc.servers.length).toBeGreaterThan(0);
	});

	it("documents the scope each route enforces", async () => {
		const doc = await json(await api("GET", "/openapi.json", { key: null }));
		const keys = new Map<string, string>();
		/** A key with exactly these scopes. */
		const keyWith = async (scopes: string[]) => {
			const name = scopes.join(",");
			if (!keys.has(name)) {
				const response = await api("POST", "/v1/api-keys", { body: { name: unique(`openapi-${name}`), scopes } });
				expect(response.status).toBe(201);
				keys.set(name, (await json(response)).key);
			}
			return keys.get(name) as string;
		};
		for (const { key, method, path, op } of operationsOf(doc)) {
			const documented = Object.values(op.security?.[0] ?? {})[0] ?? [];
			if (documented.length === 0) continue;
			// Every scope but the documented ones (and admin): the scope check refuses before any input is read.
			const others = SCOPES.filter((scope) => scope !== "admin" && !documented.includes(scope));
			const response = await api(method.toUpperCase(), path.replace(/\{[^}]+\}/g, "1"), { key: await keyWith(others) });
			expect(response.status, key).toBe(403);
			const { detail } = await json(response);
			expect(
				documented.some((scope) => detail.includes(`"${scope}"`)),
				`${key}: refused for a documented scope (${documented.join(", ")}), not another: ${detail}`,
			).toBe(true);
		}
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

	it("shows every operation on the docs page: parameters, body fields with the example, responses", async () => {
		const doc = await json(await api("GET", "/openapi.json", { key: null }));
		const html = await (await api("GET", "/docs", { key: null })).text();
		/** The text of an HTML fragment as it reads: tags dropped, entities decoded, whitespace collapsed. */
		const textOf = (fragment: string) =>
			fragment
				.replace(/<\/?(code|a|span|strong)\b[^>]*>/g, "")
				.replace(/<[^>]+>/g, " ")
				.replace(
					/&(lt|gt|quot|#39|amp);/g,
					(_, name: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", amp: "&" })[name] ?? "",
				)
				.replace(/\s+/g, " ");
		const prose = (text: string) => text.replaceAll("`", "").replace(/\s+/g, " ").trim();
		for (const { key, method, path, op } of operationsOf(doc)) {
			const start = html.indexOf(`<article class="op" id="${op.operationId}"`);
			expect(start, `${key} has its section, #${op.operationId}`).toBeGreaterThan(-1);
			const section = html.slice(start, html.indexOf("</article>", start));
			const text = textOf(section);
			expect(text).toContain(`${method} ${path}`);
			expect(text).toContain(prose(op.summary ?? ""));
			expect(text).toContain(prose(op.description ?? ""));
			for (const parameter of op.parameters ?? [])
				expect(text).toMatch(new RegExp(` ${parameter.name} ${parameter.in} (yes|no) `));
			for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
				expect(text).toContain(type);
				const schema = media.schema as { $ref?: string } | undefined;
				const target = schema?.$ref ? doc.components.schemas[schema.$ref.split("/").pop() as string] : schema;
				for (const field of Object.keys(target?.properties ?? {}))
					expect(text, `${key}: field ${field}`).toMatch(new RegExp(` ${field} `));
				const example = media.example ?? target?.example;
				const shown = typeof example === "string" ? example : JSON.stringify(example, null, 2);
				expect(text, `${key}: the ${type} example`).toContain(shown.replace(/\s+/g, " ").trim());
			}
			for (const [status, response] of Object.entries(op.responses)) {
				expect(text, `${key}: response ${status}`).toContain(`${status} ${prose(response.description)}`);
			}
			expect(section).toContain('<th scope="col">');
		}
		for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
		expect(html).not.toContain("style=");
	});
});
