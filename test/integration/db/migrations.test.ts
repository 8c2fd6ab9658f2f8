/**
 * Every schema change must upgrade a database that has data in it, without losing any. This file
 * builds a database as it was before migration UPGRADE_FROM (migrations before it only), fills it
 * the way the code of that time wrote its rows, applies the rest of migrations/ and checks that
 * every table still has all its rows, every value of every column that still exists is unchanged,
 * and the backfills of UPGRADE_FROM did what they should. It also checks that what migrations/
 * makes matches the drizzle schema in src/db/schema.ts (tables, columns, keys, indexes).
 *
 * MIGRATION_DB (vitest.config.ts) is used only here; it is emptied first, so a re-run starts over.
 */

import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Column, is } from "drizzle-orm";
import { CasingCache } from "drizzle-orm/casing";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { applyArrived, diffStates, isPreferenceEvent } from "../../../src/consent/reducer";
import { CHANNELS, type ConsentEvent, type ConsentState, emptyConsentState } from "../../../src/consent/types";
import * as schema from "../../../src/db/schema";
import { blockEvent, complaint, confirmWithoutTopic, optOutOrIn, topicEvent } from "../../consent-arbitraries";
import { TEST_TOPICS, testTopicOf } from "../../topics";

/** The first migration applied to a database with data in it: the newest one when this was written. */
const UPGRADE_FROM = "0003_trust.sql";

/** Columns migrations deliberately drop (table.column): every other column must keep its values. */
const DROPPED_COLUMNS = new Set(["suppressions.reason"]);

/** The consent state without the begin times 0007 adds: what every other migration must leave as it was. */
function withoutBeginTimes(state: ConsentState): ConsentState {
	const { blockedAt: _, ...rest } = state;
	return {
		...rest,
		channels: Object.fromEntries(
			Object.entries(state.channels).map(([name, { lastOptedOutAt: _l, returnedAt: _r, ...channel }]) => [
				name,
				channel,
			]),
		),
		topics: Object.fromEntries(
			Object.entries(state.topics).map(([key, { statusSince: _s, ...topic }]) => [key, topic]),
		),
	};
}

/** Columns migrations deliberately add to (table.column): what must still be as it was. */
const EXTENDED_COLUMNS: Record<string, (value: unknown) => unknown> = {
	"contacts.consent": (value) => withoutBeginTimes(JSON.parse(String(value))),
};

type Row = Record<string, unknown>;
interface TableSnapshot {
	columns: string[];
	rows: Row[];
}

/** Tables SQLite, D1 and the migration runner keep for themselves. */
const isInternal = (name: string) => name.startsWith("sqlite_") || name.startsWith("_cf_") || name === "d1_migrations";
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

async function tableNames(db: D1Database): Promise<string[]> {
	const { results } = await db
		.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
		.all<{ name: string }>();
	return results.map((row) => row.name).filter((name) => !isInternal(name));
}

interface ColumnInfo {
	name: string;
	type: string;
	notnull: number;
	dflt_value: string | null;
	pk: number;
}

async function columnsOf(db: D1Database, table: string): Promise<ColumnInfo[]> {
	const { results } = await db.prepare("SELECT * FROM pragma_table_info(?) ORDER BY cid").bind(table).all<ColumnInfo>();
	return results;
}

/** Every row of every table, in primary-key order (rowid when there is none). */
async function snapshot(db: D1Database): Promise<Map<string, TableSnapshot>> {
	const tables = new Map<string, TableSnapshot>();
	for (const table of await tableNames(db)) {
		const columns = await columnsOf(db, table);
		const key = columns
			.filter((column) => column.pk > 0)
			.sort((a, b) => a.pk - b.pk)
			.map((column) => quote(column.name));
		const order = key.length > 0 ? key.join(", ") : "rowid";
		const { results } = await db.prepare(`SELECT * FROM ${quote(table)} ORDER BY ${order}`).all<Row>();
		tables.set(table, { columns: columns.map((column) => column.name), rows: results });
	}
	return tables;
}

/** Empties the database, migration records included. */
async function dropEverything(db: D1Database) {
	const { results } = await db
		.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table')")
		.all<{ type: string; name: string }>();
	const drops = results
		.filter((row) => !row.name.startsWith("sqlite_") && !row.name.startsWith("_cf_"))
		.sort((a, b) => (a.type === "table" ? 1 : 0) - (b.type === "table" ? 1 : 0))
		.map((row) => db.prepare(`DROP ${row.type.toUpperCase()} IF EXISTS ${quote(row.name)}`));
	if (drops.length > 0) await db.batch(drops);
	expect(await tableNames(db)).toEqual([]);
}

