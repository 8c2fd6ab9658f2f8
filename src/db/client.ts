/**
 * The database handles: drizzle over the D1 binding, with snake_case columns. Only
 * src/db/ talks SQL.
 *
 * - `database(env)`: the binding itself, made once per binding and isolate. Every statement goes
 *   to the primary database: writes, and reads that must see every write (the actor's).
 * - `readDatabase(env, bookmark)`: reads through a D1 session (the Sessions API), which may be
 *   served by a read replica no older than `bookmark` (consent checks, statistics).
 * - `writeSession(env)`: writes on a "first-primary" session whose bookmark the caller hands back
 *   to the client (the contact's actor), and `primaryBookmark(env)` for writes made without one.
 */
import { type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteRaw } from "drizzle-orm/sqlite-core/query-builders/raw";

// No relational queries anywhere, so no schema: drizzle walks the whole schema each time a handle is
// made with one, and the actor makes a handle over a new session for every write.
// drizzle only ever calls `prepare` and `batch` on its client, both of which a D1DatabaseSession
// has with the same signatures: a session stands in for the binding.
const open = (d1: D1Database | D1DatabaseSession) => drizzle(d1 as D1Database, { casing: "snake_case" });
/** A handle over the binding (the primary) or over a D1 session (`readDatabase`, `writeSession`). */
export type Database = ReturnType<typeof open>;

const handles = new WeakMap<D1Database, Database>();

export function database(env: { DB: D1Database }): Database {
	let handle = handles.get(env.DB);
	if (!handle) {
		handle = open(env.DB);
		handles.set(env.DB, handle);
	}
	return handle;
}

/** The constraint of a session without a bookmark: its first read may go to any replica. */
export const ANY_REPLICA = "first-unconstrained";

/**
 * Reads through a new D1 session: served by the nearest replica that has caught up with
 * `bookmark` (a client's `x-consent-bookmark`, validated by the caller), or by any replica when
 * there is none: such a read may lag the newest writes a little.
 */
export function readDatabase(env: { DB: D1Database }, bookmark: string | null): Database {
	return open(env.DB.withSession(bookmark ?? ANY_REPLICA));
}

/**
 * Writes whose bookmark goes back to the client: a handle over a session whose first statement
 * goes to the primary, and the session's bookmark once they ran (at or after their commit; null
 * before any statement ran).
 */
export function writeSession(env: { DB: D1Database }): { db: Database; bookmark: () => string | null } {
	const session = env.DB.withSession("first-primary");
	return { db: open(session), bookmark: () => session.getBookmark() };
}

/**
 * A bookmark at or after every write committed so far: one trivial read on the primary. For the
 * answers of writes that went through the plain binding (which gives no bookmark).
 */
export async function primaryBookmark(env: { DB: D1Database }): Promise<string | null> {
	const session = env.DB.withSession("first-primary");
	await session.prepare("SELECT 1").run();
	return session.getBookmark();
}

/**
 * A raw statement (`sql` template) that can go into `db.batch`: drizzle 0.45's D1 batch binds the
 * parameters of a raw query on a prepared statement that raw queries do not carry, so it is
 * prepared here. Awaited on its own it runs as usual; `runValues` runs one without building it again.
 */
export function statement(db: Database, query: SQL): SQLiteRaw<D1Result> {
	return prepared(db, db.run(query));
}

/** As `statement`, answering rows (`SELECT`, or `… RETURNING`). */
export function rowsOf<T>(db: Database, query: SQL): SQLiteRaw<T[]> {
	return prepared(db, db.all<T>(query));
}

/** As `rowsOf`, answering each row as an array of its columns (no object per row). */
export function valuesOf<T extends unknown[]>(db: Database, query: SQL): SQLiteRaw<T[]> {
	return prepared(db, db.values<T>(query));
}

// The query is built from its `sql` template once: drizzle would build it again for the batch
// (getQuery) and for a lone run, and on the consent check's path building is a quarter of the
// worker's own time (a CPU profile of GET /v1/consent).
function prepared<R extends SQLiteRaw<unknown>>(db: Database, raw: R): R {
	const built = raw.getQuery();
	return Object.assign(raw, { stmt: db.$client.prepare(built.sql), getQuery: () => built });
}

/** SQL text and its parameters, built once (e.g. a statement compiled once per shape, src/db/checks.ts). */
export interface BuiltQuery {
	sql: string;
	params: unknown[];
}

/** A built query run on its own, rows as arrays: one round trip, nothing of drizzle's around it. */
export function runBuilt<T extends unknown[]>(db: Database, built: BuiltQuery): Promise<T[]> {
	return db.$client
		.prepare(built.sql)
		.bind(...built.params)
		.raw<T>();
}

/**
 * As `valuesOf`, from SQL text and parameters built before (a statement compiled once per shape,
 * src/db/checks.ts), for `db.batch`; run alone, `runBuilt` needs no drizzle query around it.
 */
export function valuesOfBuilt<T extends unknown[]>(db: Database, built: BuiltQuery): SQLiteRaw<T[]> {
	const query = { ...built, method: "values" as const };
	return Object.assign(db.values<T>(sql.raw(built.sql)), {
		stmt: db.$client.prepare(built.sql),
		getQuery: () => query,
	});
}

/** A `valuesOf` statement run on its own, as it was prepared: one round trip, rows as arrays. */
export function runValues<T extends unknown[]>(query: SQLiteRaw<T[]>): Promise<T[]> {
	const { stmt } = query as unknown as { stmt: D1PreparedStatement };
	return stmt.bind(...query.getQuery().params).raw<T>();
}
