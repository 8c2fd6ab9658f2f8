import { describe, expect, it } from "vitest";
import { api, json, uniqueEmail } from "../helpers";

describe("smoke", () => {
	it("answers healthz", async () => {
		const response = await api("GET", "/healthz", { key: null });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual({ ok: true });
	});
	it("records an opt out", async () => {
		const email = uniqueEmail();
		const response = await api("POST", "/v1/events", {
			body: { email, events: [{ event: "opt out", channel: "email" }] },
		});
		const body = await json(response);
		expect(response.status, JSON.stringify(body)).toBe(200);
		expect(body.consent.channels.email.optedOut).toBe(true);
	});
});
