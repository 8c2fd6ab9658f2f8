/**
 * The security headers of every answer (src/http/security-headers.ts): pages get the full set a
 * browser applies to a document; JSON, problem+json, CSV and CSS get the short set that keeps a
 * browser from rendering, framing or embedding them.
 */
import { describe, expect, it } from "vitest";
import { api, uniqueEmail } from "../../helpers";

const DATA = {
	"content-security-policy": "default-src 'none'; frame-ancestors 'none'",
	"cross-origin-resource-policy": "same-origin",
	"strict-transport-security": "max-age=15552000; includeSubDomains",
	"x-content-type-options": "nosniff",
};
const PAGE_ONLY = [
	"cross-origin-opener-policy",
	"origin-agent-cluster",
	"referrer-policy",
	"x-dns-prefetch-control",
	"x-download-options",
	"x-frame-options",
	"x-permitted-cross-domain-policies",
	"x-xss-protection",
];

function expectDataHeaders(response: Response, what: string) {
	for (const [name, value] of Object.entries(DATA)) expect(response.headers.get(name), `${what}: ${name}`).toBe(value);
	for (const name of PAGE_ONLY) expect(response.headers.get(name), `${what}: ${name}`).toBeNull();
}

describe("security headers", () => {
	it("puts the short set on every answer that is not a page: JSON, problems, CSV, CSS", async () => {
		const answers: Array<[string, Response]> = [
			["health", await api("GET", "/healthz", { key: null })],
			["consent check", await api("GET", `/v1/consent?email=${encodeURIComponent(uniqueEmail())}&channel=email`)],
			["401 problem", await api("GET", "/v1/consent?channel=email", { key: null })],
			["400 problem", await api("GET", "/v1/consent?channel=fax")],
			["404 problem", await api("GET", "/v1/no-such-route")],
			["CSV export", await api("GET", "/v1/exports/contacts.csv?businessUnit=nowhere")],
			["stylesheet", await api("GET", "/assets/app.css", { key: null })],
		];
		for (const [what, response] of answers) {
			expect(response.status, what).toBeLessThan(500);
			expectDataHeaders(response, what);
			await response.arrayBuffer();
		}
	});

	it("puts the full set on pages, and a page's own referrer policy or widened CSP wins", async () => {
		const page = await api("GET", "/u/not-a-token", { key: null });
		expect(page.headers.get("content-type")).toContain("text/html");
		expect(page.headers.get("content-security-policy")).toBe(
			"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		);
		expect(Object.fromEntries(PAGE_ONLY.map((name) => [name, page.headers.get(name)]))).toEqual({
			"cross-origin-opener-policy": "same-origin",
			"origin-agent-cluster": "?1",
			"referrer-policy": "no-referrer",
			"x-dns-prefetch-control": "off",
			"x-download-options": "noopen",
			"x-frame-options": "SAMEORIGIN",
			"x-permitted-cross-domain-policies": "none",
			"x-xss-protection": "0",
		});
		for (const name of ["cross-origin-resource-policy", "strict-transport-security", "x-content-type-options"]) {
			expect(page.headers.get(name), name).toBe(DATA[name as keyof typeof DATA]);
		}
		await page.arrayBuffer();

		// The admin sign-in page sends its referrer to its own origin (its form's POST checks it).
		const admin = await api("GET", "/admin/login", { key: null });
		expect(admin.headers.get("content-type")).toContain("text/html");
		expect(admin.headers.get("referrer-policy")).toBe("same-origin");
		expect(admin.headers.get("x-frame-options")).toBe("SAMEORIGIN");
		await admin.arrayBuffer();
	});
});
