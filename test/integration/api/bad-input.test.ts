import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, json, uniqueEmail } from "../../helpers";

const ledgerCount = async () =>
	(await env.DB.prepare("SELECT count(*) AS n FROM ledger").first<{ n: number }>())?.n ?? 0;

async function expectProblem(response: Response, status: number, code: string) {
	expect(response.status).toBe(status);
	expect(response.headers.get("content-type")).toBe("application/problem+json");
	const body = await json(response);
	expect(body).toMatchObject({ status, code });
	expect(typeof body.title).toBe("string");
	expect(typeof body.detail).toBe("string");
	expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:|SQLITE|D1_ERROR/);
	return body;
}

describe("bad input", () => {
	it("answers malformed JSON with 400 MALFORMED_JSON", async () => {
		await expectProblem(
			await api("POST", "/v1/events", {
				raw: '{"email": "a@b.de", "events": [',
				headers: { "content-type": "application/json" },
			}),
			400,
			"MALFORMED_JSON",
		);
	});

	it("answers non-JSON content types with 415 and a missing body with 400", async () => {
		await expectProblem(
			await api("POST", "/v1/events", {
				raw: "email=a@b.de",
				headers: { "content-type": "application/x-www-form-urlencoded" },
			}),
			415,
			"UNSUPPORTED_MEDIA_TYPE",
		);
		await expectProblem(await api("POST", "/v1/events", { raw: "{}" }), 415, "UNSUPPORTED_MEDIA_TYPE"); // text/plain
		// A body without any content type is not taken for JSON either; no body at all lacks the fields.
		await expectProblem(
			await api("POST", "/v1/events", { raw: new TextEncoder().encode('{"email":"a@b.de"}') }),
			415,
			"UNSUPPORTED_MEDIA_TYPE",
		);
		await expectProblem(await api("POST", "/v1/events"), 400, "VALIDATION_FAILED");
	});

	it("answers bodies over 1 MiB with 413 and writes nothing", async () => {
		const before = await ledgerCount();
		const events = [{ event: "Opt Out", properties: { padding: "x".repeat(1024 * 1024) } }];
		await expectProblem(
			await api("POST", "/v1/events", { body: { email: uniqueEmail(), events } }),
			413,
			"PAYLOAD_TOO_LARGE",
		);
		expect(await ledgerCount()).toBe(before);
	});

	it("rejects unknown fields at every level, naming them", async () => {
		const email = uniqueEmail();
		const top = await expectProblem(
			await api("POST", "/v1/events", { body: { email, events: [{ event: "Opt Out" }], extra: 1 } }),
			400,
			"VALIDATION_FAILED",
		);
		expect(JSON.stringify(top.errors)).toContain("extra");
		await expectProblem(
			await api("POST", "/v1/events", { body: { email, events: [{ event: "Opt Out", chanel: "email" }] } }),
			400,
			"VALIDATION_FAILED",
		);
		await expectProblem(await api("PUT", "/v1/leads", { body: { email, nickname: "x" } }), 400, "VALIDATION_FAILED");
		await expectProblem(await api("GET", `/v1/leads?email=${email}&foo=bar`), 400, "VALIDATION_FAILED");
	});

	it("rejects invalid emails, phones, channels, business units and timestamps", async () => {
		const cases: Array<Record<string, unknown>> = [
			{ email: "no-at-sign", events: [{ event: "Opt Out" }] },
			{ email: "a@b", events: [{ event: "Opt Out" }] },
			{ phone: "12345", events: [{ event: "Opt Out" }] },
			{ phone: "+49 abc", events: [{ event: "Opt Out" }] },
			{ email: uniqueEmail(), events: [{ event: "Opt Out", channel: "fax" }] },
			{ email: uniqueEmail(), businessUnit: "De Shop", events: [{ event: "Opt Out" }] },
			{ email: uniqueEmail(), events: [{ event: "Opt Out", timestamp: "yesterday" }] },
			{ email: uniqueEmail(), events: [] },
			{ email: uniqueEmail(), events: Array.from({ length: 101 }, () => ({ event: "Opt Out" })) },
			{ email: uniqueEmail(), phone: "+4917612345678", events: [{ event: "Opt Out" }] },
			{ events: [{ event: "Opt Out" }] },
			{ email: uniqueEmail(), events: [{ event: "" }] },
		];
		const before = await ledgerCount();
		for (const body of cases) {
			const response = await api("POST", "/v1/events", { body });
			expect(response.status, JSON.stringify(body).slice(0, 200)).toBe(400);
			expect((await json(response)).code).toBe("VALIDATION_FAILED");
		}
		expect(await ledgerCount()).toBe(before);
	});

	it("answers a JSON array or a scalar where an object is expected with 400", async () => {
		for (const raw of ["[]", "42", '"text"', "null"]) {
			const response = await api("POST", "/v1/events", { raw, headers: { "content-type": "application/json" } });
			expect(response.status, raw).toBe(400);
		}
	});

	it("answers unknown routes with a 404 problem", async () => {
		await expectProblem(await api("GET", "/v1/nothing-here"), 404, "NOT_FOUND");
	});
});
