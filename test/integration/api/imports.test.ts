import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../../src/env";
import { ImportLimitError, type ImportOptions, importContacts } from "../../../src/imports/importer";
import { api, eventually, json, postEvents, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";

const bindings = env as unknown as Bindings;

function importFile(
	body: BodyInit,
	query = "",
	options: { key?: string; contentType?: string; headers?: Record<string, string> } = {},
) {
	return api("POST", `/v1/imports/contacts${query ? `?${query}` : ""}`, {
		raw: body,
		key: options.key,
		headers: { "content-type": options.contentType ?? "text/csv", ...options.headers },
	});
}

async function report(response: Response) {
	const body = await json(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	return body;
}

const user = async (externalId: string) => json(await api("GET", `/v1/users/${encodeURIComponent(externalId)}`));
const lead = async (email: string, businessUnit: string) =>
	api("GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=${businessUnit}`);

/** Ledger rows of the contacts of a business unit. */
async function ledgerOf(businessUnit: string) {
	const { results } = await env.DB.prepare(
		`SELECT l.event, l.channel, l.topic, l.source, l.changed, l.occurred_at, l.idempotency_key, l.properties, c.email, c.external_id
		 FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.business_unit = ? ORDER BY l.id`,
	)
		.bind(businessUnit)
		.all<Record<string, string | number | null>>();
	return results;
}

async function createKey(scopes: string[], businessUnits?: string[]): Promise<string> {
	const response = await api("POST", "/v1/api-keys", {
		body: { name: unique("key"), scopes, ...(businessUnits ? { businessUnits } : {}) },
	});
	return (await json(response)).key;
}

describe("POST /v1/imports/contacts (CSV)", () => {
	it("creates users and leads, in any column order, and applies their consent as import events", async () => {
		const businessUnit = unique("imp");
		const topic = unique("news");
		await putTopic(topic, { businessUnit });
		const [userId, userEmail, leadEmail, phone] = [unique("u"), uniqueEmail(), uniqueEmail(), uniquePhone()];
		const csv = [
			`businessUnit,optedOut,email,topic:${topic},externalId,phone,blocked`,
			`${businessUnit},false,${userEmail.toUpperCase()},subscribed,${userId},,`,
			`${businessUnit},true,${leadEmail},unsubscribed,,${phone},no`,
			`${businessUnit},,,,,${uniquePhone()},yes`,
		].join("\n");
		const result = await report(await importFile(csv, "", { headers: { "user-agent": "importer/1.0" } }));
		expect(result).toEqual({
			processed: 3,
			created: 3,
			updated: 0,
			unchanged: 0,
			failed: 0,
			errors: [],
			errorsTruncated: false,
		});

		const imported = await user(userId);
		expect(imported).toMatchObject({ email: userEmail, businessUnit, phone: null });
		expect(imported.consent.topics[topic].status).toBe("subscribed");
		expect(imported.consent.channels).toEqual({});
		const leadContact = await json(await lead(leadEmail, businessUnit));
		expect(leadContact).toMatchObject({ phone, externalId: null });
		// optedOut without ?channel= is an opt-out of every channel.
		expect(Object.keys(leadContact.consent.channels).sort()).toEqual(["email", "push", "sms", "whatsapp"]);
		expect(leadContact.consent.topics[topic].status).toBe("unsubscribed");

		// Contacts are written in parallel; each contact's events in order.
		const ledger = await ledgerOf(businessUnit);
		expect(ledger.map((row) => `${row.email ?? "phone"} ${row.event} ${row.source}`).sort()).toEqual(
			[
				`${userEmail} Subscribe import`,
				`${leadEmail} Unsubscribe import`,
				`${leadEmail} Opt Out import`,
				"phone Block import",
			].sort(),
		);
		expect(ledger.filter((row) => row.email === leadEmail).map((row) => row.event)).toEqual(["Unsubscribe", "Opt Out"]);
		expect(ledger.every((row) => String(row.idempotency_key).startsWith("import:"))).toBe(true);
	});

	it("reports bad lines by physical line number and applies the good ones", async () => {
		const businessUnit = unique("imp");
		const topic = unique("news");
		const elsewhere = unique("news");
		await putTopic(topic, { businessUnit });
		await putTopic(elsewhere, { businessUnit: "somewhere-else" });
		const good = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
		const csv = [
			`email,phone,optedOut,topic:${topic},topic:${elsewhere}`,
			`${good[0]},,true,,`,
			"not-an-email,,true,,",
			`${uniqueEmail()},,maybe,,`,
			`${uniqueEmail()},,,sometimes,`,
			`${uniqueEmail()},,,,subscribed`,
			`${uniqueEmail()},,true`,
			`${good[1]},,false,subscribed,`,
			`${uniqueEmail()},12345,,,`,
			",,true,,",
			`${uniqueEmail()},,"unterminated,,`,
		].join("\r\n");
		// The last line's open quote runs to the end of the file: one error, on its line.
		const result = await report(await importFile(`${csv}\r\n${good[2]},,true,,\r\n`, `businessUnit=${businessUnit}`));
		expect(result.errors).toEqual([
			{ line: 3, error: "invalid_email", message: 'email: "not-an-email" is not a valid email address' },
			{ line: 4, error: "invalid_boolean", message: 'optedOut: "maybe" is not true or false' },
			{ line: 5, error: "invalid_topic_status", message: expect.stringContaining('"sometimes"') },
			{ line: 6, error: "unknown_topic", message: `unknown topic "${elsewhere}" for business unit "${businessUnit}"` },
			{ line: 7, error: "field_count", message: "3 fields where the header has 5" },
			{ line: 9, error: "invalid_phone", message: expect.stringContaining("12345") },
			{ line: 10, error: "missing_identity", message: "the line names no externalId, email or phone" },
			{ line: 11, error: "malformed_csv", message: "a quoted field is not closed" },
		]);
		expect(result).toMatchObject({ processed: 10, created: 2, updated: 0, unchanged: 0, failed: 8 });
		expect((await json(await lead(good[0] as string, businessUnit))).consent.channels.email.optedOut).toBe(true);
		expect((await json(await lead(good[1] as string, businessUnit))).consent.topics[topic].status).toBe("subscribed");
	});

	it("reads a BOM, CRLF, quoted commas, doubled quotes and quoted line breaks; line numbers stay physical", async () => {
		const businessUnit = unique("imp");
		const [a, b] = [`${unique("u")}, "the first"`, unique("u")];
		const csv =
			"\uFEFFexternalId,email,note,blocked\r\n" +
			`"${a.replaceAll('"', '""')}",${uniqueEmail()},"a note, with a comma\r\nand a second line",true\r\n` +
			`${b},${uniqueEmail()},plain,false\r\n` +
			`${unique("u")},broken,"x",true\r\n`;
		const result = await report(await importFile(csv, `businessUnit=${businessUnit}&unknownColumns=ignore`));
		expect(result).toMatchObject({ processed: 3, created: 2, failed: 1 });
		// The note of line 2 spans two physical lines: the broken line is line 5.
		expect(result.errors).toEqual([{ line: 5, error: "invalid_email", message: expect.any(String) }]);
		expect((await user(a)).consent.blocked).toBe(true);
		expect((await user(b)).consent.blocked).toBe(false);
	});

	it("is idempotent: the same file again adds no ledger row; a changed value applies, and a value that comes back too", async () => {
		const businessUnit = unique("imp");
		const topic = unique("news");
		await putTopic(topic, { businessUnit });
		const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
		const file = (optedOut: string) =>
			[
				`email,optedOut:email,topic:${topic},blocked`,
				`${emails[0]},${optedOut},subscribed,false`,
				`${emails[1]},true,unsubscribed,`,
				`${emails[2]},false,,true`,
			].join("\n");
		const first = await report(await importFile(file("true"), `businessUnit=${businessUnit}`));
		expect(first).toMatchObject({ created: 3, failed: 0 });
		const rowsAfterFirst = (await ledgerOf(businessUnit)).length;
		expect(rowsAfterFirst).toBe(5);

		const again = await report(await importFile(file("true"), `businessUnit=${businessUnit}`));
		expect(again).toMatchObject({ processed: 3, created: 0, updated: 0, unchanged: 3, failed: 0 });
		expect(await ledgerOf(businessUnit)).toHaveLength(rowsAfterFirst);

		const changed = await report(await importFile(file("false"), `businessUnit=${businessUnit}`));
		expect(changed).toMatchObject({ updated: 1, unchanged: 2 });
		const back = await report(await importFile(file("true"), `businessUnit=${businessUnit}`));
		expect(back).toMatchObject({ updated: 1, unchanged: 2 });
		const ledger = await ledgerOf(businessUnit);
		expect(ledger.slice(rowsAfterFirst).map((row) => [row.email, row.event])).toEqual([
			[emails[0], "Opt In"],
			[emails[0], "Opt Out"],
		]);
		expect(new Set(ledger.map((row) => row.idempotency_key)).size).toBe(ledger.length);
	});

	it("records nothing for an old line that the contact's history outdates, however often it is imported", async () => {
		const businessUnit = unique("imp");
		const email = uniqueEmail();
		// Email said no just now; the file is from January and opts in to every channel. Without the
		// history the importer sees email's opt-out as newer but the other channels as never set, so it
		// sends the Opt In; the actor replays it in time order: email stays out, and the other channels
		// were never out: nothing changes, and nothing is recorded.
		expect((await postEvents({ email, businessUnit }, [{ event: "Opt Out", channel: "email" }])).status).toBe(200);
		const csv = `email,optedOut,timestamp\n${email},false,2026-01-15\n`;
		for (let i = 0; i < 3; i++) {
			const result = await report(await importFile(csv, `businessUnit=${businessUnit}`));
			expect(result).toMatchObject({ processed: 1, updated: 0, unchanged: 1, failed: 0 });
		}
		expect((await ledgerOf(businessUnit)).map((row) => [row.event, row.channel, row.source])).toEqual([
			["Opt Out", "email", "api"],
		]);
		expect((await json(await lead(email, businessUnit))).consent.channels.email.optedOut).toBe(true);
	});

	it("handles duplicate lines in one file in order: the last value wins, an exact repeat changes nothing", async () => {
		const businessUnit = unique("imp");
		const email = uniqueEmail();
		const csv = ["email,optedOut", `${email},true`, `${email},true`, `${email.toUpperCase()},false`].join("\n");
		const result = await report(await importFile(csv, `businessUnit=${businessUnit}&channel=email`));
		expect(result).toMatchObject({ processed: 3, created: 1, updated: 1, unchanged: 1, failed: 0 });
		expect((await json(await lead(email, businessUnit))).consent.channels.email.optedOut).toBe(false);
		expect((await ledgerOf(businessUnit)).map((row) => row.event)).toEqual(["Opt Out", "Opt In"]);
	});

	it("refuses to create contacts for suppressed addresses of erased contacts, but updates existing ones", async () => {
		const businessUnit = unique("imp");
		const [gone, goneToo, back] = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
		for (const email of [gone, goneToo, back]) {
			await postEvents({ email, businessUnit }, [{ event: "Opt Out" }]);
			expect((await api("DELETE", `/v1/leads?email=${email}&businessUnit=${businessUnit}`)).status).toBe(204);
		}
		// `back` returned through the API: a contact exists again, so the import may change it.
		expect((await api("PUT", "/v1/leads", { body: { email: back, businessUnit: "other" } })).status).toBe(201);
		const csv = [
			"externalId,email,businessUnit,optedOut",
			`,${gone},${businessUnit},true`,
			`${unique("u")},${goneToo},,false`,
			`,${back},other,true`,
		].join("\n");
		const result = await report(await importFile(csv, `businessUnit=${businessUnit}`));
		expect(result.errors).toEqual([
			{ line: 2, error: "suppressed", message: expect.stringContaining("erased contact") },
			{ line: 3, error: "suppressed", message: expect.stringContaining("erased contact") },
		]);
		expect(result).toMatchObject({ processed: 3, updated: 1, failed: 2 });
		expect((await lead(gone, businessUnit)).status).toBe(404);
		expect((await json(await lead(back, "other"))).consent.channels.email.optedOut).toBe(true);
	});

	it("imports a SendGrid suppression export (email, created) as email opt-outs, at their own time when asked", async () => {
		const businessUnit = unique("imp");
		const [a, b, known] = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
		// Opted in again (June 2024) after the unsubscribe SendGrid recorded (January 2024).
		await postEvents({ email: known, businessUnit }, [
			{ event: "Opt Out", channel: "email", timestamp: "2024-05-01T00:00:00Z" },
			{ event: "Opt In", channel: "email", timestamp: "2024-06-01T00:00:00Z" },
		]);
		const before = (await ledgerOf(businessUnit)).length;
		const sendgrid = `email,created\r\n${a},1700000000\r\n${b},1700003600\r\n${known},1704067200\r\n`;
		const query = `businessUnit=${businessUnit}&channel=email&optedOut=true`;

		// With `created` renamed to `timestamp`, each opt-out happened when SendGrid says: the older
		// unsubscribe of `known` does not undo the later opt-in.
		const timed = await report(await importFile(sendgrid.replace("email,created", "email,timestamp"), query));
		expect(timed).toMatchObject({ processed: 3, created: 2, updated: 0, unchanged: 1, failed: 0 });
		const rows = (await ledgerOf(businessUnit)).slice(before);
		expect(rows.find((row) => row.email === a)).toMatchObject({
			event: "Opt Out",
			channel: "email",
			occurred_at: "2023-11-14T22:13:20.000Z",
		});
		expect((await json(await lead(a, businessUnit))).consent.channels).toEqual({
			email: expect.objectContaining({ optedOut: true }),
		});
		expect((await json(await lead(known, businessUnit))).consent.channels.email.optedOut).toBe(false);

		// The raw export, its `created` column skipped: the opt-outs happen now, and win.
		const raw = await report(await importFile(sendgrid, `${query}&unknownColumns=ignore`));
		expect(raw).toMatchObject({ processed: 3, created: 0, updated: 1, unchanged: 2, failed: 0 });
		expect((await json(await lead(known, businessUnit))).consent.channels.email.optedOut).toBe(true);
	});

	it("imports a Mailchimp unsubscribed export with unknownColumns=ignore", async () => {
		const businessUnit = unique("imp");
		const [a, b] = [uniqueEmail(), uniqueEmail()];
		const mailchimp = [
			'"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_REASON,LEID,EUID,NOTES,TAGS',
			`${a},Ann,"O'Neil",2,"2020-01-01 10:00:00","2023-05-01 12:00:00","Spring, sale",NORMAL,123,abc,,"""vip"""`,
			`${b},Bob,,1,,"2023-06-01 12:00:00",,,124,abd,,`,
		].join("\r\n");
		expect((await importFile(mailchimp, `businessUnit=${businessUnit}&optedOut=true`)).status).toBe(400);
		const result = await report(
			await importFile(mailchimp, `businessUnit=${businessUnit}&channel=email&optedOut=true&unknownColumns=ignore`),
		);
		expect(result).toMatchObject({ processed: 2, created: 2, failed: 0 });
		expect((await json(await lead(b, businessUnit))).consent.channels.email.optedOut).toBe(true);
	});

	it("maps topic statuses: subscribed on a double-opt-in topic is a confirmation, pending a Subscribe", async () => {
		const businessUnit = unique("imp");
		const doi = unique("doi");
		const plain = unique("news");
		await putTopic(doi, { businessUnit, doubleOptIn: true });
		await putTopic(plain, { businessUnit });
		const [confirmed, asked, wrong] = [uniqueEmail(), uniqueEmail(), uniqueEmail()];
		const csv = [
			`email,topic:${doi},topic:${plain}`,
			`${confirmed},Subscribed,subscribed`,
			`${asked},pending,`,
			`${wrong},,pending`,
		].join("\n");
		const result = await report(await importFile(csv, `businessUnit=${businessUnit}`));
		expect(result.errors).toEqual([
			{ line: 4, error: "invalid_topic_status", message: expect.stringContaining("double-opt-in") },
		]);
		expect((await json(await lead(confirmed, businessUnit))).consent.topics[doi].status).toBe("subscribed");
		expect((await json(await lead(asked, businessUnit))).consent.topics[doi].status).toBe("pending");
		const ledger = await ledgerOf(businessUnit);
		expect(ledger.filter((row) => row.email === confirmed).map((row) => [row.event, row.topic])).toEqual([
			["Confirm Subscription", doi],
			["Subscribe", plain],
		]);
		const pending = ledger.filter((row) => row.email === asked);
		expect(pending.map((row) => [row.event, row.topic])).toEqual([["Subscribe", doi]]);
		// A pending import gets its confirmation link, as a sign-up would (the outbound webhook carries it).
		expect(JSON.parse(pending[0]?.properties as string).confirmUrl).toMatch(/\/c\//);
	});

	it("re-imports its own contacts export without changing anything", async () => {
		const businessUnit = unique("imp");
		const topic = unique("news");
		await putTopic(topic, { businessUnit });
		const [a, b] = [unique("u"), uniqueEmail()];
		await api("PUT", `/v1/users/${a}`, { body: { email: uniqueEmail(), phone: uniquePhone(), businessUnit } });
		await postEvents({ id: a }, [
			{ event: "Subscribe", topic },
			{ event: "Opt Out", channel: "email" },
			{ event: "Block" },
		]);
		await postEvents({ email: b, businessUnit }, [
			{ event: "Subscribe", topic },
			{ event: "Bounce", channel: "email", properties: { type: "hard" } },
		]);
		const before = (await ledgerOf(businessUnit)).length;
		const exported = await api("GET", `/v1/exports/contacts.csv?businessUnit=${businessUnit}`);
		expect(exported.status).toBe(200);
		const result = await report(await importFile(await exported.text(), `businessUnit=${businessUnit}`));
		expect(result).toMatchObject({ processed: 2, created: 0, updated: 0, unchanged: 2, failed: 0 });
		expect(await ledgerOf(businessUnit)).toHaveLength(before);
		// The topic is still subscribed underneath the opt-out (the export showed it as unsubscribed in effect).
		expect((await user(a)).consent.topics[topic].status).toBe("unsubscribed");
		const stored = await env.DB.prepare("SELECT consent FROM contacts WHERE external_id = ?")
			.bind(a)
			.first<{ consent: string }>();
		expect(JSON.parse(stored?.consent as string).topics[topic].status).toBe("subscribed");
	});

	it("turns a lead into the user that names its email, and moves nothing without a reason", async () => {
		const businessUnit = unique("imp");
		const email = uniqueEmail();
		const { id } = await json(await postEvents({ email, businessUnit }, [{ event: "Opt Out", channel: "sms" }]));
		const externalId = unique("u");
		const result = await report(
			await importFile(`externalId,email,businessUnit\n${externalId},${email},${businessUnit}\n`),
		);
		expect(result).toMatchObject({ created: 0, updated: 1 });
		expect(await user(externalId)).toMatchObject({ id, email });
		// A line without externalId for the email of a user applies to that user.
		const again = await report(
			await importFile(`email,optedOut:sms\n${email},false\n`, `businessUnit=${businessUnit}`),
		);
		expect(again).toMatchObject({ updated: 1 });
		expect((await user(externalId)).consent.channels.sms.optedOut).toBe(false);
		// Another user with this email: EXTERNAL_IDS_MISMATCH, per line.
		const clash = await report(
			await importFile(`externalId,email\n${unique("u")},${email}\n`, `businessUnit=${businessUnit}`),
		);
		expect(clash.errors).toEqual([{ line: 2, error: "external_ids_mismatch", message: expect.any(String) }]);
	});

	it("answers 400 for a bad header and writes nothing", async () => {
		const businessUnit = unique("imp");
		const email = uniqueEmail();
		for (const header of [
			"email,optedout,colour",
			"email,email",
			"optedOut,blocked",
			"email,topic:no-such-topic",
			"email,",
			"",
		]) {
			const response = await importFile(`${header}\n${email},true,x\n`, `businessUnit=${businessUnit}`);
			expect(response.status, header).toBe(400);
			expect((await json(response)).code).toBe("VALIDATION_FAILED");
		}
		expect((await importFile("", `businessUnit=${businessUnit}`)).status).toBe(400);
		expect(await ledgerOf(businessUnit)).toEqual([]);
		expect((await lead(email, businessUnit)).status).toBe(404);
		expect((await importFile(`email\n${email}\n`, "unknown=1")).status).toBe(400);
		expect((await importFile(`email\n${email}\n`, "optedOut=perhaps")).status).toBe(400);
	});

	it("answers 415 for other media types and charsets", async () => {
		expect((await importFile("email\n", "", { contentType: "application/json" })).status).toBe(415);
		expect((await importFile("email\n", "", { contentType: "text/csv; charset=windows-1252" })).status).toBe(415);
		const ok = await importFile("email\n", "", { contentType: "text/csv; charset=UTF-8" });
		expect(await report(ok)).toMatchObject({ processed: 0 });
	});

	it("answers 413 when Content-Length is over the job limit (200 MiB), before reading", async () => {
		const body = new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(new TextEncoder().encode("email\n"));
				controller.close();
			},
		});
		const response = await importFile(body, "", { headers: { "content-length": String(200 * 1024 * 1024 + 1) } });
		expect(response.status).toBe(413);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect((await json(response)).code).toBe("PAYLOAD_TOO_LARGE");
		// The 1 MiB limit of every other route stays.
		const big = await api("PUT", "/v1/leads", {
			raw: "x".repeat(1024 * 1024 + 1),
			headers: { "content-type": "application/json" },
		});
		expect(big.status).toBe(413);
	});

	it("lists at most 1,000 failed lines and says so", async () => {
		const result = await report(await importFile(`email\n${"not-an-email\n".repeat(1500)}`));
		expect(result).toMatchObject({ processed: 1500, failed: 1500, errorsTruncated: true });
		expect(result.errors).toHaveLength(1000);
		expect(result.errors.at(-1)).toMatchObject({ line: 1001, error: "invalid_email" });
	});

	it("imports a file over 5,000 lines as a job (202), the lines checked by the job", async () => {
		const businessUnit = unique("imp");
		const email = uniqueEmail();
		const csv = `email,optedOut\n${email},true\n${"x,true\n".repeat(5_000)}`;
		const response = await importFile(csv, `businessUnit=${businessUnit}`);
		expect(response.status).toBe(202);
		const { id } = await json(response);
		expect(response.headers.get("location")).toBe(`/v1/imports/${id}`);
		const job = await eventually(
			async () => {
				const state = await json(await api("GET", `/v1/imports/${id}`));
				return state.status === "done" ? state : null;
			},
			"the import job",
			60_000,
		);
		expect(job).toMatchObject({ total: 5001, processed: 5001, created: 1, failed: 5000, errorsTruncated: true });
		expect((await json(await lead(email, businessUnit))).consent.channels.email.optedOut).toBe(true);
	}, 60_000);

	it("needs contacts:write and events:write; keys limited to business units import into those only", async () => {
		const businessUnit = unique("imp");
		const email = uniqueEmail();
		const contactsOnly = await createKey(["contacts:write"]);
		expect((await importFile(`email\n${email}\n`, "", { key: contactsOnly })).status).toBe(403);
		const eventsOnly = await createKey(["events:write"]);
		expect((await importFile(`email\n${email}\n`, "", { key: eventsOnly })).status).toBe(403);
		const limited = await createKey(["contacts:write", "events:write"], [businessUnit]);
		expect((await importFile(`email\n${email}\n`, "businessUnit=other", { key: limited })).status).toBe(403);
		const result = await report(
			await importFile(
				`email,businessUnit\n${email},${businessUnit}\n${uniqueEmail()},other\n${uniqueEmail()},\n`,
				"",
				{
					key: limited,
				},
			),
		);
		expect(result.errors).toEqual([
			{ line: 3, error: "forbidden_business_unit", message: 'this key may not use business unit "other"' },
			{ line: 4, error: "forbidden_business_unit", message: 'this key may not use business unit "default"' },
		]);
		expect(result).toMatchObject({ created: 1, failed: 2 });
	});
});

describe("POST /v1/imports/contacts (NDJSON)", () => {
	it("takes one object per line with the same fields, topics as fields or as an object", async () => {
		const businessUnit = unique("imp");
		const [t1, t2] = [unique("news"), unique("news")];
		await putTopic(t1, { businessUnit });
		await putTopic(t2, { businessUnit, channel: "sms" });
		const externalId = 4711_000_000 + Math.floor(Math.random() * 1_000_000);
		const [a, b] = [uniqueEmail(), uniqueEmail()];
		const phone = uniquePhone();
		const lines = [
			JSON.stringify({ externalId, email: a, businessUnit, optedOut: false, topics: { [t1]: "subscribed" } }),
			"",
			JSON.stringify({ email: b, businessUnit, [`topic:${t1}`]: "unsubscribed", "optedOut:sms": true, blocked: null }),
			JSON.stringify({ phone, businessUnit, [`topic:${t2}`]: "subscribed", timestamp: "2026-01-01T00:00:00+01:00" }),
			"{not json",
			JSON.stringify(["an", "array"]),
			JSON.stringify({ email: uniqueEmail(), colour: "blue" }),
			JSON.stringify({ email: uniqueEmail(), optedOut: "sometimes" }),
			JSON.stringify({ email: uniqueEmail(), topics: { [t1]: "subscribed" }, [`topic:${t1}`]: "subscribed" }),
		].join("\n");
		const result = await report(await importFile(`\uFEFF${lines}\r\n`, "", { contentType: "application/x-ndjson" }));
		expect(result.errors).toEqual([
			{ line: 5, error: "malformed_json", message: "the line is not valid JSON" },
			{ line: 6, error: "malformed_json", message: "the line is not a JSON object" },
			{ line: 7, error: "unknown_field", message: 'unknown field "colour"' },
			{ line: 8, error: "invalid_boolean", message: expect.any(String) },
			{ line: 9, error: "duplicate_field", message: expect.any(String) },
		]);
		expect(result).toMatchObject({ processed: 8, created: 3, failed: 5 });
		expect((await user(String(externalId))).consent.topics[t1].status).toBe("subscribed");
		const bLead = await json(await lead(b, businessUnit));
		expect(bLead.consent.topics[t1].status).toBe("unsubscribed");
		expect(bLead.consent.channels.sms.optedOut).toBe(true);
		const ledger = await ledgerOf(businessUnit);
		expect(ledger.find((row) => row.topic === t2)).toMatchObject({
			event: "Subscribe",
			channel: "sms",
			occurred_at: "2025-12-31T23:00:00.000Z",
		});

		const ignored = await report(
			await importFile(
				JSON.stringify({ email: uniqueEmail(), businessUnit, colour: "blue" }),
				"unknownColumns=ignore",
				{
					contentType: "application/x-ndjson",
				},
			),
		);
		expect(ignored).toMatchObject({ created: 1, failed: 0 });
	});
});

describe("importContacts limits", () => {
	const options = (businessUnit: string, limits: Partial<ImportOptions>): ImportOptions => ({
		format: "csv",
		businessUnit,
		channel: "email",
		optedOut: null,
		unknownColumns: "reject",
		businessUnits: null,
		context: { source: "import", ip: null, userAgent: null, campaign: null, receivedAt: new Date().toISOString() },
		linkBase: () => "https://consent.example.test",
		...limits,
	});
	const streamOf = (text: string) =>
		new ReadableStream<Uint8Array>({
			start(controller) {
				const bytes = new TextEncoder().encode(text);
				for (let offset = 0; offset < bytes.length; offset += 16) controller.enqueue(bytes.slice(offset, offset + 16));
				controller.close();
			},
		});

	it("stops past the line limit after applying the lines before it", async () => {
		const businessUnit = unique("imp");
		const emails = Array.from({ length: 5 }, uniqueEmail);
		const csv = `email,optedOut\n${emails.map((email) => `${email},true`).join("\n")}\n`;
		const error = await importContacts(bindings, streamOf(csv), options(businessUnit, { maxLines: 3 })).catch((e) => e);
		expect(error).toBeInstanceOf(ImportLimitError);
		expect(error).toMatchObject({ limit: "lines", line: 5, report: { processed: 3, created: 3 } });
		expect((await ledgerOf(businessUnit)).map((row) => row.email).sort()).toEqual(emails.slice(0, 3).sort());
	});

	it("stops past the byte limit while streaming (no Content-Length to check first)", async () => {
		const businessUnit = unique("imp");
		const csv = `email,optedOut\n${Array.from({ length: 50 }, () => `${uniqueEmail()},true`).join("\n")}\n`;
		const error = await importContacts(bindings, streamOf(csv), options(businessUnit, { maxBytes: 200 })).catch(
			(e) => e,
		);
		expect(error).toBeInstanceOf(ImportLimitError);
		expect(error.limit).toBe("bytes");
		expect(error.report.processed).toBeGreaterThan(0);
		expect(error.report.processed).toBeLessThan(50);
	});
});

describe("a larger import (how fast: npm run bench -- --suite data)", () => {
	it("imports 1,000 new contacts, then the same file again", async () => {
		const businessUnit = unique("imp");
		const lines = Array.from({ length: 1000 }, (_, i) => `${unique("u")}-${i},u${i}-${businessUnit}@example.de,true`);
		const csv = `externalId,email,optedOut:email\n${lines.join("\n")}\n`;
		const first = await report(await importFile(csv, `businessUnit=${businessUnit}`));
		expect(first).toMatchObject({ processed: 1000, created: 1000, failed: 0 });
		const again = await report(await importFile(csv, `businessUnit=${businessUnit}`));
		expect(again).toMatchObject({ processed: 1000, unchanged: 1000 });
		expect(await ledgerOf(businessUnit)).toHaveLength(1000);
	}, 180_000);
});
