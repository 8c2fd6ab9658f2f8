// Bench-only entry (bench/wrangler.bench.toml): the service exactly as src/index.ts exports it, plus
// /__bench/* routes that only `npm run bench` calls. Never deployed; not part of the service's API.
import { DurableObject } from "cloudflare:workers";
import { checkConsent } from "../src/api/check";
import { keyedHash } from "../src/crypto";
import type { Bindings } from "../src/env";
import { EXPORT_PAGE_SIZE } from "../src/exports/exports";
import service from "../src/index";
import { CONNECTIONS, inParallel } from "../src/parallel";
import type { QueueMessage } from "../src/queues";

// Every named export of the service (ContactActor, and whatever is added later).
export * from "../src/index";

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
	new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** Stamped into every seeded row; the bench computes the expected decisions from the same rules. */
const CHANGED_AT = "2026-01-01T00:00:00.000Z";

/*
 * Synthetic contacts n = from..to in one INSERT … SELECT over the JSON array of their address
 * hashes (made in the worker: SQL has no HMAC; the rest of each row is made in SQL). Keys are zero-padded so every index is appended to in order. The consent mix, by n:
 * blocked n%100=11; email opted out n%5=0, else bounced n%50=7, else no email state n%3=2, else
 * subscribed; topic "newsletter" subscribed n%4=1, unsubscribed n%20=2, pending n%20=6.
 * Bare addresses nobodyNNNNNNNN@example.com with n%100=0 go on the blocklist.
 */
const SEED_CONTACTS = `
INSERT INTO contacts (id, external_id, email, business_unit, phone, email_hash, phone_hash, traits, consent,
	created_at, updated_at)
WITH seq(n, email_hash, phone_hash) AS (SELECT ?1 + h.key, h.value ->> 0, h.value ->> 1 FROM json_each(?2) h)
SELECT printf('bench-%08d', n),
	CASE WHEN n % 2 = 0 THEN printf('ext-%08d', n) END,
	printf('user%08d@example.com', n),
	?3,
	CASE WHEN n % 10 = 1 THEN printf('+4915%08d', n) END,
	email_hash, phone_hash,
	'{}',
	printf('{"blocked":%s,"channels":{%s},"topics":{%s}}',
		CASE WHEN n % 100 = 11 THEN 'true' ELSE 'false' END,
		CASE
			WHEN n % 5 = 0 THEN '"email":{"optedOut":true,"bounced":false,"changedAt":"${CHANGED_AT}","optedOutAt":"${CHANGED_AT}","bouncedAt":null}'
			WHEN n % 50 = 7 THEN '"email":{"optedOut":false,"bounced":true,"changedAt":"${CHANGED_AT}","optedOutAt":null,"bouncedAt":"${CHANGED_AT}"}'
			WHEN n % 3 = 2 THEN ''
			ELSE '"email":{"optedOut":false,"bounced":false,"changedAt":"${CHANGED_AT}","optedOutAt":"${CHANGED_AT}","bouncedAt":null}'
		END,
		CASE
			WHEN n % 4 = 1 THEN '"newsletter":{"status":"subscribed","channel":"email","changedAt":"${CHANGED_AT}"}'
			WHEN n % 20 = 2 THEN '"newsletter":{"status":"unsubscribed","channel":"email","changedAt":"${CHANGED_AT}"}'
			WHEN n % 20 = 6 THEN '"newsletter":{"status":"pending","channel":"email","changedAt":"${CHANGED_AT}"}'
			ELSE ''
		END),
	'${CHANGED_AT}', '${CHANGED_AT}'
FROM seq`;

const SEED_BLOCKLIST = `
INSERT INTO blocklist (address, kind, created_at)
WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
SELECT printf('nobody%08d@example.com', n), 'email', '${CHANGED_AT}' FROM seq WHERE n % 100 = 0`;

