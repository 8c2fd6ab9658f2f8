/** The key of the CrossEngage-compatible routes: bearer or X-XNG-AuthToken, with the native scopes and limits. */
import { describe, expect, it } from "vitest";
import { ADMIN, api, json, unique, uniqueEmail } from "../../helpers";
import { createKey, postEvents, putLead, putUser } from "./ce-helpers";

const xng = (key: string) => ({ key: null, headers: { "X-XNG-AuthToken": key } });

describe("X-XNG-AuthToken", () => {
	it("is accepted in place of Authorization: Bearer, for the admin token and for API keys", async () => {
		const id = unique("ce-auth");
		expect((await putUser(id, { id, email: uniqueEmail(), businessUnit: "de" }, xng(ADMIN))).status).toBe(201);
		const key = await createKey(["contacts:write", "events:write"]);
		expect((await putUser(id, { firstName: "Ann" }, xng(key))).status).toBe(200);
		expect((await postEvents({ id, events: [{ event: "Opt Out" }] }, xng(key))).status).toBe(200);
		expect((await putLead({ email: uniqueEmail(), businessUnit: "de" }, xng(key))).status).toBe(201);
		// The bearer header works as well.
		expect((await postEvents({ id, events: [{ event: "Opt In" }] }, { key })).status).toBe(200);
	});

	it("answers 401 for a wrong or missing key, and lets no second header rescue a wrong bearer key", async () => {
		const id = unique("ce-auth");
		for (const options of [xng("wrong"), xng(`${ADMIN}x`), xng("ce_notakey"), xng(""), { key: null }]) {
			const response = await putUser(id, { firstName: "Ann" }, options);
			expect(response.status).toBe(401);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
			const problem = await json(response);
			expect(problem.code).toBe("UNAUTHORIZED");
			expect(problem.detail).toContain("X-XNG-AuthToken");
		}
		const both = await putUser(id, { firstName: "Ann" }, { key: "wrong", headers: { "X-XNG-AuthToken": ADMIN } });
		expect(both.status).toBe(401);
		expect((await api("GET", `/v1/users/${id}`)).status).toBe(404);
	});

	it("is not taken by the native API, which documents bearer keys only", async () => {
		const response = await api("GET", "/v1/topics", xng(ADMIN));
		expect(response.status).toBe(401);
	});
});

describe("scopes and business units", () => {
	it("needs contacts:write for users and leads and events:write for events", async () => {
		const events = await createKey(["events:write"]);
		const contacts = await createKey(["contacts:write"]);
		const id = unique("ce-scope");
		const denied = await putUser(id, { businessUnit: "de" }, xng(events));
		expect(denied.status).toBe(403);
		expect((await json(denied)).detail).toContain('"contacts:write"');
		expect((await putLead({ email: uniqueEmail() }, xng(events))).status).toBe(403);
		expect((await putUser(id, { businessUnit: "de" }, xng(contacts))).status).toBe(201);
		const noEvents = await postEvents({ id, events: [{ event: "Opt Out" }] }, xng(contacts));
		expect(noEvents.status).toBe(403);
		expect((await json(noEvents)).detail).toContain('"events:write"');
		expect((await postEvents({ id, events: [{ event: "Opt Out" }] }, xng(events))).status).toBe(200);
	});

	it("keeps a key limited to business units to them, writing nothing elsewhere", async () => {
		const key = await createKey(["contacts:write", "events:write"], ["de"]);
		const id = unique("ce-unit");
		expect((await putUser(id, { businessUnit: "at" }, xng(key))).status).toBe(403);
		// No business unit: a new user would be in "default".
		expect((await putUser(id, { firstName: "Ann" }, xng(key))).status).toBe(403);
		expect((await api("GET", `/v1/users/${id}`)).status).toBe(404);
		expect((await putUser(id, { businessUnit: "de" }, xng(key))).status).toBe(201);
		// Moving the user to another unit is refused too.
		expect((await putUser(id, { businessUnit: "at" }, xng(key))).status).toBe(403);

		const email = uniqueEmail();
		expect((await putLead({ email, businessUnit: "at" }, xng(key))).status).toBe(403);
		expect((await postEvents({ email, businessUnit: "at", events: [{ event: "Opt Out" }] }, xng(key))).status).toBe(
			403,
		);
		const query = new URLSearchParams({ email, businessUnit: "at" });
		expect((await api("GET", `/v1/leads?${query}`)).status).toBe(404);

		// A user of another unit, named by id.
		const other = unique("ce-unit");
		await putUser(other, { businessUnit: "at" });
		expect((await postEvents({ id: other, events: [{ event: "Opt Out" }] }, xng(key))).status).toBe(403);
		expect((await putUser(other, { firstName: "Ann" }, xng(key))).status).toBe(403);
	});
});
