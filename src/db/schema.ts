import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { CHANNELS, type ConsentState, type FieldChange } from "../consent/types";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** One person in one business unit. `consent` is the reducer's state, written only by ContactActor. */
export const contacts = sqliteTable(
	"contacts",
	{
		id: text().primaryKey(),
		externalId: text(),
		email: text(),
		businessUnit: text().notNull(),
		phone: text(),
		/** Keyed hashes of email and phone (as in `suppressions`): checks reach suppressions in SQL. */
		emailHash: text(),
		phoneHash: text(),
		traits: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
		consent: text({ mode: "json" }).$type<ConsentState>().notNull(),
		/**
		 * Bumped by exactly one on every update (the trigger `contacts_version_guard`, migration 0005,
		 * refuses any other update): the contact's actor writes only over the version it has read, so a
		 * write around it (a migration, an import) is noticed instead of being overwritten.
		 */
		version: integer().notNull().default(0),
		createdAt: text().notNull().default(now),
		updatedAt: text().notNull().default(now),
	},
	(t) => [
		uniqueIndex("contacts_external_id").on(t.externalId),
		uniqueIndex("contacts_business_unit_email").on(t.businessUnit, t.email),
		uniqueIndex("contacts_business_unit_phone").on(t.businessUnit, t.phone),
		// Provider events name only the address: every contact with it, in any business unit.
		index("contacts_email").on(t.email),
		index("contacts_phone").on(t.phone),
	],
);

/** The append-only consent ledger: the proof of consent. */
export const ledger = sqliteTable(
	"ledger",
	{
		id: integer().primaryKey({ autoIncrement: true }),
		contactId: text().notNull(),
		event: text().notNull(),
		channel: text(),
		topic: text(),
		changes: text({ mode: "json" }).$type<FieldChange[]>().notNull(),
		/** 1 when the event changed consent state; stats count these. */
		changed: integer({ mode: "boolean" }).notNull(),
		properties: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default({}),
		source: text().notNull(),
		reason: text(),
		feedback: text(),
		ip: text(),
		userAgent: text(),
		campaign: text(),
		idempotencyKey: text(),
		occurredAt: text().notNull(),
		receivedAt: text().notNull(),
	},
	(t) => [
		index("ledger_contact").on(t.contactId, t.id),
		index("ledger_occurred_at").on(t.occurredAt),
		index("ledger_event_occurred_at").on(t.event, t.occurredAt),
	],
);

/** Idempotency keys already applied, per contact (provider event ids, callers' keys). */
export const idempotencyKeys = sqliteTable(
	"idempotency_keys",
	{
		contactId: text().notNull(),
		key: text().notNull(),
		createdAt: text().notNull().default(now),
	},
	(t) => [primaryKey({ columns: [t.contactId, t.key] })],
);

export const topics = sqliteTable("topics", {
	key: text().primaryKey(),
	name: text().notNull(),
	description: text(),
	channel: text({ enum: CHANNELS }).notNull(),
	doubleOptIn: integer({ mode: "boolean" }).notNull().default(false),
	/** null: the topic exists in every business unit. */
	businessUnit: text(),
	providerRefs: text({ mode: "json" }).$type<Record<string, string>>().notNull().default({}),
	createdAt: text().notNull().default(now),
	updatedAt: text().notNull().default(now),
});

/** Bare addresses blocked before (or regardless of) any contact: normalized email or E.164 phone. */
export const blocklist = sqliteTable("blocklist", {
	address: text().primaryKey(),
	kind: text({ enum: ["email", "phone"] }).notNull(),
	createdAt: text().notNull().default(now),
});

export const apiKeys = sqliteTable(
	"api_keys",
	{
		id: text().primaryKey(),
		name: text().notNull(),
		/** SHA-256 of the whole key, hex; the key itself is shown once and never stored. */
		keyHash: text().notNull(),
		scopes: text({ mode: "json" }).$type<string[]>().notNull(),
		/** null: every business unit. */
		businessUnits: text({ mode: "json" }).$type<string[] | null>(),
		createdAt: text().notNull().default(now),
		revokedAt: text(),
	},
	(t) => [uniqueIndex("api_keys_key_hash").on(t.keyHash)],
);

/** Mailgun webhook tokens seen recently: a replayed signed request is refused (docs/providers/mailgun.md). */
export const webhookTokens = sqliteTable(
	"webhook_tokens",
	{
		provider: text().notNull(),
		token: text().notNull(),
		expiresAt: text().notNull(),
	},
	(t) => [primaryKey({ columns: [t.provider, t.token] }), index("webhook_tokens_expires_at").on(t.expiresAt)],
);