/** The batch check's lookup for email recipients, as one plain statement and nothing else. */
const RAW_CHECK = `SELECT r.key AS i, c.id, c.consent
FROM json_each(?1) r LEFT JOIN contacts c ON c.business_unit = ?2 AND c.email = r.value`;

let bootId: string | undefined;

/** A statement for BenchActor.run: SQL and its parameters. */
interface BenchStatement {
	sql: string;
	params: unknown[];
}

type BenchBindings = Bindings & { BENCH_ACTOR: DurableObjectNamespace<BenchActor> };

/**
 * The least one actor per contact can cost: an object of a SQLite-backed class (as ContactActor
 * is) that runs one D1 batch and keeps nothing. The actor baselines of the one-click and webhook
 * suites call a fresh one per contact, so that what the local runtime pays to start an object is in
 * the baseline too, and the ratio to it is what the service's own code adds.
 */
export class BenchActor extends DurableObject<Bindings> {
	/** Nothing: a call to a fresh object measures only its start-up (the webhook floor). */
	touch(): null {
		return null;
	}

	run(statements: BenchStatement[]): Promise<number[]> {
		return batchChanges(this.env.DB, statements);
	}
}

/** One D1 batch of the statements; the rows each changed. */
async function batchChanges(db: D1Database, statements: BenchStatement[]): Promise<number[]> {
	const results = await db.batch(statements.map(({ sql, params }) => db.prepare(sql).bind(...params)));
	return results.map((result) => result.meta.changes);
}

/** Runs the batch directly (`actor` false) or in a fresh BenchActor named `name`. */
async function runBatch(env: BenchBindings, statements: BenchStatement[], actor: boolean, name: string) {
	if (actor) return env.BENCH_ACTOR.get(env.BENCH_ACTOR.idFromName(name)).run(statements);
	return batchChanges(env.DB, statements);
}

/**
 * A D1 binding (or session) that adds up the time of every statement run through it: D1's
 * `meta.duration` where the result has one (`all`, `run`, `batch`), the wall time of the calls for
 * `raw()` and `first()` (their results carry no meta; overlapping calls count once). Sessions made
 * from it share the count.
 */
function timedD1<T extends D1Database | D1DatabaseSession>(db: T, timing: { sqlMs: number }): T {
	const inner = Symbol("inner");
	type Wrapped = D1PreparedStatement & { [inner]: D1PreparedStatement };
	const record = <R extends D1Result>(result: R) => {
		timing.sqlMs += result.meta.duration;
		return result;
	};
	// Calls that overlap (statements run in parallel, also through sessions) count once: the time
	// any of them was running.
	const clock = timing as { sqlMs: number; running?: number; since?: number };
	const timed = async <R>(call: () => Promise<R>) => {
		clock.running = (clock.running ?? 0) + 1;
		if (clock.running === 1) clock.since = Date.now();
		try {
			return await call();
		} finally {
			clock.running -= 1;
			if (clock.running === 0) clock.sqlMs += Date.now() - (clock.since ?? Date.now());
		}
	};
	const wrap = (statement: D1PreparedStatement): Wrapped =>
		({
			[inner]: statement,
			bind: (...values: unknown[]) => wrap(statement.bind(...values)),
			all: () => statement.all().then(record),
			run: () => statement.run().then(record),
			first: (column?: string) => timed(() => (column === undefined ? statement.first() : statement.first(column))),
			raw: (options?: { columnNames?: boolean }) =>
				timed(() => (options?.columnNames ? statement.raw({ columnNames: true }) : statement.raw())),
		}) as unknown as Wrapped;
	const wrapped: Record<string, unknown> = {
		prepare: (query: string) => wrap(db.prepare(query)),
		batch: (statements: D1PreparedStatement[]) =>
			db.batch(statements.map((statement) => (statement as Wrapped)[inner])).then((results) => results.map(record)),
	};
	if ("withSession" in db) {
		const binding = db as D1Database;
		wrapped.withSession = (constraint?: string) => timedD1(binding.withSession(constraint), timing);
		wrapped.exec = (query: string) => binding.exec(query);
		wrapped.dump = () => binding.dump();
	} else {
		wrapped.getBookmark = () => (db as D1DatabaseSession).getBookmark();
	}
	return wrapped as unknown as T;
}

