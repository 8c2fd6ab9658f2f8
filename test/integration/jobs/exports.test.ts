/**
 * Exports as jobs: POST /v1/exports/{contacts,events} → 202 → the workflow writes the file in
 * parts → GET /v1/exports/{id}/download streams it; byte for byte the synchronous export's file.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { insertJob } from "../../../src/db/jobs";
import type { Bindings } from "../../../src/env";
import { exportPrefix } from "../../../src/jobs/export-job";
import { newJobId } from "../../../src/jobs/jobs";
import { EXPORT_PAGES_PER_STEP, SYNC_EXPORT_ROWS } from "../../../src/jobs/limits";
import { api, json, postEvents, putTopic, unique } from "../../helpers";
import { accepted, createKey, finished, importFile } from "./job-helpers";

const bindings = env as unknown as Bindings;

async function seedSmall(businessUnit: string) {
	const topic = unique("topic");
	await putTopic(topic, { businessUnit, doubleOptIn: true });
	const csv = [
		`externalId,email,phone,optedOut:email,topic:${topic},blocked`,
		`${unique("u")},a@${businessUnit}.example,,true,subscribed,false`,
		`=${unique("formula")},b@${businessUnit}.example,,false,unsubscribed,`,
		`${unique("u")},c@${businessUnit}.example,+4917612345678,,pending,true`,
	].join("\n");
	const response = await importFile(csv, `businessUnit=${businessUnit}`);
	expect(await json(response)).toMatchObject({ created: 3, failed: 0 });
	return topic;
}

async function download(id: string, key?: string) {
	const response = await api("GET", `/v1/exports/${id}/download`, { key });
	expect(response.status, await response.clone().text()).toBe(200);
	return response;
}

describe("POST /v1/exports/contacts", () => {
	it("writes the same file as the synchronous export, and serves it when done", async () => {
		const businessUnit = unique("exp");
		const topic = await seedSmall(businessUnit);
		const sync = await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}`);
		expect(sync.status).toBe(200);
		const expected = await sync.text();

		const response = await api("POST", `/v1/exports/contacts?businessUnit=${businessUnit}`);
		const id = await accepted(response, "exports");
		expect(id).toMatch(/^exp_[0-9a-f]{32}$/);
		const job = await finished(`/v1/exports/${id}`);
		expect(job).toEqual({
			id,
			status: "done",
			processed: 3,
			total: 3,
			createdAt: expect.any(String),
			updatedAt: expect.any(String),
			download: `/v1/exports/${id}/download`,
		});
		const file = await download(id);
		expect(file.headers.get("content-type")).toBe("text/csv; charset=utf-8");
		expect(file.headers.get("content-disposition")).toMatch(
			new RegExp(`^attachment; filename="contacts-${businessUnit}-\\d{8}T\\d{6}Z\\.csv"$`),
		);
		const text = await file.text();
		expect(file.headers.get("content-length")).toBe(String(new TextEncoder().encode(text).length));
		expect(text).toBe(expected);
		expect(text).toContain(`topic:${topic}`);

		// Filters as in the synchronous export.
		const filtered = await finished(
			`/v1/exports/${await accepted(
				await api("POST", `/v1/exports/contacts?businessUnit=${businessUnit}&status=opted_out&channel=email`),
				"exports",
			)}`,
		);
		expect(filtered).toMatchObject({ status: "done", processed: 1 });
		// Bad filters are refused before a job is made.
		const bad = await api("POST", `/v1/exports/contacts?businessUnit=${businessUnit}&status=subscribed`);
		expect(bad.status).toBe(400);
	});

	it("an empty export is its header", async () => {
		const businessUnit = unique("exp");
		const id = await accepted(await api("POST", `/v1/exports/contacts?businessUnit=${businessUnit}`), "exports");
		expect(await finished(`/v1/exports/${id}`)).toMatchObject({ status: "done", processed: 0, total: 0 });
		const sync = await (await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}`)).text();
		expect(await (await download(id)).text()).toBe(sync);
	});
});

describe("POST /v1/exports/events", () => {
	it("exports the ledger as the synchronous export does", async () => {
		const businessUnit = unique("exp");
		const email = `l@${businessUnit}.example`;
		await postEvents({ email, businessUnit }, [{ event: "Opt Out", channel: "email" }, { event: "custom-thing" }]);
		const expected = await (await api("GET", `/v1/exports/events.csv?businessUnit=${businessUnit}`)).text();
		const id = await accepted(await api("POST", `/v1/exports/events?businessUnit=${businessUnit}`), "exports");
		expect(await finished(`/v1/exports/${id}`)).toMatchObject({ status: "done", processed: 2 });
		const file = await download(id);
		expect(file.headers.get("content-disposition")).toContain(`filename="events-${businessUnit}-`);
		expect(await file.text()).toBe(expected);
	});
});

describe("a large export", () => {
	const seeded: string[] = [];
	afterAll(async () => {
		for (const businessUnit of seeded) {
			await env.DB.prepare("DELETE FROM contacts WHERE business_unit = ?").bind(businessUnit).run();
		}
	});

	it("answers 413 synchronously past the row limit, and is written by a job in several parts", async () => {
		const businessUnit = unique("big");
		seeded.push(businessUnit);
		const rows = SYNC_EXPORT_ROWS + 1_234;
		await env.DB.prepare(
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
			 INSERT INTO contacts (id, email, business_unit, consent, created_at, updated_at)
			 SELECT printf('%s-%06d', ?2, i), printf('c%06d@%s.example', i, ?2), ?2, '{"blocked":false,"channels":{},"topics":{}}',
			   '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
			 FROM n`,
		)
			.bind(rows, businessUnit)
			.run();

		const sync = await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}`);
		expect(sync.status).toBe(413);
		expect(sync.headers.get("content-type")).toBe("application/problem+json");
		const problem = await json(sync);
		expect(problem.code).toBe("PAYLOAD_TOO_LARGE");
		expect(problem.detail).toContain("POST /v1/exports/contacts");
		// A filter that narrows it below the limit streams as before.
		const narrow = await api(
			"GET",
			`/v1/exports/contacts.csv?businessUnit=${businessUnit}&status=opted_out&channel=email`,
		);
		expect(narrow.status).toBe(200);
		await narrow.body?.cancel();

		const id = await accepted(await api("POST", `/v1/exports/contacts?businessUnit=${businessUnit}`), "exports");
		const job = await finished(`/v1/exports/${id}`, undefined, 120_000);
		expect(job).toMatchObject({ status: "done", processed: rows, total: rows });
		const parts = await env.JOB_FILES.list({ prefix: exportPrefix(id) });
		expect(parts.objects).toHaveLength(Math.ceil(rows / (EXPORT_PAGES_PER_STEP * 1000)));

		const text = await (await download(id)).text();
		const lines = text.split("\r\n");
		expect(lines.at(-1)).toBe("");
		expect(lines).toHaveLength(1 + rows + 1);
		expect(lines[0]?.startsWith("id,externalId,email,")).toBe(true);
		expect(lines[1]?.startsWith(`${businessUnit}-000001,,c000001@${businessUnit}.example,`)).toBe(true);
		expect(lines[rows]?.startsWith(`${businessUnit}-${String(rows).padStart(6, "0")},`)).toBe(true);
		// In key order across the parts, each row once.
		const ids = lines.slice(1, -1).map((line) => line.slice(0, line.indexOf(",")));
		expect(new Set(ids).size).toBe(rows);
		expect([...ids].sort()).toEqual(ids);
	}, 180_000);
});

describe("GET /v1/exports/{id} and its download", () => {
	it("answers 409 for the download while the job is not done, and for a failed one", async () => {
		const id = newJobId("export");
		await insertJob(bindings, {
			id,
			kind: "export",
			businessUnit: null,
			options: { what: "contacts", filter: {}, columns: [] },
			resultKey: exportPrefix(id),
		});
		const pending = await api("GET", `/v1/exports/${id}/download`);
		expect(pending.status).toBe(409);
		expect(pending.headers.get("content-type")).toBe("application/problem+json");
		expect(await json(pending)).toMatchObject({ code: "CONFLICT", detail: expect.stringContaining("queued") });
		expect(await json(await api("GET", `/v1/exports/${id}`))).toMatchObject({ status: "queued", processed: 0 });
		await env.DB.prepare("UPDATE jobs SET status = 'failed', error = 'went wrong' WHERE id = ?").bind(id).run();
		const failed = await api("GET", `/v1/exports/${id}/download`);
		expect(failed.status).toBe(409);
		expect((await json(failed)).detail).toContain("went wrong");
		expect(await json(await api("GET", `/v1/exports/${id}`))).toMatchObject({ status: "failed", error: "went wrong" });
	});

	it("answers 404 for unknown and malformed ids and for jobs of other business units", async () => {
		for (const path of [
			"/v1/exports/nope",
			`/v1/exports/exp_${"0".repeat(32)}`,
			`/v1/exports/imp_${"0".repeat(32)}`,
			`/v1/exports/exp_${"0".repeat(32)}/download`,
		]) {
			const response = await api("GET", path);
			expect(response.status, path).toBe(404);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
		}
		const [de, at] = [unique("de"), unique("at")];
		const deKey = await createKey(["reports:read"], [de]);
		const atKey = await createKey(["reports:read"], [at]);
		// A limited key must name its unit, as for the synchronous export.
		expect((await api("POST", "/v1/exports/contacts", { key: deKey })).status).toBe(403);
		expect((await api("POST", `/v1/exports/contacts?businessUnit=${at}`, { key: deKey })).status).toBe(403);
		const id = await accepted(await api("POST", `/v1/exports/contacts?businessUnit=${de}`, { key: deKey }), "exports");
		expect((await finished(`/v1/exports/${id}`, deKey)).status).toBe("done");
		expect((await api("GET", `/v1/exports/${id}`, { key: atKey })).status).toBe(404);
		expect((await api("GET", `/v1/exports/${id}/download`, { key: atKey })).status).toBe(404);
		await (await download(id, deKey)).body?.cancel();
		// An import job is no export job, and the other way round.
		expect((await api("GET", `/v1/imports/${id}`)).status).toBe(404);
		// reports:read is needed.
		const writer = await createKey(["contacts:write"]);
		expect((await api("GET", `/v1/exports/${id}`, { key: writer })).status).toBe(403);
	});
});
