/**
 * An import stays within one invocation's budget (1,000 D1 queries plus Durable Object calls): new
 * contacts are created set-based, a chunk at a time; changes to existing contacts go through their
 * actors and stop the import at a chunk boundary when the next chunk would not fit. Going on from
 * that line applies the rest, and the two reports add up to exactly what the file says.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../../src/env";
import { ImportLimitError, type ImportReport, importContacts } from "../../../src/imports/importer";
import worker from "../../../src/index";
import { countingEnv, INVOCATION_BUDGET } from "../../budget";
import { ADMIN, BASE, unique } from "../../helpers";
import { bodyOf, importOptions } from "../../imports";

const bindings = env as unknown as Bindings;

async function ledgerCount(businessUnit: string) {
	const row = await env.DB.prepare(
		"SELECT count(*) AS n FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.business_unit = ?",
	)
		.bind(businessUnit)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

async function stateOf(businessUnit: string, email: string) {
	const row = await env.DB.prepare("SELECT consent FROM contacts WHERE business_unit = ? AND email = ?")
		.bind(businessUnit, email)
		.first<{ consent: string }>();
	return row ? JSON.parse(row.consent) : null;
}

/**
 * Imports the file invocation after invocation, each going on where the last one stopped, as an
 * import job does; each within the budget.
 */
async function importInInvocations(csv: string, businessUnit: string): Promise<ImportReport[]> {
	const reports: ImportReport[] = [];
	let fromLine = 0;
	for (;;) {
		const { env: counted, counts } = countingEnv(bindings);
		const outcome = await importContacts(counted, bodyOf(csv), importOptions(businessUnit, { fromLine })).catch(
			(error: unknown) => error,
		);
		expect(counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
		if (!(outcome instanceof ImportLimitError)) {
			reports.push(outcome as ImportReport);
			return reports;
		}
		expect(outcome.limit).toBe("budget");
		// Everything before the line applied and counted, nothing from it on.
		expect(outcome.line).toBeGreaterThan(fromLine);
		expect(reports.reduce((sum, r) => sum + r.processed, 0) + outcome.report.processed).toBe(outcome.line - 2);
		reports.push(outcome.report);
		fromLine = outcome.line;
	}
}

const SYNC_LIMIT_LINES = 5000;

describe("an import within the invocation budget", () => {
	it("creates 5,000 new contacts through the route with their ledger rows, in far fewer than 1,000 queries", async () => {
		const businessUnit = unique("bud");
		const lines = Array.from({ length: SYNC_LIMIT_LINES }, (_, i) => `n${i}@${businessUnit}.example,${i % 2 === 0}`);
		const csv = ["email,optedOut", ...lines].join("\n");
		const { env: counted, counts } = countingEnv(bindings);
		const ctx = createExecutionContext();
		const response = await worker.fetch(
			new Request(`${BASE}/v1/imports/contacts?businessUnit=${businessUnit}`, {
				method: "POST",
				headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/csv" },
				body: csv,
			}),
			counted,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		const report = (await response.json()) as ImportReport;
		expect(response.status, JSON.stringify(report)).toBe(200);
		expect(report).toMatchObject({ processed: SYNC_LIMIT_LINES, created: SYNC_LIMIT_LINES, failed: 0 });
		// An Opt Out for every other line; opting a new contact in changes nothing.
		expect(await ledgerCount(businessUnit)).toBe(SYNC_LIMIT_LINES / 2);
		expect((await stateOf(businessUnit, `n0@${businessUnit}.example`)).channels).toMatchObject({
			email: { optedOut: true },
		});
		expect(counts.durableObjectCalls).toBe(0);
		expect(counts.total).toBeLessThanOrEqual(INVOCATION_BUDGET);
	});

	it("stops before a chunk that would not fit, and going on from there applies the rest exactly once", async () => {
		const businessUnit = unique("bud");
		const emails = Array.from({ length: 1500 }, (_, i) => `e${i}@${businessUnit}.example`);
		const created = await importContacts(
			bindings,
			bodyOf(["email,optedOut", ...emails.map((email) => `${email},false`)].join("\n")),
			importOptions(businessUnit),
		);
		expect(created).toMatchObject({ created: 1500, failed: 0 });
		const before = await ledgerCount(businessUnit);

		// Every line changes an existing contact: one actor call each. A bad line in the middle too.
		const changes = ["email,optedOut", ...emails.map((email) => `${email},true`)];
		changes.splice(700, 0, "not-an-address,true");
		const reports = await importInInvocations(changes.join("\n"), businessUnit);
		expect(reports.length).toBeGreaterThan(1);
		const sum = (field: "processed" | "updated" | "failed") => reports.reduce((total, r) => total + r[field], 0);
		expect([sum("processed"), sum("updated"), sum("failed")]).toEqual([1501, 1500, 1]);
		expect(reports.flatMap((r) => r.errors).map((error) => error.line)).toEqual([701]);
		expect(await ledgerCount(businessUnit)).toBe(before + 1500);
		for (const email of [emails[0], emails[1499]]) {
			expect((await stateOf(businessUnit, email as string)).channels.email.optedOut).toBe(true);
		}
	});

	it("writes the part of a chunk that fits when the chunk alone is over the budget", async () => {
		const businessUnit = unique("bud");
		const users = Array.from({ length: 300 }, (_, i) => `${businessUnit}-u${i}`);
		await importContacts(
			bindings,
			bodyOf(["externalId,email", ...users.map((id) => `${id},${id}@example.de`)].join("\n")),
			importOptions(businessUnit),
		);
		const before = await ledgerCount(businessUnit);
		// A new phone (a profile change through the upsert functions) and an opt-out on every line.
		const phone = (i: number) => `+4915${String(100000000 + i).padStart(9, "0")}`;
		const csv = ["externalId,phone,optedOut", ...users.map((id, i) => `${id},${phone(i)},true`)].join("\n");
		const reports = await importInInvocations(csv, businessUnit);
		expect(reports.length).toBeGreaterThan(1);
		expect(reports.reduce((sum, r) => sum + r.updated, 0)).toBe(300);
		expect(reports.reduce((sum, r) => sum + r.processed, 0)).toBe(300);
		expect(await ledgerCount(businessUnit)).toBe(before + 300);
		const last = await env.DB.prepare("SELECT phone FROM contacts WHERE external_id = ?").bind(users[299]).first();
		expect(last).toEqual({ phone: phone(299) });
	});

	it("reports the line numbers of the whole file for a part of it", async () => {
		const businessUnit = unique("bud");
		const part = ["email,optedOut", `ok@${businessUnit}.example,true`, "broken,true"].join("\n");
		const report = await importContacts(bindings, bodyOf(part), importOptions(businessUnit, { lineOffset: 4000 }));
		expect(report).toMatchObject({ processed: 2, created: 1, failed: 1 });
		expect(report.errors.map((error) => error.line)).toEqual([4003]);
	});
});
