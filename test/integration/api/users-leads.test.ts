import { describe, expect, it } from "vitest";
import { api, json, postEvents, unique, uniqueEmail, uniquePhone } from "../../helpers";

describe("users", () => {
	it("creates with 201, updates with 200, and normalizes the email", async () => {
		const id = unique("user");
		const email = uniqueEmail();
		const created = await api("PUT", `/v1/users/${id}`, {
			body: { email: `  ${email.toUpperCase()} `, businessUnit: "de", traits: { plan: "pro" } },
		});
		expect(created.status).toBe(201);
		const user = await json(created);
		expect(user).toMatchObject({ externalId: id, email, businessUnit: "de", phone: null, traits: { plan: "pro" } });
		expect(user.consent).toEqual({ blocked: false, channels: {}, topics: {} });

		const updated = await api("PUT", `/v1/users/${id}`, { body: { phone: "+49 176 1234 5678" } });
		expect(updated.status).toBe(200);
		const after = await json(updated);
		expect(after).toMatchObject({
			id: user.id,
			email,
			businessUnit: "de",
			phone: "+4917612345678",
			traits: { plan: "pro" },
		});

		const read = await json(await api("GET", `/v1/users/${id}`));
		expect(read.id).toBe(user.id);
	});

	it("answers 404 for an unknown user", async () => {
		const response = await api("GET", `/v1/users/${unique("nobody")}`);
		expect(response.status).toBe(404);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect(await json(response)).toMatchObject({ status: 404, code: "NOT_FOUND" });
	});

	it("makes a lead into the user: same contact id, ledger kept, /v1/leads then answers 409", async () => {
		const email = uniqueEmail();
		const lead = await json(await api("PUT", "/v1/leads", { body: { email, businessUnit: "at" } }));
		await postEvents({ email, businessUnit: "at" }, [{ event: "Opt Out", channel: "sms" }]);

		const id = unique("user");
		const promoted = await api("PUT", `/v1/users/${id}`, { body: { email, businessUnit: "at" } });
		expect(promoted.status).toBe(201);
		const user = await json(promoted);
		expect(user.id).toBe(lead.id);
		expect(user.externalId).toBe(id);
		expect(user.consent.channels.sms.optedOut).toBe(true);

		const history = await json(await api("GET", `/v1/users/${id}/history`));
		expect(history.events.map((e: { event: string }) => e.event)).toEqual(["Opt Out"]);

		for (const [method, path] of [
			["GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=at`],
			["GET", `/v1/leads/history?email=${encodeURIComponent(email)}&businessUnit=at`],
		] as const) {
			const response = await api(method, path);
			expect(response.status).toBe(409);
			expect((await json(response)).code).toBe("EXTERNAL_IDS_MISMATCH");
		}
		const put = await api("PUT", "/v1/leads", { body: { email, businessUnit: "at" } });
		expect(put.status).toBe(409);
		expect((await json(put)).code).toBe("EXTERNAL_IDS_MISMATCH");
	});

	it("answers 409 EXTERNAL_IDS_MISMATCH for another user's email+BU and changes nothing", async () => {
		const email = uniqueEmail();
		const first = unique("user");
		await api("PUT", `/v1/users/${first}`, { body: { email, businessUnit: "de" } });
		const second = unique("user");
		const response = await api("PUT", `/v1/users/${second}`, { body: { email, businessUnit: "de" } });
		expect(response.status).toBe(409);
		expect(await json(response)).toMatchObject({ code: "EXTERNAL_IDS_MISMATCH", status: 409 });
		expect((await api("GET", `/v1/users/${second}`)).status).toBe(404);
		expect((await json(await api("GET", `/v1/users/${first}`))).email).toBe(email);
	});

	it("keeps email+BU pairs apart: the same email in two business units is two contacts", async () => {
		const email = uniqueEmail();
		const de = await json(await api("PUT", "/v1/leads", { body: { email, businessUnit: "de" } }));
		const at = await json(await api("PUT", "/v1/leads", { body: { email, businessUnit: "at" } }));
		expect(de.id).not.toBe(at.id);
	});

	it("refuses to give a user the email of another contact in its business unit", async () => {
		const taken = uniqueEmail();
		await api("PUT", "/v1/leads", { body: { email: taken } });
		const id = unique("user");
		await api("PUT", `/v1/users/${id}`, { body: { email: uniqueEmail() } });
		const response = await api("PUT", `/v1/users/${id}`, { body: { email: taken } });
		expect(response.status).toBe(409);
		expect((await json(response)).code).toBe("CONFLICT");
	});

	it("promotes a lead found by phone", async () => {
		const phone = uniquePhone();
		const lead = await json(await postEvents({ phone }, [{ event: "Opt Out", channel: "sms" }]));
		const id = unique("user");
		const user = await json(await api("PUT", `/v1/users/${id}`, { body: { phone } }));
		expect(user.id).toBe(lead.id);
		expect(user.consent.channels.sms.optedOut).toBe(true);
	});
});

describe("leads", () => {
	it("creates, reads and updates a lead by email+BU", async () => {
		const email = uniqueEmail();
		const created = await api("PUT", "/v1/leads", { body: { email, traits: { source: "fair" } } });
		expect(created.status).toBe(201);
		const lead = await json(created);
		expect(lead).toMatchObject({ externalId: null, email, businessUnit: "default" });

		const updated = await api("PUT", "/v1/leads", { body: { email: email.toUpperCase(), phone: "+436641234567" } });
		expect(updated.status).toBe(200);
		expect(await json(updated)).toMatchObject({ id: lead.id, phone: "+436641234567", traits: { source: "fair" } });

		const read = await api("GET", `/v1/leads?email=${encodeURIComponent(email)}`);
		expect((await json(read)).id).toBe(lead.id);
		const missing = await api("GET", `/v1/leads?email=${encodeURIComponent(uniqueEmail())}`);
		expect(missing.status).toBe(404);
	});

	it("pages through a long history oldest first", async () => {
		const email = uniqueEmail();
		const events = Array.from({ length: 5 }, (_, i) => ({ event: `Custom ${i}` }));
		await postEvents({ email }, events);
		const first = await json(await api("GET", `/v1/leads/history?email=${encodeURIComponent(email)}&limit=3`));
		expect(first.events.map((e: { event: string }) => e.event)).toEqual(["Custom 0", "Custom 1", "Custom 2"]);
		expect(first.nextCursor).not.toBeNull();
		const second = await json(
			await api("GET", `/v1/leads/history?email=${encodeURIComponent(email)}&limit=3&cursor=${first.nextCursor}`),
		);
		expect(second.events.map((e: { event: string }) => e.event)).toEqual(["Custom 3", "Custom 4"]);
		expect(second.nextCursor).toBeNull();
	});
});