/**
 * Queue messages that failed every retry (the dead-letter queues' consumer stores them here), for
 * an operator to inspect and replay through /v1/dead-letters.
 */
export const deadLetters = sqliteTable("dead_letters", {
	id: integer().primaryKey({ autoIncrement: true }),
	/** The queue the message failed on, where a replay sends it back. */
	queue: text({ enum: ["webhook-events", "outbound"] }).notNull(),
	body: text({ mode: "json" }).$type<unknown>().notNull(),
	/** The business unit the message is about, when it names one: keys limited to units see only theirs. */
	businessUnit: text(),
	attempts: integer().notNull(),
	createdAt: text().notNull().default(now),
});

/**
 * Suppressed addresses: only a keyed hash (HMAC-SHA-256 with SUPPRESSION_PEPPER) of the
 * normalized email or phone, so the decision for the address answers `suppressed` whatever contact
 * has it now, without the address being kept. Made by erasure and by POST /v1/suppressions.
 */
export const suppressions = sqliteTable("suppressions", {
	hash: text().primaryKey(),
	kind: text({ enum: ["email", "phone"] }).notNull(),
	/** Why: opted_out, complaint, bounced, blocked (JSON array, canonical order). */
	reasons: text({ mode: "json" }).$type<string[]>().notNull().default([]),
	/** Since when. */
	createdAt: text().notNull().default(now),
});

/**
 * Work too large for one invocation (imports over the synchronous limit, large exports), run as a
 * Cloudflare Workflow (src/jobs/). One row per job: what it was asked (options), how far it got,
 * and its report. `business_unit` is the unit of the key that started it when that key was limited
 * to business units (null: an unlimited key); only keys of that unit (or unlimited ones) may read it.
 */
export const jobs = sqliteTable(
	"jobs",
	{
		id: text().primaryKey(),
		kind: text({ enum: ["import", "export"] }).notNull(),
		status: text({ enum: ["queued", "running", "done", "failed"] })
			.notNull()
			.default("queued"),
		businessUnit: text(),
		/** What the job was asked, as its route understood it (ImportJobOptions, ExportJobOptions in src/jobs/). */
		options: text({ mode: "json" }).$type<unknown>().notNull(),
		/** Lines of the file (imports) or rows (exports), once known. */
		total: integer(),
		processed: integer().notNull().default(0),
		created: integer().notNull().default(0),
		updated: integer().notNull().default(0),
		unchanged: integer().notNull().default(0),
		failed: integer().notNull().default(0),
		/** The first failed lines of an import, as its report lists them. */
		errors: text({ mode: "json" })
			.$type<Array<{ line: number; error: string; message: string }>>()
			.notNull()
			.default([]),
		errorsTruncated: integer({ mode: "boolean" }).notNull().default(false),
		/** Why a failed job failed. */
		error: text(),
		/** Where its file is in JOB_FILES (the upload of an import; the parts of an export). */
		resultKey: text(),
		createdAt: text().notNull().default(now),
		updatedAt: text().notNull().default(now),
	},
	(t) => [index("jobs_created_at").on(t.createdAt)],
);

/**
 * What each chunk of an import job did, written in the same D1 batch as the chunk's changes: a
 * retried part skips the chunks recorded here and adds their reports, so its counts stay exact
 * and it writes nothing twice. `report` is the chunk's ImportReport as JSON.
 */
export const importChunks = sqliteTable(
	"import_chunks",
	{
		jobId: text().notNull(),
		/** The first line (of the whole file) of the chunk. */
		firstLine: integer().notNull(),
		report: text().notNull(),
	},
	(t) => [primaryKey({ columns: [t.jobId, t.firstLine] })],
);

/**
 * Per contact, the last import line it was found already to be as the line says (or was created
 * from): the line's hash with the import's settings, and the contact's version then. While the
 * version stays, the same line again is unchanged without a lookup (src/imports/receipts.ts). Only
 * a hash: erased with the contact.
 */
export const importReceipts = sqliteTable(
	"import_receipts",
	{
		contactId: text().primaryKey(),
		lineHash: integer().notNull(),
		version: integer().notNull(),
	},
	(t) => [index("import_receipts_line_hash").on(t.lineHash)],
);