/** A row of the webhook bench's baselines: an event for an address (`new`: without a contact yet). */
interface WebhookRow {
	email: string;
	event: string;
	key: string;
	new?: boolean;
}

/**
 * The webhook bench's raw baseline: for rows marked `new` a lead already opted out (with its keyed
 * address hash), for every row a ledger row and an idempotency key, for the other rows the opt-out
 * on the stored contact (version + 1), all in one D1 batch. Answers how many it created and updated.
 */
async function rawInsert(env: Bindings, rows: WebhookRow[]): Promise<{ created: number; updated: number }> {
	const now = new Date().toISOString();
	const leads = await Promise.all(
		rows.filter((row) => row.new).map(async (row) => [crypto.randomUUID(), row.email, await keyedHash(env, row.email)]),
	);
	const existing = rows.filter((row) => !row.new).map((row) => row.email);
	const optedOut = JSON.stringify({
		blocked: false,
		channels: { email: { optedOut: true, bounced: false, changedAt: now, optedOutAt: now, bouncedAt: null } },
		topics: {},
	});
	await env.DB.batch([
		env.DB.prepare(
			`INSERT INTO contacts (id, business_unit, email, email_hash, consent, created_at, updated_at)
			 SELECT l.value ->> 0, 'default', l.value ->> 1, l.value ->> 2, ?2, ?3, ?3 FROM json_each(?1) l`,
		).bind(JSON.stringify(leads), optedOut, now),
		env.DB.prepare(
			`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, idempotency_key, occurred_at, received_at)
			 SELECT c.id, r.value ->> 'event', 'email', NULL, '[]', 1, '{}', 'bench:raw', r.value ->> 'key', ?2, ?2
			 FROM json_each(?1) r CROSS JOIN contacts c ON c.business_unit = 'default' AND c.email = r.value ->> 'email'`,
		).bind(JSON.stringify(rows), now),
		env.DB.prepare(
			`INSERT INTO idempotency_keys (contact_id, key, created_at)
			 SELECT c.id, r.value ->> 'key', ?2 FROM json_each(?1) r
			 CROSS JOIN contacts c ON c.business_unit = 'default' AND c.email = r.value ->> 'email' WHERE true ON CONFLICT DO NOTHING`,
		).bind(JSON.stringify(rows), now),
		env.DB.prepare(
			`UPDATE contacts SET consent = json_set(consent, '$.channels.email.optedOut', json('true')), updated_at = ?2, version = version + 1
			 WHERE business_unit = 'default' AND email IN (SELECT value FROM json_each(?1))`,
		).bind(JSON.stringify(existing), now),
	]);
	return { created: leads.length, updated: existing.length };
}

