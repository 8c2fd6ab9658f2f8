/**
 * Imports as jobs through the API: POST answers 202 with a Location, the workflow imports the file
 * a part at a time, and GET /v1/imports/{id} answers the same report a synchronous import would,
 * with the line numbers of the whole file.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uploadKey } from "../../../src/jobs/import-job";
import { IMPORT_PART_LINES, SYNC_IMPORT_LINES } from "../../../src/jobs/limits";
import { api, json, putTopic, unique } from "../../helpers";
import { accepted, contactCount, createKey, finished, importFile, ledgerOf } from "./job-helpers";

describe("POST /v1/imports/contacts as a job", () => {
	it("imports a file of several parts: exact counts, line numbers of the whole file, contacts and ledger rows", async () => {
		const businessUnit = unique("job");
		const topic = unique("news");
		await putTopic(topic, { businessUnit });
		const lines: string[] = [];
		const bad = new Map<number, string>();
		// ~2.2 parts, with a bad line in each.
		for (let i = 0; i < Math.floor(IMPORT_PART_LINES * 2.2); i++) {
			if (i % 997 === 500) {
				lines.push(`not-an-address-${i},true,`);
				bad.set(i, "invalid_email");
			} else lines.push(`u${i}@${businessUnit}.example,${i % 2 === 0},${i % 3 === 0 ? "subscribed" : ""}`);
		}
		const csv = `email,optedOut,topic:${topic}\r\n${lines.join("\r\n")}\r\n`;
		const response = await importFile(csv, `businessUnit=${businessUnit}&async=true`, {
			headers: { "user-agent": "job-test/1.0" },
		});
		const id = await accepted(response, "imports");
		expect(id).toMatch(/^imp_[0-9a-f]{32}$/);

		const job = await finished(`/v1/imports/${id}`);
		const good = lines.length - bad.size;
		expect(job).toMatchObject({
			id,
			status: "done",
			total: lines.length,
			processed: lines.length,
			created: good,
			updated: 0,
			unchanged: 0,
			failed: bad.size,
			errorsTruncated: false,
		});
		expect(job.error).toBeUndefined();
		// Line numbers of the whole file: the header is line 1.
		expect(job.errors.map((error: { line: number }) => error.line)).toEqual([...bad.keys()].map((i) => i + 2));
		expect(job.errors[0]).toMatchObject({ error: "invalid_email" });
		expect(Date.parse(job.updatedAt)).toBeGreaterThanOrEqual(Date.parse(job.createdAt));

		expect(await contactCount(businessUnit)).toBe(good);
		const ledger = await ledgerOf(businessUnit);
		const optedOut = lines.filter((line, i) => !bad.has(i) && line.split(",")[1] === "true").length;
		const subscribed = lines.filter((line, i) => !bad.has(i) && line.includes("subscribed")).length;
		expect(ledger.filter((row) => row.event === "Opt Out")).toHaveLength(optedOut);
		expect(ledger.filter((row) => row.event === "Subscribe")).toHaveLength(subscribed);
		expect(ledger.every((row) => row.source === "import")).toBe(true);
		// The upload is gone once the job is done.
		expect(await env.JOB_FILES.head(uploadKey(id))).toBeNull();

		// The same file again: a job that changes nothing.
		const again = await finished(
			`/v1/imports/${await accepted(await importFile(csv, `businessUnit=${businessUnit}&async=true`), "imports")}`,
		);
		expect(again).toMatchObject({ status: "done", created: 0, unchanged: good, failed: bad.size });
		expect(await ledgerOf(businessUnit)).toHaveLength(ledger.length);
	}, 120_000);

	it("reports line numbers of the whole file across quoted line breaks and parts", async () => {
		const businessUnit = unique("job");
		// Each record spans two physical lines; the bad ones are after the first part.
		const records = Array.from({ length: IMPORT_PART_LINES + 10 }, (_, i) =>
			i === IMPORT_PART_LINES + 4 ? `bad-${i},"two\nlines"` : `m${i}@${businessUnit}.example,"two\nlines"`,
		);
		const csv = `email,note\n${records.join("\n")}\n`;
		const id = await accepted(
			await importFile(csv, `businessUnit=${businessUnit}&async=true&unknownColumns=ignore`),
			"imports",
		);
		const job = await finished(`/v1/imports/${id}`);
		expect(job).toMatchObject({ status: "done", processed: records.length, created: records.length - 1, failed: 1 });
		// Record i starts on physical line 2 + 2i.
		expect(job.errors).toEqual([
			{ line: 2 + 2 * (IMPORT_PART_LINES + 4), error: "invalid_email", message: expect.any(String) },
		]);
	}, 60_000);

	it("takes NDJSON", async () => {
		const businessUnit = unique("job");
		const lines = Array.from({ length: 30 }, (_, i) =>
			JSON.stringify({ email: `n${i}@${businessUnit}.example`, optedOut: true }),
		);
		lines.splice(10, 0, "{not json");
		const id = await accepted(
			await importFile(`${lines.join("\n")}\n`, `businessUnit=${businessUnit}&async=true`, {
				contentType: "application/x-ndjson",
			}),
			"imports",
		);
		const job = await finished(`/v1/imports/${id}`);
		expect(job).toMatchObject({ status: "done", total: 31, processed: 31, created: 30, failed: 1 });
		expect(job.errors.map((error: { line: number }) => error.line)).toEqual([11]);
	});

	it("makes a job of a file over the synchronous limit, without applying anything in the request", async () => {
		const businessUnit = unique("job");
		const csv = (n: number) =>
			`email,optedOut\n${Array.from({ length: n }, (_, i) => `o${i}@${businessUnit}.example,true`).join("\n")}\n`;
		const response = await importFile(csv(SYNC_IMPORT_LINES + 1), `businessUnit=${businessUnit}`);
		const id = await accepted(response, "imports");
		// Nothing was imported by the request itself: the job has every line.
		const job = await finished(`/v1/imports/${id}`);
		expect(job).toMatchObject({ status: "done", total: SYNC_IMPORT_LINES + 1, created: SYNC_IMPORT_LINES + 1 });
		// At the limit, the request imports it itself.
		const other = unique("job");
		const inline = await importFile(csv(SYNC_IMPORT_LINES).replaceAll(businessUnit, other), `businessUnit=${other}`);
		expect(inline.status).toBe(200);
		expect(await json(inline)).toMatchObject({ processed: SYNC_IMPORT_LINES, created: SYNC_IMPORT_LINES });
	}, 120_000);

	it("makes a job of a body over 1 MiB, with or without Content-Length (streamed to R2)", async () => {
		const businessUnit = unique("job");
		// ~9 MiB in 1,000 lines: more than one multipart part when the length is not known.
		const filler = "x".repeat(9500);
		const csv = `email,note\n${Array.from({ length: 1000 }, (_, i) => `b${i}@${businessUnit}.example,${filler}`).join("\n")}\n`;
		const bytes = new TextEncoder().encode(csv);
		expect(bytes.length).toBeGreaterThan(9 * 1024 * 1024);
		const chunked = new ReadableStream<Uint8Array>({
			start(controller) {
				for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.slice(at, at + 65_536));
				controller.close();
			},
		});
		const withoutLength = await accepted(
			await importFile(chunked, `businessUnit=${businessUnit}&unknownColumns=ignore`),
			"imports",
		);
		const withLength = await accepted(
			await importFile(bytes, `businessUnit=${businessUnit}&unknownColumns=ignore`, {
				headers: { "content-length": String(bytes.length) },
			}),
			"imports",
		);
		expect(await finished(`/v1/imports/${withoutLength}`)).toMatchObject({ status: "done", processed: 1000 });
		expect(await finished(`/v1/imports/${withLength}`)).toMatchObject({ status: "done", processed: 1000 });
		expect(await contactCount(businessUnit)).toBe(1000);
	}, 120_000);

	it("hands the rest of a file to a job when the request reaches its budget; the counts add up exactly", async () => {
		const businessUnit = unique("job");
		const emails = Array.from({ length: 1500 }, (_, i) => `c${i}@${businessUnit}.example`);
		const created = await importFile(
			`email,optedOut\n${emails.map((email) => `${email},false`).join("\n")}\n`,
			`businessUnit=${businessUnit}`,
		);
		expect(await json(created)).toMatchObject({ created: 1500 });
		const before = (await ledgerOf(businessUnit)).length;
		// Every line changes an existing contact: one actor call each, more than one request may make.
		const changes = `email,optedOut\n${emails.map((email) => `${email},true`).join("\n")}\nnope,true\n`;
		const id = await accepted(await importFile(changes, `businessUnit=${businessUnit}`), "imports");
		const job = await finished(`/v1/imports/${id}`);
		expect(job).toMatchObject({ status: "done", total: 1501, processed: 1501, updated: 1500, failed: 1 });
		expect(job.errors).toEqual([{ line: 1502, error: "invalid_email", message: expect.any(String) }]);
		expect((await ledgerOf(businessUnit)).length).toBe(before + 1500);
	}, 120_000);

	it("checks the header before it stores anything (400), and refuses bodies over the job limit (413)", async () => {
		const businessUnit = unique("job");
		const response = await importFile("email,shoeSize\na@example.de,44\n", `businessUnit=${businessUnit}&async=true`);
		expect(response.status).toBe(400);
		expect((await json(response)).code).toBe("VALIDATION_FAILED");
		const jobs = await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE options ->> '$.businessUnit' = ?")
			.bind(businessUnit)
			.first<{ n: number }>();
		expect(jobs?.n).toBe(0);

		const tooLarge = await importFile(
			new ReadableStream({
				start(controller) {
					controller.enqueue(new TextEncoder().encode("email\n"));
					controller.close();
				},
			}),
			"async=true",
			{ headers: { "content-length": String(200 * 1024 * 1024 + 1) } },
		);
		expect(tooLarge.status).toBe(413);
		expect((await json(tooLarge)).code).toBe("PAYLOAD_TOO_LARGE");
	});

	it("fails a job whose file has more than 1,000,000 lines, importing nothing", async () => {
		const businessUnit = unique("job");
		const csv = `email\n${`z@${businessUnit}.example\n`}${"x\n".repeat(1_000_000)}`;
		const id = await accepted(await importFile(csv, `businessUnit=${businessUnit}`), "imports");
		const job = await finished(`/v1/imports/${id}`, undefined, 120_000);
		expect(job).toMatchObject({ status: "failed", processed: 0 });
		expect(job.error).toContain("more than 1,000,000 lines");
		expect(await contactCount(businessUnit)).toBe(0);
		expect(await env.JOB_FILES.head(uploadKey(id))).toBeNull();
	}, 180_000);
});

describe("GET /v1/imports/{id}", () => {
	it("answers 404 for unknown and malformed ids, and for jobs of business units the key may not read", async () => {
		for (const id of ["nope", "imp_00000000000000000000000000000000", `exp_${"0".repeat(32)}`, "x".repeat(300)]) {
			const response = await api("GET", `/v1/imports/${id}`);
			expect(response.status, id).toBe(404);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
		}
		const [de, at] = [unique("de"), unique("at")];
		const deKey = await createKey(["contacts:write", "events:write"], [de]);
		const atKey = await createKey(["contacts:write", "events:write"], [at]);
		const id = await accepted(
			await importFile(`email\nk@${de}.example\n`, `businessUnit=${de}&async=true`, { key: deKey }),
			"imports",
		);
		expect((await finished(`/v1/imports/${id}`, deKey)).status).toBe("done");
		expect((await api("GET", `/v1/imports/${id}`, { key: atKey })).status).toBe(404);
		// Unlimited keys read every job; a key limited to units never reads an unlimited key's job.
		expect((await api("GET", `/v1/imports/${id}`)).status).toBe(200);
		const adminJob = await accepted(
			await importFile(`email\nk@${de}.example\n`, `businessUnit=${de}&async=true`),
			"imports",
		);
		expect((await api("GET", `/v1/imports/${adminJob}`, { key: deKey })).status).toBe(404);
		// The import's scopes: reading a job needs them too.
		const readOnly = await createKey(["reports:read"]);
		expect((await api("GET", `/v1/imports/${id}`, { key: readOnly })).status).toBe(403);
		const contactsOnly = await createKey(["contacts:write"]);
		expect((await api("GET", `/v1/imports/${id}`, { key: contactsOnly })).status).toBe(403);
		await finished(`/v1/imports/${adminJob}`);
	});
});
