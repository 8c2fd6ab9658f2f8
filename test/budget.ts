/**
 * The per-invocation budget (at most 1,000 D1 queries plus Durable Object calls, Cloudflare's limit
 * on Workers Paid), counted on the real bindings: `countingEnv(env)` is the same env with DB and
 * the Durable Object namespaces wrapped so that every statement and every call is counted, then
 * passed on unchanged. Statements inside a `batch` count one each (stricter than Cloudflare, which
 * counts the batch as one subrequest), so a passing budget test holds under either reading.
 */

export const INVOCATION_BUDGET = 1000;

export interface Counts {
	/** D1 statements run (each statement of a batch counts). */
	d1: number;
	/** D1 round trips (a batch is one). */
	d1RoundTrips: number;
	/** Calls on Durable Object stubs (RPC methods and fetch). */
	durableObjectCalls: number;
	/** What the budget counts: d1 + durableObjectCalls. */
	readonly total: number;
}

const INNER = Symbol("inner statement");
type Wrapped = D1PreparedStatement & { [INNER]: D1PreparedStatement };

function countingStatement(statement: D1PreparedStatement, counts: Counts): Wrapped {
	const run = <T>(result: Promise<T>) => {
		counts.d1++;
		counts.d1RoundTrips++;
		return result;
	};
	return {
		[INNER]: statement,
		bind: (...values: unknown[]) => countingStatement(statement.bind(...values), counts),
		all: () => run(statement.all()),
		run: () => run(statement.run()),
		first: (column?: string) => run(column === undefined ? statement.first() : statement.first(column)),
		raw: (options?: { columnNames?: boolean }) => run(statement.raw(options as { columnNames: true })),
	} as unknown as Wrapped;
}

const unwrap = (statement: D1PreparedStatement) => (statement as Partial<Wrapped>)[INNER] ?? statement;

function countingD1<T extends D1Database | D1DatabaseSession>(db: T, counts: Counts): T {
	const wrapped = {
		prepare: (query: string) => countingStatement(db.prepare(query), counts),
		batch: (statements: D1PreparedStatement[]) => {
			counts.d1 += statements.length;
			counts.d1RoundTrips++;
			return db.batch(statements.map(unwrap));
		},
	} as Record<string, unknown>;
	if ("exec" in db) {
		wrapped.exec = (query: string) => {
			counts.d1++;
			counts.d1RoundTrips++;
			return db.exec(query);
		};
		wrapped.dump = () => db.dump();
		wrapped.withSession = (constraint?: string) => countingD1(db.withSession(constraint), counts);
	}
	if ("getBookmark" in db) wrapped.getBookmark = () => db.getBookmark();
	return wrapped as unknown as T;
}

function countingStub<T extends object>(stub: T, counts: Counts): T {
	return new Proxy(stub, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (typeof value !== "function" || property === "then") return value;
			return (...args: unknown[]) => {
				counts.durableObjectCalls++;
				// Reflect.apply: `.apply` on an RPC stub's method would be an RPC call of a method "apply".
				return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
			};
		},
	});
}

function countingNamespace(namespace: DurableObjectNamespace, counts: Counts): DurableObjectNamespace {
	return new Proxy(namespace, {
		get(target, property) {
			const value = Reflect.get(target, property);
			if (property === "get" || property === "getByName") {
				return (...args: unknown[]) =>
					countingStub(Reflect.apply(value as (...a: unknown[]) => object, target, args), counts);
			}
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

/** The env with counted D1 and Durable Object bindings; `counts` adds up from now on. */
export function countingEnv<E extends object>(env: E): { env: E; counts: Counts } {
	const counts: Counts = {
		d1: 0,
		d1RoundTrips: 0,
		durableObjectCalls: 0,
		get total() {
			return this.d1 + this.durableObjectCalls;
		},
	};
	const wrapped: Record<string, unknown> = { ...(env as Record<string, unknown>) };
	for (const [name, binding] of Object.entries(env)) {
		if (isD1(binding)) wrapped[name] = countingD1(binding, counts);
		else if (isNamespace(binding)) wrapped[name] = countingNamespace(binding, counts);
	}
	return { env: wrapped as E, counts };
}

const isD1 = (value: unknown): value is D1Database =>
	typeof value === "object" && value !== null && "prepare" in value && "batch" in value && "exec" in value;

const isNamespace = (value: unknown): value is DurableObjectNamespace =>
	typeof value === "object" && value !== null && "idFromName" in value && "get" in value;
