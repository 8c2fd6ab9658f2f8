/**
 * The database handle: drizzle over the D1 binding, with the schema's snake_case columns. Made
 * once per binding and isolate. Only src/db/ talks SQL.
 */
import type { SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { SQLiteRaw } from "drizzle-orm/sqlite-core/query-builders/raw";
import * as schema from "./schema";

const open = (d1: D1Database) => drizzle(d1, { schema, casing: "snake_case" });
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

/**
 * A raw statement (`sql` template) that can go into `db.batch`: drizzle 0.45's D1 batch binds the
 * parameters of a raw query on a prepared statement that raw queries do not carry, so it is
 * prepared here. Awaited on its own it runs as usual.
 */
export function statement(db: Database, query: SQL): SQLiteRaw<D1Result> {
	return prepared(db, db.run(query));
}

/** As `statement`, answering rows (`SELECT`, or `… RETURNING`). */
export function rowsOf<T>(db: Database, query: SQL): SQLiteRaw<T[]> {
	return prepared(db, db.all<T>(query));
}

function prepared<R extends SQLiteRaw<unknown>>(db: Database, raw: R): R {
	return Object.assign(raw, { stmt: db.$client.prepare(raw.getQuery().sql) });
}