async function benchRoute(request: Request, env: Bindings): Promise<Response> {
	if (request.headers.get("authorization") !== `Bearer ${env.ADMIN_TOKEN}`) return json({ error: "unauthorized" }, 401);
	const path = new URL(request.url).pathname;
	const body = await request.text();
	const input = (body ? JSON.parse(body) : {}) as Record<string, any>;

	if (path === "/__bench/seed") {
		const from = Number(input.from);
		const to = Number(input.to);
		if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
			return json({ error: "from and to: integers, 1 <= from <= to" }, 400);
		}
		const started = Date.now();
		const businessUnit = input.businessUnit ?? "default";
		// The keyed address hashes every contact the service writes keeps (SQL cannot make an HMAC).
		const numbers = Array.from({ length: to - from + 1 }, (_, index) => from + index);
		const hashes = await Promise.all(
			numbers.map(async (n) => [
				await keyedHash(env, `user${String(n).padStart(8, "0")}@example.com`),
				n % 10 === 1 ? await keyedHash(env, `+4915${String(n).padStart(8, "0")}`) : null,
			]),
		);
		// D1 takes a parameter of about 1 MB at most: 5,000 rows of hashes per statement.
		const chunks: D1PreparedStatement[] = [];
		for (let start = 0; start < hashes.length; start += 5000) {
			chunks.push(
				env.DB.prepare(SEED_CONTACTS).bind(
					from + start,
					JSON.stringify(hashes.slice(start, start + 5000)),
					businessUnit,
				),
			);
		}
		const results = await env.DB.batch([...chunks, env.DB.prepare(SEED_BLOCKLIST).bind(from, to)]);
		const contacts = { meta: { changes: results.slice(0, -1).reduce((sum, r) => sum + r.meta.changes, 0) } };
		const blocklist = results.at(-1);
		return json({ contacts: contacts?.meta.changes, blocklist: blocklist?.meta.changes, ms: Date.now() - started });
	}

	if (path === "/__bench/raw-check") {
		const result = await env.DB.prepare(RAW_CHECK)
			.bind(JSON.stringify(input.emails), input.businessUnit ?? "default")
			.all();
		return json({ rows: result.results }, 200, { "x-sql-ms": String(result.meta.duration) });
	}

	// The single check's lookup as one plain statement: the floor for a D1-backed GET.
	if (path === "/__bench/raw-lookup") {
		const query = new URL(request.url).searchParams;
		const row = await env.DB.prepare("SELECT id, consent FROM contacts WHERE business_unit = ?1 AND email = ?2")
			.bind(query.get("businessUnit") ?? "default", query.get("email"))
			.first();
		return json({ row });
	}

	// Diagnostics: the service's checkConsent() without the HTTP layer, with the time of the
	// statements it runs (see timedD1), to split the API's cost into HTTP/validation, SQL and the rest.
	if (path === "/__bench/direct-check") {
		const timing = { sqlMs: 0 };
		const results = await checkConsent(
			{ ...env, DB: timedD1(env.DB, timing) },
			(input.emails as string[]).map((email) => ({ email })),
			{
				channel: "email",
				topic: null,
				kind: "marketing",
				businessUnit: input.businessUnit ?? "default",
				readableUnits: null,
			} as Parameters<typeof checkConsent>[2],
		);
		let allowedCount = 0;
		for (const result of results) if (result.allowed) allowedCount++;
		return json({ results: results.map(({ allowed, reason }) => ({ allowed, reason })), allowedCount }, 200, {
			"x-sql-ms": String(timing.sqlMs),
		});
	}

	// Whether the isolate was restarted (e.g. a reload after a file change) between two calls.
	if (path === "/__bench/boot") {
		bootId ??= crypto.randomUUID();
		return json({ bootId });
	}

	// Ad-hoc investigation: any statement with its D1-reported time, row count and query plan.
	if (path === "/__bench/sql") {
		const params = (input.params as unknown[]) ?? [];
		const result = await env.DB.prepare(String(input.sql))
			.bind(...params)
			.all();
		const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${String(input.sql)}`)
			.bind(...params)
			.all();
		return json({
			sqlMs: result.meta.duration,
			rows: result.results.length,
			plan: plan.results.map((row) => row.detail),
		});
	}

	if (path === "/__bench/count") {
		const row = await env.DB.prepare(
			"SELECT (SELECT count(*) FROM contacts) AS contacts, (SELECT count(*) FROM blocklist) AS blocklist",
		).first();
		return json(row);
	}

	// How far the webhook consumer got: ledger rows of a source after a ledger id.
	// `contacts`: how many distinct contacts those rows are for (one per event of a webhook batch).
	if (path === "/__bench/ledger-progress") {
		const row = await env.DB.prepare(
			"SELECT count(*) AS rows, count(DISTINCT contact_id) AS contacts, coalesce(max(id), 0) AS lastId FROM ledger WHERE source = ?1 AND id > ?2",
		)
			.bind(String(input.source), Number(input.afterId ?? 0))
			.first<{ rows: number; contacts: number; lastId: number }>();
		const last = await env.DB.prepare("SELECT coalesce(max(id), 0) AS id FROM ledger").first<{ id: number }>();
		return json({ ...row, maxLedgerId: last?.id ?? 0 });
	}

	// The baseline of the webhook bench: the rows a batch of provider events ends in, written by one
	// raw D1 batch, no verification, queue or actor: for rows marked `new` (an address without a
	// contact) the contact, made as a lead already opted out (with its keyed address hash, which every
	// contact the service writes keeps); for every row a ledger row and an idempotency key; for the
	// other rows the opt-out on the stored contact (version + 1, as every update must).
	// CROSS JOIN keeps SQLite from scanning contacts per recipient: json_each drives the index lookups.
	if (path === "/__bench/raw-insert") {
		const started = Date.now();
		const counts = await rawInsert(env, input.rows as WebhookRow[]);
		return json({ ms: Date.now() - started, ...counts });
	}

	// The floor of any design with one actor per contact: the raw batch, plus a call that does
	// nothing to a fresh object per stored contact (6 at a time). What is left is starting objects.
	if (path === "/__bench/actor-floor") {
		const rows = input.rows as WebhookRow[];
		const started = Date.now();
		const actors = (env as BenchBindings).BENCH_ACTOR;
		const stored = rows.filter((row) => !row.new);
		await inParallel(stored, CONNECTIONS, (row) => actors.get(actors.idFromName(`floor:${row.email}`)).touch());
		const { created, updated } = await rawInsert(env, rows);
		return json({ ms: Date.now() - started, created, updated, actors: stored.length });
	}

	// The actor baseline of the webhook bench: the same rows, written the least way a set-based
	// consumer with one actor per contact can. One query resolves the stored contacts, one D1 batch
	// makes the new leads with their ledger rows and keys (as above), then each stored contact's
	// opt-out, ledger row and key is one D1 batch in a fresh actor of that contact, as many at once
	// as the consumer runs.
	if (path === "/__bench/actor-insert") {
		const rows = input.rows as WebhookRow[];
		const started = Date.now();
		const stored = rows.filter((row) => !row.new);
		const { results: found } = await env.DB.prepare(
			`SELECT r.value ->> 'key' AS key, r.value ->> 'event' AS event, c.id, c.version FROM json_each(?1) r
			 CROSS JOIN contacts c ON c.business_unit = 'default' AND c.email = r.value ->> 'email'`,
		)
			.bind(JSON.stringify(stored))
			.all<{ key: string; event: string; id: string; version: number }>();
		const { created } = await rawInsert(
			env,
			rows.filter((row) => row.new),
		);
		const now = new Date().toISOString();
		await inParallel(found, CONNECTIONS, async (row) => {
			const written = `EXISTS (SELECT 1 FROM contacts WHERE id = ?1 AND version = ${row.version + 1})`;
			await runBatch(
				env as BenchBindings,
				[
					{
						sql: `UPDATE contacts SET consent = json_set(consent, '$.channels.email.optedOut', json('true')), updated_at = ?2,
						 version = version + 1 WHERE id = ?1 AND version = ?3`,
						params: [row.id, now, row.version],
					},
					{
						sql: `INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, idempotency_key, occurred_at, received_at)
						 SELECT ?1, ?2, 'email', NULL, '[]', 1, '{}', 'bench:actor', ?3, ?4, ?4 WHERE ${written}`,
						params: [row.id, row.event, row.key, now],
					},
					{
						sql: `INSERT INTO idempotency_keys (contact_id, key, created_at) SELECT ?1, ?2, ?3 WHERE ${written}`,
						params: [row.id, row.key, now],
					},
				],
				true,
				row.id,
			);
		});
		return json({ ms: Date.now() - started, created, updated: found.length });
	}

	// The baseline of the one-click POST: the least D1 work a correct unsubscribe needs, for contact
	// `id`: one identity lookup, then one batch with the new consent (version + 1: the trigger
	// refuses any update that does not bump it, and the version read guards the write) and one ledger
	// row. No token, no actor, no idempotency key; answers a short text as the one-click route does.
	if (path === "/__bench/minimal-one-click") {
		const id = String(input.id);
		const contact = await env.DB.prepare("SELECT id, consent, version FROM contacts WHERE id = ?1")
			.bind(id)
			.first<{ id: string; consent: string; version: number }>();
		if (!contact) return json({ error: `no contact ${id}` }, 404);
		const now = new Date().toISOString();
		const consent = JSON.parse(contact.consent) as {
			channels: Record<string, { optedOut?: boolean } & Record<string, unknown>>;
		};
		const before = consent.channels.email?.optedOut === true;
		consent.channels.email = {
			bounced: false,
			bouncedAt: null,
			...consent.channels.email,
			optedOut: true,
			changedAt: now,
			optedOutAt: now,
		};
		const changes = before ? [] : [{ field: "channels.email.optedOut", from: false, to: true }];
		// `actor`: the same batch in a fresh actor of the contact (the actor baseline).
		const [updated] = await runBatch(
			env as BenchBindings,
			[
				{
					sql: "UPDATE contacts SET consent = ?1, updated_at = ?2, version = version + 1 WHERE id = ?3 AND version = ?4",
					params: [JSON.stringify(consent), now, id, contact.version],
				},
				{
					sql: `INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, occurred_at, received_at)
					 SELECT ?1, 'Opt Out', 'email', NULL, ?2, ?3, '{}', 'bench:minimal-one-click', ?4, ?4
					 WHERE EXISTS (SELECT 1 FROM contacts WHERE id = ?1 AND version = ?5)`,
					params: [id, JSON.stringify(changes), changes.length > 0 ? 1 : 0, now, contact.version + 1],
				},
			],
			input.actor === true,
			id,
		);
		if (updated !== 1) return json({ error: "written meanwhile" }, 409);
		return new Response("Unsubscribed.", { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
	}

	// The baseline of the contacts export: the same rows, columns and keyset pages as
	// GET /v1/exports/contacts.csv (no filter), read one page at a time and dropped; only counts
	// are returned. `limit` stops after that many rows (whole pages).
	if (path === "/__bench/raw-read") {
		const pageSize = Number(input.pageSize ?? EXPORT_PAGE_SIZE);
		const limit = input.limit === undefined ? Number.POSITIVE_INFINITY : Number(input.limit);
		const statement = env.DB.prepare(
			`SELECT id, external_id, email, phone, business_unit, created_at, updated_at, consent
			 FROM contacts WHERE id > ? ORDER BY id LIMIT ?`,
		);
		const started = Date.now();
		let rows = 0;
		let pages = 0;
		let chars = 0;
		let after = "";
		for (;;) {
			const { results } = await statement.bind(after, pageSize).all<{ id: string; consent: string }>();
			pages++;
			rows += results.length;
			for (const row of results) chars += row.consent.length;
			const last = results[results.length - 1];
			if (!last || results.length < pageSize || rows >= limit) break;
			after = last.id;
		}
		return json({ rows, pages, consentChars: chars, ms: Date.now() - started });
	}

	// The baseline of an import that changes nothing: the import's own contact lookups (by
	// externalId, email + business unit, phone + business unit, one D1 batch of three reads per 250
	// lines, as src/imports/importer.ts does) for the given [externalId, email, phone] triples, nothing else.
	if (path === "/__bench/raw-import-lookup") {
		const lines = input.lines as Array<[string | null, string | null, string | null]>;
		const businessUnit = String(input.businessUnit ?? "default");
		const batchLines = Number(input.batchLines ?? 250);
		const byExternalId = env.DB.prepare(
			"SELECT c.* FROM json_each(?) AS j JOIN contacts AS c ON c.external_id = j.value",
		);
		const byEmail = env.DB.prepare(
			"SELECT c.* FROM json_each(?) AS j JOIN contacts AS c ON c.business_unit = j.value ->> 0 AND c.email = j.value ->> 1",
		);
		const byPhone = env.DB.prepare(
			"SELECT c.* FROM json_each(?) AS j JOIN contacts AS c ON c.business_unit = j.value ->> 0 AND c.phone = j.value ->> 1",
		);
		const started = Date.now();
		const found = new Set<string>();
		let batches = 0;
		for (let from = 0; from < lines.length; from += batchLines) {
			const batch = lines.slice(from, from + batchLines);
			const results = await env.DB.batch<{ id: string }>([
				byExternalId.bind(JSON.stringify(batch.flatMap(([externalId]) => (externalId ? [externalId] : [])))),
				byEmail.bind(JSON.stringify(batch.flatMap(([, email]) => (email ? [[businessUnit, email]] : [])))),
				byPhone.bind(JSON.stringify(batch.flatMap(([, , phone]) => (phone ? [[businessUnit, phone]] : [])))),
			]);
			batches++;
			for (const result of results) for (const row of result.results) found.add(row.id);
		}
		return json({ lines: lines.length, contacts: found.size, batches, ms: Date.now() - started });
	}

	// The baseline of an import that creates contacts: the same new contacts (emails, in business
	// unit `businessUnit`), each opted out of email, with one ledger row (Opt Out) and one
	// idempotency key each, written by one D1 batch of three INSERT … SELECT over json_each.
	if (path === "/__bench/raw-insert-contacts") {
		const list = input.emails as string[];
		const emails = JSON.stringify(list);
		// The keyed address hash every contact the service creates keeps (SQL cannot make an HMAC).
		const hashes = JSON.stringify(await Promise.all(list.map((email) => keyedHash(env, email))));
		const businessUnit = String(input.businessUnit);
		const now = new Date().toISOString();
		const consent = JSON.stringify({
			blocked: false,
			channels: { email: { optedOut: true, bounced: false, changedAt: now, optedOutAt: now, bouncedAt: null } },
			topics: {},
		});
		const changes = JSON.stringify([{ field: "channels.email.optedOut", from: false, to: true }]);
		const started = Date.now();
		const [contacts, ledger, keys] = await env.DB.batch([
			env.DB.prepare(
				`INSERT INTO contacts (id, external_id, email, email_hash, business_unit, phone, traits, consent, created_at, updated_at)
				 SELECT 'raw-' || lower(hex(randomblob(12))), NULL, r.value, ?5 ->> r.key, ?2, NULL, '{}', ?3, ?4, ?4 FROM json_each(?1) r`,
			).bind(emails, businessUnit, consent, now, hashes),
			env.DB.prepare(
				`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, idempotency_key, occurred_at, received_at)
				 SELECT c.id, 'Opt Out', 'email', NULL, ?3, 1, '{}', 'bench:raw-import', 'raw:' || c.id, ?4, ?4
				 FROM json_each(?1) r CROSS JOIN contacts c ON c.business_unit = ?2 AND c.email = r.value`,
			).bind(emails, businessUnit, changes, now),
			env.DB.prepare(
				`INSERT INTO idempotency_keys (contact_id, key, created_at)
				 SELECT c.id, 'raw:' || c.id, ?3 FROM json_each(?1) r
				 CROSS JOIN contacts c ON c.business_unit = ?2 AND c.email = r.value`,
			).bind(emails, businessUnit, now),
		]);
		return json({
			contacts: contacts?.meta.changes,
			ledger: ledger?.meta.changes,
			idempotencyKeys: keys?.meta.changes,
			ms: Date.now() - started,
		});
	}

	return json({ error: "no such bench route" }, 404);
}

export default {
	...service,
	fetch(request, env, ctx) {
		// A substring test, not a URL parse, so the service's own routes pay (almost) nothing for this wrapper.
		if (request.url.includes("/__bench/")) return benchRoute(request, env);
		return service.fetch(request, env, ctx);
	},
} satisfies ExportedHandler<Bindings, QueueMessage>;
