/**
 * Import receipts (src/imports/receipts.ts): a file imported again is unchanged line by line
 * without reading its contacts, and only while nothing could make a line mean something else; a
 * receipt never changes what an import does (property: the same operations with and without
 * receipts end alike).
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { ImportLineFacts } from "../../../src/consent/import-lines";
import type { Bindings } from "../../../src/env";
import { type ImportOptions, type ImportReport, importContacts } from "../../../src/imports/importer";
import { countingEnv } from "../../budget";
import { contradictsItself, importLineFacts } from "../../consent-arbitraries";
import { api, postEvents, putTopic, unique } from "../../helpers";
import { bodyOf, importOptions } from "../../imports";
import { TEST_TOPICS } from "../../topics";

const bindings = env as unknown as Bindings;

/** Imports the CSV, counting its D1 round trips and Durable Object calls. */
async function imported(csv: string, options: ImportOptions) {
	const { env: counted, counts } = countingEnv(bindings);
	const report = await importContacts(counted, bodyOf(csv), options);
	return { report, roundTrips: counts.d1RoundTrips, actorCalls: counts.durableObjectCalls };
}

const unchanged = (lines: number): ImportReport => ({
	processed: lines,
	created: 0,
	updated: 0,
	unchanged: lines,
	failed: 0,
	errors: [],
	errorsTruncated: false,
});