const iso = (daysAgo: number, at = "10:15:30.123") =>
	`${new Date(Date.UTC(2026, 9, 30) - daysAgo * 86_400_000).toISOString().slice(0, 10)}T${at}Z`;
const hex = (bytes: number) =>
	[...crypto.getRandomValues(new Uint8Array(bytes))].map((byte) => byte.toString(16).padStart(2, "0")).join("");

/**
 * Rows as the code before UPGRADE_FROM wrote them (statements from git history of src/: identity,
 * contact actor, topics, API keys, blocklist, webhook route, dead-letter consumer, erasure).
 */
async function seedBeforeUpgrade(db: D1Database) {
	const anna = crypto.randomUUID();
	const lead = crypto.randomUUID();
	const phoneOnly = crypto.randomUUID();
	const erased = crypto.randomUUID();

	const annaConsent = {
		blocked: false,
		channels: {
			email: {
				optedOut: true,
				bounced: false,
				changedAt: iso(3),
				optedOutAt: iso(3),
				bouncedAt: null,
			},
			sms: { optedOut: false, bounced: false, changedAt: iso(20), optedOutAt: iso(20), bouncedAt: null },
		},
		topics: {
			"newsletter-de": { status: "unsubscribed", channel: "email", changedAt: iso(3) },
			"sms-offers": { status: "subscribed", channel: "sms", changedAt: iso(20) },
		},
		preferencesAt: iso(3),
	};
	const leadConsent = {
		blocked: false,
		channels: {},
		topics: { "newsletter-de": { status: "pending", channel: "email", changedAt: iso(1) } },
		preferencesAt: iso(1),
	};
	const blockedConsent = {
		blocked: true,
		channels: { sms: { optedOut: false, bounced: true, changedAt: iso(5), optedOutAt: null, bouncedAt: iso(5) } },
		topics: {},
	};

	const insertContact = db.prepare(
		`INSERT INTO contacts (id, external_id, email, phone, business_unit, traits, consent)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
	);
	const insertLedger = db.prepare(
		`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, reason, feedback,
		   ip, user_agent, campaign, idempotency_key, occurred_at, received_at)
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`,
	);
	const changes = (field: string, from: unknown, to: unknown) => JSON.stringify([{ field, from, to }]);
	const deadLetters = [
		{
			queue: "outbound",
			attempts: 9,
			body: {
				kind: "outbound",
				event: {
					id: 3,
					event: "Opt Out",
					contact: {
						id: anna,
						externalId: "cust-10001",
						email: "anna.schmidt@example.de",
						phone: "+4917612345678",
						businessUnit: "de",
					},
					channel: "email",
					topic: null,
					changed: true,
					changes: [{ field: "channels.email.optedOut", from: false, to: true }],
					properties: {},
					source: "one_click",
					reason: null,
					feedback: null,
					campaign: "black-friday-2026",
					occurredAt: iso(3),
					receivedAt: iso(3),
				},
			},
		},
		{
			queue: "webhook-events",
			attempts: 6,
			body: {
				kind: "webhook-event",
				provider: "sendgrid",
				event: {
					id: "sg-event-7f3a9c",
					channel: "email",
					recipient: "Lea.Huber@Example.at",
					action: { kind: "opt_out" },
					occurredAt: iso(1),
					businessUnit: " AT ",
					campaign: "winter-sale",
					properties: { event: "unsubscribe" },
				},
				receivedAt: iso(1),
			},
		},
		{
			queue: "webhook-events",
			attempts: 6,
			body: {
				kind: "webhook-event",
				provider: "twilio",
				event: {
					id: `SM${hex(16)}`,
					channel: "sms",
					recipient: "+4915112345679",
					action: { kind: "opt_out" },
					occurredAt: null,
					businessUnit: null,
					campaign: null,
					properties: { keyword: "STOP" },
				},
				receivedAt: iso(0),
			},
		},
	];
	const suppressed = [
		{ hash: hex(32), kind: "email", reason: "opted_out" },
		{ hash: hex(32), kind: "phone", reason: "opted_out" },
		{ hash: hex(32), kind: "email", reason: "bounced" },
		{ hash: hex(32), kind: "phone", reason: "blocked" },
	];

	await db.batch([
		insertContact.bind(
			anna,
			"cust-10001",
			"anna.schmidt@example.de",
			"+4917612345678",
			"de",
			JSON.stringify({ firstName: "Anna", tier: "gold" }),
			JSON.stringify(annaConsent),
		),
		insertContact.bind(lead, null, "lea.huber@example.at", null, "at", "{}", JSON.stringify(leadConsent)),
		insertContact.bind(phoneOnly, null, null, "+4915112345679", "default", "{}", JSON.stringify(blockedConsent)),
		insertLedger.bind(
			anna,
			"Subscribe",
			"sms",
			"sms-offers",
			changes("topics.sms-offers", null, "subscribed"),
			1,
			"{}",
			"api",
			null,
			null,
			"203.0.113.7",
			"curl/8.5.0",
			null,
			"client-key-1",
			iso(20),
			iso(20, "10:15:31.000"),
		),
		insertLedger.bind(
			anna,
			"Opt Out",
			"email",
			null,
			changes("channels.email.optedOut", false, true),
			1,
			"{}",
			"one_click",
			null,
			null,
			"198.51.100.23",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)",
			"black-friday-2026",
			null,
			iso(3),
			iso(3),
		),
		insertLedger.bind(
			anna,
			"Opt Out",
			"email",
			null,
			"[]",
			0,
			JSON.stringify({ event: "unsubscribe" }),
			"webhook:sendgrid",
			"unsubscribe",
			"Zu viele Mails",
			null,
			null,
			"black-friday-2026",
			"sendgrid:sg-event-1b2c",
			iso(3, "10:16:00.000"),
			iso(2),
		),
		insertLedger.bind(
			lead,
			"Subscribe",
			"email",
			"newsletter-de",
			changes("topics.newsletter-de", null, "pending"),
			1,
			JSON.stringify({ confirmUrl: "https://consent.example.test/c/v1.t2.eyJj.c2ln" }),
			"signup_form",
			null,
			null,
			"2001:db8::1",
			"Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)",
			null,
			null,
			iso(1),
			iso(1),
		),
		insertLedger.bind(
			phoneOnly,
			"Bounce",
			"sms",
			null,
			changes("channels.sms.bounced", false, true),
			1,
			JSON.stringify({ errorCode: 30005 }),
			"webhook:twilio",
			"hard",
			null,
			null,
			null,
			null,
			"twilio:SM0123456789abcdef",
			iso(5),
			iso(5),
		),
		insertLedger.bind(
			erased,
			"Erase",
			null,
			null,
			"[]",
			1,
			'{"suppressed":true}',
			"erasure",
			null,
			null,
			null,
			null,
			null,
			null,
			iso(2),
			iso(2),
		),
		db
			.prepare(
				"INSERT INTO idempotency_keys (contact_id, key, created_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING",
			)
			.bind(anna, iso(2), JSON.stringify(["client-key-1", "sendgrid:sg-event-1b2c"])),
		db
			.prepare("INSERT INTO idempotency_keys (contact_id, key) VALUES (?, ?)")
			.bind(phoneOnly, "twilio:SM0123456789abcdef"),
		db
			.prepare(
				`INSERT INTO topics (key, name, description, channel, double_opt_in, business_unit, provider_refs)
				 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			)
			.bind(
				"newsletter-de",
				"Newsletter",
				"Angebote und Neuheiten, einmal pro Woche",
				"email",
				1,
				"de",
				'{"sendgrid":"12345"}',
			),
		db
			.prepare(
				`INSERT INTO topics (key, name, description, channel, double_opt_in, business_unit, provider_refs)
				 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			)
			.bind("sms-offers", "SMS offers", null, "sms", 0, null, "{}"),
		db
			.prepare("INSERT INTO api_keys (id, name, key_hash, scopes, business_units) VALUES (?, ?, ?, ?, ?)")
			.bind(crypto.randomUUID(), "shop DE/AT", hex(32), '["consent:read","events:write"]', '["de","at"]'),
		db
			.prepare(
				"INSERT INTO api_keys (id, name, key_hash, scopes, business_units, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
			)
			.bind(crypto.randomUUID(), "old CRM sync", hex(32), '["admin"]', null, iso(10)),
		db
			.prepare("INSERT INTO blocklist (address, kind) VALUES (?, ?) ON CONFLICT DO NOTHING")
			.bind("spam.trap@example.com", "email"),
		db
			.prepare("INSERT INTO blocklist (address, kind) VALUES (?, ?) ON CONFLICT DO NOTHING")
			.bind("+4915199999999", "phone"),
		db
			.prepare("INSERT INTO webhook_tokens (provider, token, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
			.bind("mailgun", hex(25), iso(-1)),
		// The dead-letter consumer (src/queues.ts before UPGRADE_FROM): no business unit yet.
		db
			.prepare(
				`INSERT INTO dead_letters (queue, body, attempts)
				 SELECT r.value ->> 'queue', r.value ->> 'body', r.value ->> 'attempts' FROM json_each(?) r`,
			)
			.bind(
				JSON.stringify(
					deadLetters.map(({ queue, body, attempts }) => ({ queue, body: JSON.stringify(body), attempts })),
				),
			),
		// Erasure (src/contacts/contact-actor.ts before UPGRADE_FROM): one reason per address.
		db
			.prepare(
				`INSERT INTO suppressions (hash, kind, reason, created_at)
				 SELECT r.value ->> 'hash', r.value ->> 'kind', r.value ->> 'reason', ?2 FROM json_each(?1) r
				 WHERE true ON CONFLICT DO NOTHING`,
			)
			.bind(JSON.stringify(suppressed), iso(2)),
	]);
}

/** Builds the old database with data, upgrades it with `migrations`; the snapshots before and after. */
async function upgradeWithData(db: D1Database, migrations: D1Migration[]) {
	const from = migrations.findIndex((migration) => migration.name === UPGRADE_FROM);
	expect(from, `${UPGRADE_FROM} is not in migrations/`).toBeGreaterThan(0);
	await dropEverything(db);
	await applyD1Migrations(db, migrations.slice(0, from));
	await seedBeforeUpgrade(db);
	const before = await snapshot(db);
	await applyD1Migrations(db, migrations);
	const after = await snapshot(db);
	return { before, after };
}

/** Checks that the tables and columns migrations made are those of src/db/schema.ts. */
async function expectDrizzleSchema(db: D1Database) {
	const casing = new CasingCache("snake_case");
	const tables = (Object.values(schema) as unknown[])
		.filter((value): value is SQLiteTable => is(value, SQLiteTable))
		.map(getTableConfig);
	expect(tables.length).toBeGreaterThan(0);
	expect(await tableNames(db), "tables of migrations/ vs src/db/schema.ts").toEqual(
		tables.map((table) => table.name).sort(),
	);

	for (const table of tables) {
		const expectedColumns = table.columns.map((column) => ({
			name: casing.getColumnCasing(column),
			type: column.getSQLType().toLowerCase(),
			notNull: column.notNull,
			hasDefault: column.default !== undefined,
		}));
		const actualColumns = (await columnsOf(db, table.name)).map((column) => ({
			name: column.name,
			type: column.type.toLowerCase(),
			notNull: column.notnull === 1,
			hasDefault: column.dflt_value !== null,
		}));
		const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
		expect(actualColumns.sort(byName), `columns of ${table.name}`).toEqual(expectedColumns.sort(byName));

		const expectedKey = table.primaryKeys[0]
			? table.primaryKeys[0].columns.map((column) => casing.getColumnCasing(column))
			: table.columns.filter((column) => column.primary).map((column) => casing.getColumnCasing(column));
		const actualKey = (await columnsOf(db, table.name))
			.filter((column) => column.pk > 0)
			.sort((a, b) => a.pk - b.pk)
			.map((column) => column.name);
		expect(actualKey, `primary key of ${table.name}`).toEqual(expectedKey);

		const expectedIndexes = table.indexes.map(({ config }) => ({
			name: config.name,
			unique: config.unique,
			columns: config.columns.map((column) => (is(column, Column) ? casing.getColumnCasing(column) : String(column))),
		}));
		const { results: indexList } = await db
			.prepare("SELECT name, \"unique\" FROM pragma_index_list(?) WHERE origin = 'c'")
			.bind(table.name)
			.all<{ name: string; unique: number }>();
		const actualIndexes = [];
		for (const index of indexList) {
			const { results: indexColumns } = await db
				.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
				.bind(index.name)
				.all<{ name: string }>();
			actualIndexes.push({
				name: index.name,
				unique: index.unique === 1,
				columns: indexColumns.map((column) => column.name),
			});
		}
		expect(actualIndexes.sort(byName), `indexes of ${table.name}`).toEqual(expectedIndexes.sort(byName));
	}
}

describe("migrations", () => {
	describe(`upgrading a database with data from before ${UPGRADE_FROM}`, () => {
		let before: Map<string, TableSnapshot>;
		let after: Map<string, TableSnapshot>;
		beforeAll(async () => {
			({ before, after } = await upgradeWithData(env.MIGRATION_DB, env.TEST_MIGRATIONS));
		});

		it("was seeded with rows in every table", () => {
			expect(before.size).toBeGreaterThan(0);
			for (const [table, { rows }] of before) {
				expect(rows.length, `no rows seeded in ${table}: add some to seedBeforeUpgrade`).toBeGreaterThan(0);
			}
		});

		it("applies every migration", async () => {
			const { results } = await env.MIGRATION_DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{
				name: string;
			}>();
			expect(results.map((row) => row.name)).toEqual(env.TEST_MIGRATIONS.map((migration) => migration.name));
		});

		it("keeps every table and every row", () => {
			for (const [table, { rows }] of before) {
				expect(after.has(table), `table ${table} is gone`).toBe(true);
				expect(after.get(table)?.rows.length, `rows of ${table}`).toBe(rows.length);
			}
		});

		it("keeps every value of every column that still exists", () => {
			for (const [table, old] of before) {
				const now = after.get(table);
				if (!now) continue;
				for (const column of old.columns) {
					if (DROPPED_COLUMNS.has(`${table}.${column}`)) {
						expect(now.columns, `${table}.${column} was to be dropped`).not.toContain(column);
						continue;
					}
					expect(now.columns, `${table}.${column} is gone`).toContain(column);
					const kept = EXTENDED_COLUMNS[`${table}.${column}`] ?? ((value: unknown) => value);
					expect(
						now.rows.map((row) => kept(row[column])),
						`values of ${table}.${column}`,
					).toEqual(old.rows.map((row) => kept(row[column])));
				}
			}
		});

		it("turns suppressions.reason into the JSON array reasons", () => {
			const old = before.get("suppressions");
			const now = after.get("suppressions");
			expect(old?.columns).toContain("reason");
			expect(now?.columns).toContain("reasons");
			expect(now?.columns).not.toContain("reason");
			// Stored as the code writes it now: the JSON array text, e.g. ["opted_out"].
			expect(now?.rows.map((row) => [row.hash, row.reasons])).toEqual(
				old?.rows.map((row) => [row.hash, JSON.stringify([row.reason])]),
			);
		});

		it("gives dead letters the business unit their message names", () => {
			const rows = after.get("dead_letters")?.rows ?? [];
			expect(before.get("dead_letters")?.columns).not.toContain("business_unit");
			expect(
				rows.map((row) => {
					const body = JSON.parse(String(row.body));
					return [body.kind, body.provider ?? null, row.business_unit];
				}),
			).toEqual([
				["outbound", null, "de"],
				["webhook-event", "sendgrid", "at"],
				["webhook-event", "twilio", null],
			]);
		});

		it("fills in the begin times of the consent state from the ledger (0007), raising each version by one", () => {
			const consentOf = (email: string | null, phone: string | null = null) => {
				const row = after
					.get("contacts")
					?.rows.find((candidate) => candidate.email === email && (phone === null || candidate.phone === phone));
				return { state: JSON.parse(String(row?.consent)) as ConsentState, version: row?.version, row };
			};
			const anna = consentOf("anna.schmidt@example.de");
			// Opted out of email by one-click three days ago; the provider's repeat a minute later does not move it.
			expect(anna.state.channels.email).toMatchObject({ lastOptedOutAt: iso(3), returnedAt: null });
			// Never opted out of SMS.
			expect(anna.state.channels.sms).toMatchObject({ lastOptedOutAt: null, returnedAt: null });
			// Subscribed by its Subscribe; the unsubscribe has no ledger row of its own here: its changedAt.
			expect(anna.state.topics["sms-offers"]?.statusSince).toBe(iso(20));
			expect(anna.state.topics["newsletter-de"]?.statusSince).toBe(iso(3));
			expect(anna.state.blockedAt).toBeUndefined();
			expect(consentOf("lea.huber@example.at").state.topics["newsletter-de"]?.statusSince).toBe(iso(1));
			// Blocked without a Block row in the ledger: its last change stands in.
			const blocked = consentOf(null, "+4915112345679");
			expect(blocked.state.blockedAt).toBe(blocked.row?.updated_at);
			expect(blocked.state.channels.sms).toMatchObject({ lastOptedOutAt: null, returnedAt: null });
			for (const contact of [anna, blocked]) expect(contact.version).toBe(1);
		});

		it("leaves the schema src/db/schema.ts describes", async () => {
			await expectDrizzleSchema(env.MIGRATION_DB);
		});

		it("adds the jobs tables empty; a job row gets its defaults", async () => {
			expect(after.get("jobs")?.rows).toEqual([]);
			expect(after.get("import_chunks")?.rows).toEqual([]);
			const row = await env.MIGRATION_DB.prepare(
				"INSERT INTO jobs (id, kind, options) VALUES ('imp_0', 'import', '{}') RETURNING *",
			).first<Record<string, unknown>>();
			expect(row).toMatchObject({
				status: "queued",
				business_unit: null,
				total: null,
				processed: 0,
				created: 0,
				failed: 0,
				errors: "[]",
				errors_truncated: 0,
				error: null,
				result_key: null,
			});
			expect(String(row?.created_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
			await env.MIGRATION_DB.prepare("DELETE FROM jobs").run();
		});

		it("adds import_receipts empty (0008): stored contacts have none, so their next import reads them", async () => {
			expect(after.get("import_receipts")?.rows).toEqual([]);
			const contact = after.get("contacts")?.rows[0];
			const kept = await env.MIGRATION_DB.prepare(
				"INSERT INTO import_receipts (contact_id, line_hash, version) VALUES (?, 4503599627370495, ?) RETURNING *",
			)
				.bind(contact?.id, contact?.version)
				.first();
			expect(kept).toEqual({ contact_id: contact?.id, line_hash: 4503599627370495, version: contact?.version });
			await env.MIGRATION_DB.prepare("DELETE FROM import_receipts").run();
		});
	});

	it("make the schema src/db/schema.ts describes on a new database", async () => {
		await expectDrizzleSchema(env.DB);
	});
});

describe("0007: the begin times it fills in for stored contacts are those the reducer keeps", () => {
	const TOPICS = TEST_TOPICS;
	const topicOf = testTopicOf;
	/** Events of every kind the begin times depend on; few topicless confirmations (see below). */
	const event = fc.oneof(
		{ weight: 3, arbitrary: optOutOrIn },
		complaint,
		{ weight: 4, arbitrary: topicEvent },
		confirmWithoutTopic,
		blockEvent,
	);

	/** A history in time order (distinct minutes, some equal), and the order it arrived in. */
	const history = fc
		.array(fc.tuple(event, fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 12 })
		.map((events) => {
			let minute = 0;
			return events.map(([e, step]): ConsentEvent => {
				minute += step;
				return { ...e, occurredAt: new Date(Date.UTC(2026, 0, 1) + minute * 60_000).toISOString() };
			});
		})
		.chain((events) =>
			fc.tuple(
				fc.constant(events),
				fc.oneof(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length })),
			),
		);

	interface Case {
		id: string;
		state: ConsentState;
		inOrder: boolean;
		rows: Array<{ event: ConsentEvent; changes: unknown[] }>;
	}

	/** The contact's actor, without D1: the state and the ledger rows of the events as they arrive. */
	function arrive(id: string, events: readonly ConsentEvent[], arrival: readonly ConsentEvent[]): Case {
		let state = emptyConsentState();
		const applied: ConsentEvent[] = [];
		const rows: Case["rows"] = [];
		for (const e of arrival) {
			const next = applyArrived(state, e, topicOf, applied);
			rows.push({ event: e, changes: diffStates(state, next) });
			if (isPreferenceEvent(e)) applied.push(e);
			state = next;
		}
		return { id, state, inOrder: arrival.every((e, index) => e === events[index]), rows };
	}

	const cases = fc
		.sample(history, { numRuns: 300, seed: 7007 })
		.map(([events, arrival], index) => arrive(`c-${String(index).padStart(4, "0")}`, events, arrival));
	let migrated: Map<string, ConsentState>;

	beforeAll(async () => {
		const db = env.MIGRATION_DB;
		const from = env.TEST_MIGRATIONS.findIndex((migration) => migration.name.startsWith("0007_"));
		expect(from).toBeGreaterThan(0);
		await dropEverything(db);
		await applyD1Migrations(db, env.TEST_MIGRATIONS.slice(0, from));
		const statements = [
			db
				.prepare(
					`INSERT INTO topics (key, name, channel, double_opt_in, provider_refs)
					 SELECT value ->> 'key', value ->> 'key', value ->> 'channel', value ->> 'doubleOptIn', '{}' FROM json_each(?)`,
				)
				.bind(JSON.stringify(TOPICS)),
		];
		for (const contact of cases) {
			// Stored as the code before 0007 wrote it: no begin times.
			statements.push(
				db
					.prepare("INSERT INTO contacts (id, email, business_unit, consent) VALUES (?, ?, 'de', ?)")
					.bind(contact.id, `${contact.id}@example.de`, JSON.stringify(withoutBeginTimes(contact.state))),
				db
					.prepare(
						`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, occurred_at, received_at)
						 SELECT ?1, value ->> 'event', value ->> 'channel', value ->> 'topic', value ->> 'changes', value ->> 'changed',
						   value ->> 'properties', 'api', value ->> 'occurredAt', value ->> 'occurredAt'
						 FROM json_each(?2) ORDER BY key`,
					)
					.bind(
						contact.id,
						JSON.stringify(
							contact.rows.map(({ event: e, changes }) => ({
								event: e.event,
								channel: e.channel,
								topic: e.topic,
								changes: JSON.stringify(changes),
								changed: changes.length > 0 ? 1 : 0,
								properties: JSON.stringify(e.properties),
								occurredAt: e.occurredAt,
							})),
						),
					),
			);
		}
		await db.batch(statements);
		await applyD1Migrations(db, env.TEST_MIGRATIONS);
		const { results } = await db.prepare("SELECT id, consent FROM contacts").all<{ id: string; consent: string }>();
		migrated = new Map(results.map((row) => [row.id, JSON.parse(row.consent) as ConsentState]));
	}, 60_000);

	it("keeps everything else of the state", () => {
		for (const contact of cases) {
			expect(withoutBeginTimes(migrated.get(contact.id) as ConsentState)).toEqual(withoutBeginTimes(contact.state));
		}
	});

	it("gives every channel its lastOptedOutAt and returnedAt, whatever order the events arrived in", () => {
		// A Confirm Subscription without a topic opens a channel only if one of its topics was pending
		// then; the ledger tells that by the row's changes, which a replay may have folded elsewhere:
		// such histories count only when they arrived in time order.
		const exact = cases.filter(
			(contact) =>
				contact.inOrder || !contact.rows.some(({ event: e }) => e.event === "Confirm Subscription" && !e.topic),
		);
		expect(exact.filter((contact) => !contact.inOrder).length).toBeGreaterThan(50);
		for (const contact of exact) {
			const state = migrated.get(contact.id) as ConsentState;
			for (const name of CHANNELS) {
				const expected = contact.state.channels[name];
				if (!expected) continue;
				expect(
					{ lastOptedOutAt: state.channels[name]?.lastOptedOutAt, returnedAt: state.channels[name]?.returnedAt },
					`${contact.id} ${name}`,
				).toEqual({ lastOptedOutAt: expected.lastOptedOutAt, returnedAt: expected.returnedAt });
			}
		}
	});

	it("gives every topic its statusSince (events that arrived in time order), and blocked contacts their blockedAt", () => {
		const inOrder = cases.filter((contact) => contact.inOrder);
		expect(inOrder.length).toBeGreaterThan(50);
		for (const contact of inOrder) {
			const state = migrated.get(contact.id) as ConsentState;
			for (const [key, topic] of Object.entries(contact.state.topics)) {
				expect(state.topics[key]?.statusSince, `${contact.id} ${key}`).toBe(topic.statusSince);
			}
		}
		for (const contact of cases) {
			const state = migrated.get(contact.id) as ConsentState;
			if (contact.state.blocked) expect(state.blockedAt, contact.id).toBe(contact.state.blockedAt);
			else expect(state.blockedAt ?? null).toBeNull();
		}
	});
});
