import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, json, postEvents, putTopic, unique, uniqueEmail } from "../../helpers";

async function key(scopes: string[], businessUnits?: string[]) {
	const response = await api("POST", "/v1/api-keys", { body: { name: unique("k"), scopes, businessUnits } });
	expect(response.status).toBe(201);
	return json<{ id: string; key: string }>(response);
}

describe("business-unit limits hold on every endpoint", () => {
	it("the batch check answers another unit's user as an unknown recipient of the asked unit", async () => {
		const externalId = unique("at-user");
		await api("PUT", `/v1/users/${externalId}`, { body: { email: uniqueEmail(), businessUnit: "at" } });
		await postEvents({ id: externalId }, [{ event: "Opt Out", channel: "email" }]);
		const de = await key(["consent:read"], ["de"]);
		const batch = await json(
			await api("POST", "/v1/consent/check", {
				key: de.key,
				body: { channel: "email", businessUnit: "de", recipients: [{ externalId }] },
			}),
		);
		// Unknown: allowed (an opt-out system), exactly as for an externalId nobody has.
		const unknown = await json(
			await api("POST", "/v1/consent/check", {
				key: de.key,
				body: { channel: "email", businessUnit: "de", recipients: [{ externalId: unique("nobody") }] },
			}),
		);
		expect(batch).toEqual(unknown);
		expect((await api("GET", `/v1/consent?externalId=${externalId}&channel=email`, { key: de.key })).status).toBe(403);
		// An unlimited key still finds the user by its externalId, whatever unit it asks about.
		const all = await json(
			await api("POST", "/v1/consent/check", {
				body: { channel: "email", businessUnit: "de", recipients: [{ externalId }] },
			}),
		);
		expect(all.results).toEqual([{ allowed: false, reason: "opted_out" }]);
	});

	it("an admin key limited to a unit manages only keys of its units", async () => {
		const admin = await key(["admin"], ["de"]);
		const global = await key(["consent:read"]);
		const other = await key(["consent:read"], ["at"]);
		const both = await key(["consent:read"], ["de", "at"]);
		const own = await key(["consent:read"], ["de"]);
		const listed = (await json(await api("GET", "/v1/api-keys", { key: admin.key }))).apiKeys.map(
			(k: { id: string }) => k.id,
		);
		expect(listed).toContain(own.id);
		expect(listed).toContain(admin.id);
		for (const hidden of [global, other, both]) expect(listed).not.toContain(hidden.id);
		for (const foreign of [global, other, both]) {
			expect((await api("DELETE", `/v1/api-keys/${foreign.id}`, { key: admin.key })).status).toBe(404);
		}
		// Still valid.
		expect((await api("GET", `/v1/consent?email=${uniqueEmail()}&channel=email`, { key: global.key })).status).toBe(
			200,
		);
		expect((await api("DELETE", `/v1/api-keys/${own.id}`, { key: admin.key })).status).toBe(204);
		// And it never makes a key with more reach than its own.
		const wider = await api("POST", "/v1/api-keys", {
			key: admin.key,
			body: { name: unique("k"), scopes: ["admin"] },
		});
		expect(wider.status).toBe(403);
	});

	it("an admin key limited to a unit manages only topics of its units; global topics need an unlimited key", async () => {
		const admin = await key(["admin"], ["de"]);
		const [global, atTopic, deTopic] = [unique("g"), unique("at"), unique("de")];
		await putTopic(global);
		await putTopic(atTopic, { businessUnit: "at" });
		const put = (topicKey: string, body: Record<string, unknown>) =>
			api("PUT", `/v1/topics/${topicKey}`, { key: admin.key, body: { name: topicKey, channel: "email", ...body } });
		expect((await put(deTopic, { businessUnit: "de" })).status).toBe(201);
		expect((await put(unique("g2"), {})).status).toBe(403);
		expect((await put(global, {})).status).toBe(403);
		expect((await put(global, { businessUnit: "de" })).status).toBe(403); // no taking a global topic over
		expect((await put(atTopic, { businessUnit: "at" })).status).toBe(403);
		expect((await put(atTopic, { businessUnit: "de" })).status).toBe(403);
		expect((await api("DELETE", `/v1/topics/${global}`, { key: admin.key })).status).toBe(403);
		expect((await api("DELETE", `/v1/topics/${atTopic}`, { key: admin.key })).status).toBe(404);
		expect((await api("GET", `/v1/topics/${atTopic}`, { key: admin.key })).status).toBe(404);
		const listed = (await json(await api("GET", "/v1/topics", { key: admin.key }))).topics.map(
			(t: { key: string }) => t.key,
		);
		expect(listed).toEqual(expect.arrayContaining([global, deTopic]));
		expect(listed).not.toContain(atTopic);
		expect((await api("DELETE", `/v1/topics/${deTopic}`, { key: admin.key })).status).toBe(204);
		expect((await api("GET", `/v1/topics/${atTopic}`)).status).toBe(200);
	});

	it("an admin key limited to a unit sees, replays and discards only dead letters of its units", async () => {
		const admin = await key(["admin"], ["de"]);
		const insert = (body: unknown, businessUnit: string | null) =>
			env.DB.prepare(
				"INSERT INTO dead_letters (queue, body, attempts, business_unit) VALUES ('outbound', ?, 9, ?) RETURNING id",
			)
				.bind(JSON.stringify(body), businessUnit)
				.first<{ id: number }>();
		const mine = await insert({ kind: "outbound", marker: unique("de") }, "de");
		const theirs = await insert({ kind: "outbound", marker: unique("at") }, "at");
		const nobodys = await insert({ kind: "outbound", marker: unique("none") }, null);
		const ids = async (k?: string) =>
			(await json(await api("GET", "/v1/dead-letters?limit=500", { key: k }))).deadLetters.map(
				(d: { id: number }) => d.id,
			);
		const seen = await ids(admin.key);
		expect(seen).toContain(mine?.id);
		expect(seen).not.toContain(theirs?.id);
		expect(seen).not.toContain(nobodys?.id);
		for (const id of [theirs?.id, nobodys?.id]) {
			expect((await api("DELETE", `/v1/dead-letters/${id}`, { key: admin.key })).status).toBe(404);
			expect((await api("POST", `/v1/dead-letters/${id}/replay`, { key: admin.key })).status).toBe(404);
		}
		expect(await ids()).toEqual(expect.arrayContaining([theirs?.id, nobodys?.id]));
		expect((await api("DELETE", `/v1/dead-letters/${mine?.id}`, { key: admin.key })).status).toBe(204);
		for (const id of [theirs?.id, nobodys?.id])
			expect((await api("DELETE", `/v1/dead-letters/${id}`)).status).toBe(204);
	});

	it("the bare-address blocklist needs an unlimited key, to read too", async () => {
		const admin = await key(["admin"], ["de"]);
		const address = uniqueEmail();
		expect((await api("PUT", `/v1/blocklist/${address}`)).status).toBe(201);
		for (const method of ["GET", "PUT", "DELETE"]) {
			expect((await api(method, `/v1/blocklist/${address}`, { key: admin.key })).status).toBe(403);
		}
	});
});