async function ledgerCount(businessUnit: string): Promise<number> {
	const row = await env.DB.prepare(
		"SELECT count(*) AS n FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.business_unit = ?",
	)
		.bind(businessUnit)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

async function forgetReceipts(businessUnit: string) {
	await env.DB.prepare(
		"DELETE FROM import_receipts WHERE contact_id IN (SELECT id FROM contacts WHERE business_unit = ?)",
	)
		.bind(businessUnit)
		.run();
}

async function consentOf(businessUnit: string, email: string) {
	const row = await env.DB.prepare("SELECT consent FROM contacts WHERE business_unit = ? AND email = ?")
		.bind(businessUnit, email)
		.first<{ consent: string }>();
	return row ? JSON.parse(row.consent) : null;
}

/** Loading the topics, then per chunk of 1,000 lines the one statement that finds the receipts. */
const fastRoundTrips = (lines: number) => 1 + Math.ceil(lines / 1000);

describe("import receipts", () => {
	it("a file imported again is unchanged from its receipts: one statement a chunk, no contact read, nothing written", async () => {
		const businessUnit = unique("rc");
		const users = Array.from({ length: 1200 }, (_, i) => `${businessUnit}-u${i},u${i}@${businessUnit}.example,true`);
		const leads = Array.from({ length: 1300 }, (_, i) => `,l${i}@${businessUnit}.example,false`);
		const csv = `externalId,email,optedOut:email\n${[...users, ...leads].join("\n")}\n`;
		const first = await imported(csv, importOptions(businessUnit));
		expect(first.report.created).toBe(2500);
		const ledger = await ledgerCount(businessUnit);

		const again = await imported(csv, importOptions(businessUnit));
		expect(again.report).toEqual(unchanged(2500));
		expect(again.roundTrips).toBe(fastRoundTrips(2500));
		expect(again.actorCalls).toBe(0);
		expect(await ledgerCount(businessUnit)).toBe(ledger);

		// Without the receipts the same import reads every contact, says the same and keeps them again.
		await forgetReceipts(businessUnit);
		const full = await imported(csv, importOptions(businessUnit));
		expect(full.report).toEqual(unchanged(2500));
		expect(full.roundTrips).toBeGreaterThan(fastRoundTrips(2500));
		const third = await imported(csv, importOptions(businessUnit));
		expect(third.report).toEqual(unchanged(2500));
		expect(third.roundTrips).toBe(fastRoundTrips(2500));
		expect(await ledgerCount(businessUnit)).toBe(ledger);
	});

	it("a contact changed since its receipt is read again, and the line applies", async () => {
		const businessUnit = unique("rc");
		const [changed, kept] = [`a@${businessUnit}.example`, `b@${businessUnit}.example`];
		const csv = `email,optedOut:email\n${changed},true\n${kept},true\n`;
		expect((await imported(csv, importOptions(businessUnit))).report.created).toBe(2);
		const optIn = await postEvents({ email: changed, businessUnit }, [{ event: "Opt In", channel: "email" }]);
		expect(optIn.status).toBe(200);
		expect((await consentOf(businessUnit, changed)).channels.email.optedOut).toBe(false);

		const again = await imported(csv, importOptions(businessUnit));
		expect(again.report).toMatchObject({ processed: 2, updated: 1, unchanged: 1, failed: 0 });
		expect((await consentOf(businessUnit, changed)).channels.email.optedOut).toBe(true);
		const { results } = await env.DB.prepare(
			"SELECT l.event, l.source FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.email = ? ORDER BY l.id",
		)
			.bind(changed)
			.all();
		expect(results).toEqual([
			{ event: "Opt Out", source: "import" },
			{ event: "Opt In", source: "api" },
			{ event: "Opt Out", source: "import" },
		]);
	});

	it("other import settings, a redefined topic or a key limited to other units: the receipt does not hold", async () => {
		const businessUnit = unique("rc");
		const topic = unique("rct");
		await putTopic(topic, { doubleOptIn: false });
		const csv = `email,optedOut:email,topic:${topic}\nc@${businessUnit}.example,false,subscribed\n`;
		expect((await imported(csv, importOptions(businessUnit))).report.created).toBe(1);
		expect((await imported(csv, importOptions(businessUnit))).roundTrips).toBe(fastRoundTrips(1));

		// Another channel for the plain optedOut column: read again (and still unchanged).
		const otherChannel = await imported(csv, importOptions(businessUnit, { channel: "email" }));
		expect(otherChannel.report).toEqual(unchanged(1));
		expect(otherChannel.roundTrips).toBeGreaterThan(fastRoundTrips(1));

		// The topic now needs double opt-in: "subscribed" is a confirmation now; read again.
		await putTopic(topic, { doubleOptIn: true });
		const redefined = await imported(csv, importOptions(businessUnit));
		expect(redefined.report).toEqual(unchanged(1));
		expect(redefined.roundTrips).toBeGreaterThan(fastRoundTrips(1));
		expect((await imported(csv, importOptions(businessUnit))).roundTrips).toBe(fastRoundTrips(1));

		// A key of other units may not touch this one, receipt or not.
		const limited = await imported(csv, importOptions(businessUnit, { businessUnits: ["elsewhere"] }));
		expect(limited.report).toMatchObject({ processed: 1, unchanged: 0, failed: 1 });
		expect(limited.report.errors[0]?.error).toBe("forbidden_business_unit");
	});

	it("an erased contact's receipt goes with it: its line creates a new contact", async () => {
		const businessUnit = unique("rc");
		const email = `e@${businessUnit}.example`;
		const csv = `email,optedOut:email\n${email},false\n`;
		expect((await imported(csv, importOptions(businessUnit))).report.created).toBe(1);
		const contact = await env.DB.prepare("SELECT id FROM contacts WHERE business_unit = ? AND email = ?")
			.bind(businessUnit, email)
			.first<{ id: string }>();
		const receipts = "SELECT count(*) AS n FROM import_receipts WHERE contact_id = ?";
		expect(await env.DB.prepare(receipts).bind(contact?.id).first("n")).toBe(1);

		expect((await api("DELETE", `/v1/leads?email=${email}&businessUnit=${businessUnit}`)).status).toBe(204);
		expect(await env.DB.prepare(receipts).bind(contact?.id).first("n")).toBe(0);
		expect((await imported(csv, importOptions(businessUnit))).report.created).toBe(1);
	});
});

describe("property: receipts never change what an import does", () => {
	const topicKeys = new Map(TEST_TOPICS.map((topic) => [topic.key, unique(`rp-${topic.key}`)]));
	beforeAll(async () => {
		for (const topic of TEST_TOPICS) {
			await putTopic(topicKeys.get(topic.key) as string, { channel: topic.channel, doubleOptIn: topic.doubleOptIn });
		}
	});

	type Operation =
		| { kind: "import"; lines: Array<{ person: number; facts: ImportLineFacts }> }
		| { kind: "event"; person: number; event: "Opt In" | "Opt Out" | "Block" | "Unblock"; channel: "email" | "sms" };

	const PEOPLE = 3;
	const operation: fc.Arbitrary<Operation> = fc.oneof(
		{
			weight: 3,
			arbitrary: fc.record({
				kind: fc.constant("import" as const),
				lines: fc.array(fc.record({ person: fc.nat(PEOPLE - 1), facts: importLineFacts }), {
					minLength: 1,
					maxLength: 4,
				}),
			}),
		},
		fc.record({
			kind: fc.constant("event" as const),
			person: fc.nat(PEOPLE - 1),
			event: fc.constantFrom("Opt In" as const, "Opt Out" as const, "Block" as const, "Unblock" as const),
			channel: fc.constantFrom("email" as const, "sms" as const),
		}),
	);

	/** The people of one run: person 0 is a user (externalId and email), the others are leads. */
	const person = (businessUnit: string, index: number) => ({
		externalId: index === 0 ? `${businessUnit}-user` : "",
		email: `p${index}@${businessUnit}.example`,
	});

	const CHANNELS = ["email", "sms", "whatsapp", "push"] as const;
	function csvOf(businessUnit: string, lines: Array<{ person: number; facts: ImportLineFacts }>): string {
		const topicColumns = TEST_TOPICS.map((topic) => topic.key);
		const header = [
			"externalId",
			"email",
			"timestamp",
			"optedOut",
			...CHANNELS.map((channel) => `optedOut:${channel}`),
			"bounced:email",
			"bounced:sms",
			"blocked",
			...topicColumns.map((key) => `topic:${topicKeys.get(key)}`),
		];
		const rows = lines.map(({ person: index, facts }) => {
			const { externalId, email } = person(businessUnit, index);
			const optedOut = (channel: string | null) => {
				const entry = facts.optedOut.find((o) => o.channel === channel);
				return entry ? String(entry.value) : "";
			};
			return [
				externalId,
				email,
				facts.timestamp ?? "",
				optedOut(null),
				...CHANNELS.map(optedOut),
				facts.bounced.includes("email") ? "true" : "",
				facts.bounced.includes("sms") ? "true" : "",
				facts.blocked === null ? "" : String(facts.blocked),
				...topicColumns.map((key) => facts.topics.find((t) => t.key === key)?.status ?? ""),
			].join(",");
		});
		return `${header.join(",")}\n${rows.join("\n")}\n`;
	}

	/** What a person's contact is: consent values and ledger events, without times or ids. */
	async function outcomeOf(businessUnit: string, index: number) {
		const { email } = person(businessUnit, index);
		const consent = await consentOf(businessUnit, email);
		const { results } = await env.DB.prepare(
			`SELECT l.event, l.channel, l.topic, l.source, l.changed FROM ledger l JOIN contacts c ON c.id = l.contact_id
			 WHERE c.business_unit = ? AND c.email = ? ORDER BY l.id`,
		)
			.bind(businessUnit, email)
			.all();
		const topics = Object.fromEntries(
			Object.entries((consent?.topics ?? {}) as Record<string, { status: string }>).map(([key, topic]) => [
				key,
				topic.status,
			]),
		);
		const channels = Object.fromEntries(
			Object.entries((consent?.channels ?? {}) as Record<string, { optedOut: boolean; bounced: boolean }>).map(
				([channel, state]) => [channel, [state.optedOut, state.bounced]],
			),
		);
		return { blocked: consent?.blocked ?? null, channels, topics, ledger: results };
	}

	const settlesAtOnce = (lines: Array<{ person: number; facts: ImportLineFacts }>) =>
		new Set(lines.map((line) => line.person)).size === lines.length &&
		!lines.some((line) => contradictsItself(line.facts, { channel: null, optedOut: null }));

	/** Imports of the run with receipts that needed fewer round trips than the same without. */
	let shortened = 0;

	async function run(businessUnit: string, op: Operation, withReceipts: boolean) {
		if (op.kind === "import") {
			if (!withReceipts) await forgetReceipts(businessUnit);
			const { report, roundTrips } = await imported(csvOf(businessUnit, op.lines), importOptions(businessUnit));
			return { result: { ...report, errors: report.errors.map((error) => [error.line, error.error]) }, roundTrips };
		}
		const { externalId, email } = person(businessUnit, op.person);
		const subject = externalId ? { externalId, email, businessUnit } : { email, businessUnit };
		const event =
			op.event === "Block" || op.event === "Unblock" ? { event: op.event } : { event: op.event, channel: op.channel };
		return { result: (await postEvents(subject, [event])).status, roundTrips: 0 };
	}

	it("the same operations with receipts and without them give the same reports and the same contacts", async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 6 }), async (operations) => {
				const [withUnit, withoutUnit] = [unique("rpa"), unique("rpb")];
				for (const op of operations) {
					// Each import twice in a row too: the second is the one receipts can answer.
					const repeats = op.kind === "import" ? 2 : 1;
					for (let i = 0; i < repeats; i++) {
						const rows = await ledgerCount(withUnit);
						const withReceipts = await run(withUnit, op, true);
						const without = await run(withoutUnit, op, false);
						expect(withReceipts.result).toEqual(without.result);
						if (withReceipts.roundTrips < without.roundTrips) shortened++;
						// The same file again adds nothing, unless it names a person twice (the last line wins
						// each time) or a line contradicts itself (it settles on the next import).
						if (i === 1 && op.kind === "import" && settlesAtOnce(op.lines)) {
							expect(await ledgerCount(withUnit)).toBe(rows);
						}
					}
				}
				for (let index = 0; index < PEOPLE; index++) {
					expect(await outcomeOf(withUnit, index)).toEqual(await outcomeOf(withoutUnit, index));
				}
			}),
			{ numRuns: 15 },
		);
		// The property was tried on imports that receipts answered.
		expect(shortened).toBeGreaterThan(5);
	});
});
