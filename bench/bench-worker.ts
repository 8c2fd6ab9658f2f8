// Bench-only entry (bench/wrangler.bench.toml): the service exactly as src/index.ts exports it, plus
// /__bench/* routes that only `npm run bench` calls. Never deployed; not part of the service's API.
import { checkConsent } from "../src/api/check";
import { keyedHash } from "../src/crypto";
import type { Bindings } from "../src/env";
import { EXPORT_PAGE_SIZE } from "../src/exports/exports";
import service from "../src/index";

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

/** A D1 binding that adds up `meta.duration` of every statement run through it. */
function timedD1(db: D1Database, timing: { sqlMs: number }): D1Database {
	const inner = Symbol("inner");
	type Wrapped = D1PreparedStatement & { [inner]: D1PreparedStatement };
	const record = <T extends D1Result>(result: T) => {
		timing.sqlMs += result.meta.duration;
		return result;
	};
	const wrap = (statement: D1PreparedStatement): Wrapped =>
		({
			[inner]: statement,
			bind: (...values: unknown[]) => wrap(statement.bind(...values)),
			all: () => statement.all().then(record),
			run: () => statement.run().then(record),
			first: (column?: string) => (column === undefined ? statement.first() : statement.first(column)),
			raw: () => statement.raw(),
		}) as unknown as Wrapped;
	return {
		prepare: (query: string) => wrap(db.prepare(query)),
		batch: (statements: D1PreparedStatement[]) =>
			db.batch(statements.map((statement) => (statement as Wrapped)[inner])).then((results) => results.map(record)),
		exec: (query: string) => db.exec(query),
		withSession: () => {
			throw new Error("not used by checkConsent");
		},
		dump: () => db.dump(),
	} as unknown as D1Database;
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

	// Diagnostics: the service's checkConsent() without the HTTP layer, with the SQL time D1 reports
	// for the statements it runs, to split the API's cost into HTTP/validation, SQL and the rest.
	if (path === "/__bench/direct-check") {
		const timing = { sqlMs: 0 };
		const results = await checkConsent(
			{ ...env, DB: timedD1(env.DB, timing) },
			(input.emails as string[]).map((email) => ({ email })),
			{ channel: "email", topic: null, kind: "marketing", businessUnit: input.businessUnit ?? "default" },
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
	if (path === "/__bench/ledger-progress") {
		const row = await env.DB.prepare(
			"SELECT count(*) AS rows, coalesce(max(id), 0) AS lastId FROM ledger WHERE source = ?1 AND id > ?2",
		)
			.bind(String(input.source), Number(input.afterId ?? 0))
			.first<{ rows: number; lastId: number }>();
		const last = await env.DB.prepare("SELECT coalesce(max(id), 0) AS id FROM ledger").first<{ id: number }>();
		return json({ ...row, maxLedgerId: last?.id ?? 0 });
	}

	// The baseline of the webhook bench: the same number of ledger rows inserted with one D1 batch
	// (state update per contact, ledger row, idempotency key), no verification, queue or actor.
	// CROSS JOIN keeps SQLite from scanning contacts per recipient: json_each drives the index lookups.
	if (path === "/__bench/raw-insert") {
		const rows = input.rows as Array<{ email: string; event: string; key: string }>;
		const started = Date.now();
		const now = new Date().toISOString();
		await env.DB.batch([
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
				 WHERE business_unit = 'default' AND email IN (SELECT r.value ->> 'email' FROM json_each(?1) r)`,
			).bind(JSON.stringify(rows), now),
		]);
		return json({ ms: Date.now() - started });
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
		const emails = JSON.stringify(input.emails as string[]);
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
				`INSERT INTO contacts (id, external_id, email, business_unit, phone, traits, consent, created_at, updated_at)
				 SELECT 'raw-' || lower(hex(randomblob(12))), NULL, r.value, ?2, NULL, '{}', ?3, ?4, ?4 FROM json_each(?1) r`,
			).bind(emails, businessUnit, consent, now),
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
} satisfies ExportedHandler<Bindings>;
