import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { keyedHash } from "../../../src/crypto";
import { api, unique } from "../../helpers";

/*
 * A seeded, bounded fuzz test of every route the service's own OpenAPI document lists (a route
 * added later is fuzzed without touching this file). Each request breaks one thing — a body field,
 * a query parameter, a path parameter, the encoding, the content type or the credentials — and
 * carries a marker of its own. The rules:
 *   1. never a 5xx (nor a 1xx/3xx);
 *   2. every 4xx is application/problem+json with {type, title, status, detail, code};
 *   3. after a 4xx no row of any D1 table holds the request's marker (nothing was written).
 * 2xx answers are fine: some generated inputs are valid.
 */

const SEED = 20_261_123;
const RUNS_PER_ROUTE = 60;
const DEPTH = 3000;
const HUGE = 200 * 1024;
const OVER_LIMIT = 1024 * 1024 + 1;
/** One more than the largest batch any route takes (10,000). */
const MANY_ITEMS = 10_001;

/** Every marker of this file starts with RUN; markers have one length, so none contains another. */
const RUN = unique("fz");
let counter = 0;
const nextMarker = () => `${RUN}-${(counter++).toString(36).padStart(4, "0")}`;
/** Markers of requests that got a 2xx: the only ones allowed in the database. */
const accepted = new Set<string>();
const stats = { requests: 0, refused: 0, routes: 0 };

// --- The OpenAPI document --------------------------------------------------------------------

interface Schema {
	$ref?: string;
	type?: string | string[];
	properties?: Record<string, Schema>;
	required?: string[];
	items?: Schema;
	anyOf?: Schema[];
	oneOf?: Schema[];
	allOf?: Schema[];
	enum?: unknown[];
	const?: unknown;
	format?: string;
	pattern?: string;
	minLength?: number;
	maxLength?: number;
	minimum?: number;
	exclusiveMinimum?: number;
	minItems?: number;
	additionalProperties?: boolean | Schema;
	propertyNames?: Schema;
	example?: unknown;
}
interface Parameter {
	name: string;
	in: string;
	required?: boolean;
	schema?: Schema;
}
interface Operation {
	parameters?: Parameter[];
	requestBody?: { content?: Record<string, { schema?: Schema; example?: unknown }> };
	security?: unknown[];
}
interface Route {
	method: string;
	path: string;
	key: string;
	secured: boolean;
	pathParams: Parameter[];
	queryParams: Parameter[];
	/** Media types of the request body, with their schemas; empty: the route takes no body. */
	media: Array<{ type: string; schema: Schema; example?: unknown }>;
}

const docResponse = await api("GET", "/openapi.json", { key: null });
const doc = (await docResponse.json()) as {
	paths: Record<string, Record<string, Operation> & { parameters?: Parameter[] }>;
	components?: { schemas?: Record<string, Schema> };
	security?: unknown[];
};
/** A topic of this file (of every business unit), so that generated topic fields can name one that exists. */
const FUZZ_TOPIC = unique("fztopic");
const topicResponse = await api("PUT", `/v1/topics/${FUZZ_TOPIC}`, { body: { name: FUZZ_TOPIC, channel: "email" } });

const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

const routes: Route[] = Object.entries(doc.paths).flatMap(([path, item]) =>
	Object.entries(item)
		.filter(([method]) => HTTP_METHODS.includes(method))
		.map(([method, value]) => {
			const op = value as Operation;
			const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])];
			return {
				method: method.toUpperCase(),
				path,
				key: `${method.toUpperCase()} ${path}`,
				secured: (op.security ?? doc.security ?? []).length > 0,
				pathParams: parameters.filter((p) => p.in === "path"),
				queryParams: parameters.filter((p) => p.in === "query"),
				media: Object.entries(op.requestBody?.content ?? {}).map(([type, content]) => ({
					type,
					schema: content.schema ?? {},
					example: content.example ?? content.schema?.example,
				})),
			};
		}),
);

function deref(schema: Schema | undefined): Schema {
	let s = schema ?? {};
	for (let hops = 0; s.$ref && hops < 20; hops++) {
		s = doc.components?.schemas?.[s.$ref.replace("#/components/schemas/", "")] ?? {};
	}
	if (s.allOf) {
		const parts = s.allOf.map(deref);
		return {
			...s,
			allOf: undefined,
			type: "object",
			properties: Object.assign({}, ...parts.map((part) => part.properties ?? {})),
			required: parts.flatMap((part) => part.required ?? []),
		};
	}
	return s;
}

// --- Valid-looking values, from the schemas ----------------------------------------------------

interface Ctx {
	marker: string;
	email: string;
	rand: () => number;
	n: number;
}

/** mulberry32: the plan's seed decides every choice the schema leaves open. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function newCtx(seed: number): Ctx {
	const marker = nextMarker();
	return { marker, email: `${marker}@example.de`, rand: prng(seed), n: counter };
}

const pick = <T>(ctx: Ctx, list: readonly T[]): T => list[Math.floor(ctx.rand() * list.length)] as T;

function fits(schema: Schema, value: string): boolean {
	if (schema.minLength !== undefined && value.length < schema.minLength) return false;
	if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
	return schema.pattern === undefined || new RegExp(schema.pattern).test(value);
}

/**
 * A string for a field: the marker (or its email) wherever it fits, so that a write would show.
 * Documented examples are names other tests may use ("u1"): only free text and dates are taken.
 */
function sampleString(schema: Schema, name: string, ctx: Ctx): string {
	const example = typeof schema.example === "string" ? schema.example : undefined;
	if (schema.format === "email" || example?.includes("@") || /email|address/i.test(name)) return ctx.email;
	if (schema.format === "uuid") return crypto.randomUUID();
	if (schema.format === "date-time") return new Date(Date.now() - 60_000).toISOString();
	if (/^\+\d{6,}$/.test(example ?? "") || /phone/i.test(name)) {
		return `+49176${String(Math.floor(ctx.rand() * 1e8)).padStart(8, "0")}`;
	}
	if (example && /^\d{4}-\d{2}-\d{2}/.test(example)) return example;
	if (/topic/i.test(name) && fits(schema, FUZZ_TOPIC) && ctx.rand() < 0.6) return FUZZ_TOPIC;
	if (example && /\s/.test(example) && ctx.rand() < 0.3) return example;
	return (
		[ctx.marker, example, "1"].find((value): value is string => value !== undefined && fits(schema, value)) ??
		ctx.marker
	);
}

function sample(schema: Schema | undefined, name: string, ctx: Ctx, depth = 0): unknown {
	const s = deref(schema);
	if (depth > 8) return null;
	const options = s.anyOf ?? s.oneOf;
	if (options) return sample(pick(ctx, options), name, ctx, depth);
	if (s.enum) return pick(ctx, s.enum);
	if ("const" in s) return s.const;
	const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
	switch (type ?? (s.properties ? "object" : undefined)) {
		case "string":
			return sampleString(s, name, ctx);
		case "integer":
		case "number":
			return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
		case "boolean":
			return ctx.rand() < 0.5;
		case "array": {
			if (Array.isArray(s.example)) return s.example;
			const length = Math.min(3, Math.max(1, s.minItems ?? 1));
			return Array.from({ length }, () => sample(s.items, name, ctx, depth + 1));
		}
		case "object": {
			const out: Record<string, unknown> = {};
			const required = new Set(s.required ?? []);
			for (const [key, child] of Object.entries(s.properties ?? {})) {
				// The business unit is always the marker: whatever gets written stays in a unit of its own.
				if (required.has(key) || key === "businessUnit" || ctx.rand() < 0.5)
					out[key] = sample(child, key, ctx, depth + 1);
			}
			if (!s.properties && s.additionalProperties !== false) {
				const key = (s.propertyNames?.enum?.[0] as string | undefined) ?? "note";
				out[key] =
					typeof s.additionalProperties === "object" ? sample(s.additionalProperties, key, ctx, depth + 1) : "";
				if (typeof out[key] !== "string" || out[key] === "") out[key] = ctx.marker;
			}
			return out;
		}
		default:
			return ctx.marker;
	}
}

/** Strings of an example with every email in it replaced by the marker's. */
function fromExample(value: unknown, ctx: Ctx): unknown {
	if (typeof value === "string") return value.replace(/[^\s,;"@]+@[^\s,;"]+/g, ctx.email);
	if (Array.isArray(value)) return value.map((item) => fromExample(item, ctx));
	if (value && typeof value === "object") {
		return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fromExample(item, ctx)]));
	}
	return value;
}

// --- Bad inputs ----------------------------------------------------------------------------------

const fullwidth = (text: string) =>
	text.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0x21 + 0xff01));

/** Odd Unicode around a valid value; the value (and so the marker) stays in one piece. */
const ODD = {
	zeroWidth: (v: string) => `\u200b${v}\u200b`,
	rtlOverride: (v: string) => `\u202e${v}`,
	loneHigh: (v: string) => `${v}\ud800`,
	loneLow: (v: string) => `\udc00${v}`,
	nul: (v: string) => `${v}\u0000`,
	fullwidth: (v: string) => `${fullwidth(v.slice(0, 3))}${v}`,
	emoji: (v: string) => `${v}😀👩‍👩‍👧‍👦🏳️‍🌈`,
	combining: (v: string) => `${v}Z̷̛͓̈́a̶͗l̴g̸o`,
	bom: (v: string) => `\ufeff${v}`,
	lineSeparators: (v: string) => `${v}\u2028\u2029\u0085`,
	crlf: (v: string) => `${v}\r\nX-Injected: 1`,
	sql: (v: string) => `${v}' OR '1'='1'; --`,
	html: (v: string) => `<script>${v}</script>`,
	blank: (v: string) => ` \t${v}\t `,
	nonCharacters: (v: string) => `${v}\uffff\ufffe\u{10ffff}\u{e0001}`,
	escapes: (v: string) => `${v}\u001b[31m\u0007\b`,
	empty: () => "",
} satisfies Record<string, (value: string) => string>;
type OddKind = keyof typeof ODD;
const ODD_KINDS = Object.keys(ODD) as OddKind[];
const odd = (value: string, kinds: OddKind[]) => kinds.reduce((text, kind) => ODD[kind](text), value);

const WRONG_VALUES: Array<(marker: string) => unknown> = [
	() => 42,
	() => -1,
	() => 1.5,
	() => 1e308,
	() => 0,
	() => true,
	() => false,
	() => null,
	() => [],
	(m) => [m],
	() => [[]],
	() => ({}),
	(m) => ({ [m]: m }),
	(m) => ({ $ref: m }),
	(m) => [{ id: m }, null],
	(m) => m,
	() => "",
	() => "true",
	() => "42",
];
const UNKNOWN_NAMES = ["extra", "__proto__", "constructor", "MARKER", "", "toString", "a.b", "😀", "id ", "EMAIL"];
const QUERY_WRONG = [
	"[]",
	"{}",
	"null",
	"-1",
	"1e999",
	"0x1F",
	"NaN",
	"Infinity",
	"true",
	"",
	"1.5",
	" 1 ",
	"9".repeat(40),
];
const URL_BAD_BYTES = ["%FF", "%ED%A0%80", "%", "%C0%AF", "%00", "%E2%82", "%zz", "%2F..%2F..", "%25"];
const BODY_BAD_BYTES = [
	[0xff],
	[0xc0, 0xaf],
	[0xed, 0xa0, 0x80],
	[0xf4, 0x90, 0x80, 0x80],
	[0x80],
	[0xe2, 0x82],
	[0xfe],
];
const MALFORMED: Array<(text: string) => string> = [
	(t) => t.slice(0, Math.floor(t.length / 2)),
	(t) => t.replace(/}\s*$/, ",}"),
	(t) => t.replaceAll('"', "'"),
	(t) => `${t}${t}`,
	(t) => `/* c */${t}`,
	() => "undefined",
	(t) => `{"a": NaN, ${t.slice(1)}`,
	(t) => `${t}]`,
	(t) => `"${t}`,
	(t) => t.replace(":", "::"),
	(t) => `\ufeff\ufeff${t}`,
];
const CONTENT_TYPES = [
	"text/plain",
	"",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=x",
	"application/json; charset=utf-16",
	"application/json; charset=latin1",
	"application/xml",
	"application/jsonx",
	"json",
	"text/csv; charset=utf-16",
	"application/x-ndjson; charset=iso-8859-1",
	"*/*",
	"APPLICATION/JSON",
	"application/problem+json",
];
const TOP_LEVEL = ["[]", "42", '"s"', "null", "true", "[{}]", "{}", '""', "-0", "1e999", ""];

function nested(shape: "array" | "object", depth: number, leaf: unknown): unknown {
	let value = leaf;
	for (let i = 0; i < depth; i++) value = shape === "array" ? [value] : { a: value };
	return value;
}

/** Percent-encodes anything, lone surrogates too (as the invalid UTF-8 bytes of WTF-8). */
function encode(text: string): string {
	let out = "";
	for (let i = 0; i < text.length; i++) {
		const unit = text.charCodeAt(i);
		const next = text.charCodeAt(i + 1);
		if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
			out += encodeURIComponent(text.slice(i, i + 2));
			i++;
		} else if (unit >= 0xd800 && unit <= 0xdfff) {
			out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
				.map((byte) => `%${byte.toString(16).toUpperCase()}`)
				.join("");
		} else {
			out += encodeURIComponent(text[i] as string);
		}
	}
	return out;
}

// --- Plans: what a request breaks (small, printable; values are made from them at run time) ------

type ValueMutation =
	| { kind: "none" }
	| { kind: "wrongType"; slot: number; value: number }
	| { kind: "odd"; slot: number; odd: OddKind[] }
	| { kind: "huge"; slot: number }
	| { kind: "overLimit"; slot: number }
	| { kind: "deep"; slot: number; shape: "array" | "object" }
	| { kind: "unknownField"; slot: number; name: number }
	| { kind: "dropField"; slot: number }
	| { kind: "manyItems"; slot: number };
type BodyPlan =
	| { kind: "value"; media: number; mutation: ValueMutation }
	| { kind: "malformed"; media: number; how: number }
	| { kind: "invalidUtf8"; media: number; bytes: number }
	| { kind: "contentType"; media: number; type: number }
	| { kind: "topLevel"; media: number; value: number };
type QueryPlan =
	| { kind: "none" }
	| { kind: "odd"; param: number; odd: OddKind[] }
	| { kind: "wrongType"; param: number; value: number }
	| { kind: "repeat"; param: number }
	| { kind: "unknown"; name: number }
	| { kind: "badEncoding"; param: number; bytes: number }
	| { kind: "huge"; param: number }
	| { kind: "drop"; param: number }
	| { kind: "bracket"; param: number };
type PathPlan =
	| { kind: "odd"; param: number; odd: OddKind[] }
	| { kind: "wrongType"; param: number; value: number }
	| { kind: "badEncoding"; param: number; bytes: number }
	| { kind: "huge"; param: number };
type AuthPlan = "none" | "wrongKey" | "basic" | "emptyBearer" | "twoTokens";
type Fault =
	| { where: "body"; body: BodyPlan }
	| { where: "query"; query: QueryPlan }
	| { where: "path"; path: PathPlan }
	| { where: "auth"; auth: AuthPlan };
interface Plan {
	seed: number;
	fault: Fault;
}

const index = fc.nat({ max: 1000 });
const oddKinds = fc.array(fc.constantFrom(...ODD_KINDS), { minLength: 1, maxLength: 3 });
const choice = (list: readonly unknown[]) => fc.nat({ max: list.length - 1 });

const valueMutationArb: fc.Arbitrary<ValueMutation> = fc.oneof(
	{ weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
	{
		weight: 5,
		arbitrary: fc.record({ kind: fc.constant("wrongType" as const), slot: index, value: choice(WRONG_VALUES) }),
	},
	{ weight: 5, arbitrary: fc.record({ kind: fc.constant("odd" as const), slot: index, odd: oddKinds }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("huge" as const), slot: index }) },
	{
		weight: 1,
		arbitrary: fc.record({
			kind: fc.constant("deep" as const),
			slot: index,
			shape: fc.constantFrom("array", "object"),
		}),
	},
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("unknownField" as const), slot: index, name: choice(UNKNOWN_NAMES) }),
	},
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant("dropField" as const), slot: index }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("manyItems" as const), slot: index }) },
);

const bodyPlanArb: fc.Arbitrary<BodyPlan> = fc.oneof(
	{
		weight: 8,
		arbitrary: fc.record({ kind: fc.constant("value" as const), media: index, mutation: valueMutationArb }),
	},
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("malformed" as const), media: index, how: choice(MALFORMED) }),
	},
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("invalidUtf8" as const), media: index, bytes: choice(BODY_BAD_BYTES) }),
	},
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("contentType" as const), media: index, type: choice(CONTENT_TYPES) }),
	},
	{
		weight: 1,
		arbitrary: fc.record({ kind: fc.constant("topLevel" as const), media: index, value: choice(TOP_LEVEL) }),
	},
);

const queryPlanArb: fc.Arbitrary<QueryPlan> = fc.oneof(
	{ weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
	{ weight: 4, arbitrary: fc.record({ kind: fc.constant("odd" as const), param: index, odd: oddKinds }) },
	{
		weight: 3,
		arbitrary: fc.record({ kind: fc.constant("wrongType" as const), param: index, value: choice(QUERY_WRONG) }),
	},
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("repeat" as const), param: index }) },
	{ weight: 2, arbitrary: fc.record({ kind: fc.constant("unknown" as const), name: choice(UNKNOWN_NAMES) }) },
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("badEncoding" as const), param: index, bytes: choice(URL_BAD_BYTES) }),
	},
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("huge" as const), param: index }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), param: index }) },
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("bracket" as const), param: index }) },
);

const pathPlanArb: fc.Arbitrary<PathPlan> = fc.oneof(
	{ weight: 3, arbitrary: fc.record({ kind: fc.constant("odd" as const), param: index, odd: oddKinds }) },
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("wrongType" as const), param: index, value: choice(QUERY_WRONG) }),
	},
	{
		weight: 2,
		arbitrary: fc.record({ kind: fc.constant("badEncoding" as const), param: index, bytes: choice(URL_BAD_BYTES) }),
	},
	{ weight: 1, arbitrary: fc.record({ kind: fc.constant("huge" as const), param: index }) },
);

const authArb = fc.constantFrom<AuthPlan>("none", "wrongKey", "basic", "emptyBearer", "twoTokens");

const takesBody = (route: Route) => route.method !== "GET" && route.method !== "HEAD";

function planArb(route: Route): fc.Arbitrary<Plan> {
	const faults: Array<fc.WeightedArbitrary<Fault>> = [
		{
			weight: route.queryParams.length > 0 ? 4 : 1,
			arbitrary: queryPlanArb.map((query) => ({ where: "query", query })),
		},
		{ weight: 1, arbitrary: authArb.map((auth) => ({ where: "auth", auth })) },
	];
	if (takesBody(route)) {
		faults.push({
			weight: route.media.length > 0 ? 8 : 2,
			arbitrary: bodyPlanArb.map((body) => ({ where: "body", body })),
		});
	}
	if (route.pathParams.length > 0) {
		faults.push({ weight: 3, arbitrary: pathPlanArb.map((path) => ({ where: "path", path })) });
	}
	return fc.record({ seed: fc.integer(), fault: fc.oneof(...faults) });
}

/** The same hard cases for every route, before the random ones. */
function examplesFor(route: Route): Plan[] {
	const plans: Fault[] = [{ where: "auth", auth: "none" }];
	if (takesBody(route)) {
		const body = (plan: BodyPlan): Fault => ({ where: "body", body: plan });
		const value = (mutation: ValueMutation) => body({ kind: "value", media: 0, mutation });
		plans.push(
			value({ kind: "deep", slot: 0, shape: "array" }),
			value({ kind: "deep", slot: 1, shape: "object" }),
			value({ kind: "huge", slot: 0 }),
			value({ kind: "overLimit", slot: 0 }),
			value({ kind: "odd", slot: 0, odd: ["zeroWidth", "rtlOverride", "loneHigh", "nul", "fullwidth", "emoji"] }),
			value({ kind: "unknownField", slot: 0, name: 0 }),
			value({ kind: "manyItems", slot: 0 }),
			body({ kind: "invalidUtf8", media: 0, bytes: 0 }),
			body({ kind: "invalidUtf8", media: 0, bytes: 2 }),
			body({ kind: "malformed", media: 0, how: 0 }),
			body({ kind: "contentType", media: 0, type: 0 }),
			body({ kind: "contentType", media: 0, type: 1 }),
			body({ kind: "topLevel", media: 0, value: 0 }),
		);
	}
	plans.push(
		{ where: "query", query: { kind: "unknown", name: 0 } },
		{ where: "query", query: { kind: "odd", param: 0, odd: ["loneLow", "nul", "zeroWidth"] } },
		{ where: "query", query: { kind: "badEncoding", param: 0, bytes: 0 } },
	);
	if (route.queryParams.length > 0) plans.push({ where: "query", query: { kind: "repeat", param: 0 } });
	if (route.pathParams.length > 0) {
		plans.push(
			{ where: "path", path: { kind: "odd", param: 0, odd: ["rtlOverride", "loneHigh", "fullwidth"] } },
			{ where: "path", path: { kind: "badEncoding", param: 0, bytes: 1 } },
			{ where: "path", path: { kind: "huge", param: 0 } },
		);
	}
	return plans.map((fault, i) => ({ seed: i + 1, fault }));
}

// --- Turning a plan into a request -------------------------------------------------------------

interface Slot {
	path: string;
	get: () => unknown;
	set: (value: unknown) => void;
	remove?: () => void;
}

/** Every place in a JSON value: the root, each property and each array element. */
function slotsOf(holder: { value: unknown }): Slot[] {
	const slots: Slot[] = [];
	const visit = (parent: any, key: string | number, path: string, isRoot: boolean) => {
		slots.push({
			path,
			get: () => parent[key],
			set: (value) => defineOwn(parent, key, value),
			remove: isRoot
				? undefined
				: () => {
						if (Array.isArray(parent)) parent.splice(Number(key), 1);
						else delete parent[key];
					},
		});
		const value = parent[key];
		if (value && typeof value === "object") {
			for (const [childKey] of Object.entries(value)) {
				visit(
					value,
					Array.isArray(value) ? Number(childKey) : childKey,
					path ? `${path}.${childKey}` : childKey,
					false,
				);
			}
		}
	};
	visit(holder, "value", "", true);
	return slots;
}

/** Sets an own property, also for names like __proto__ (which plain assignment would not create). */
function defineOwn(target: any, key: string | number, value: unknown) {
	Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const nth = <T>(list: readonly T[], i: number): T | undefined => list[i % Math.max(1, list.length)];

function mutateValue(holder: { value: unknown }, mutation: ValueMutation, ctx: Ctx) {
	const slots = slotsOf(holder);
	const strings = slots.filter((slot) => typeof slot.get() === "string");
	const objects = slots.filter((slot) => {
		const value = slot.get();
		return value !== null && typeof value === "object" && !Array.isArray(value);
	});
	const stringOr = (i: number) => nth(strings, i) ?? (nth(slots, i) as Slot);
	switch (mutation.kind) {
		case "none":
			return;
		case "wrongType":
			nth(slots, mutation.slot)?.set(WRONG_VALUES[mutation.value]?.(ctx.marker));
			return;
		case "odd": {
			const slot = stringOr(mutation.slot);
			const current = slot.get();
			slot.set(odd(typeof current === "string" ? current : ctx.marker, mutation.odd));
			return;
		}
		case "huge":
		case "overLimit": {
			const slot = stringOr(mutation.slot);
			const current = slot.get();
			const size = mutation.kind === "huge" ? HUGE : OVER_LIMIT;
			slot.set(`${typeof current === "string" ? current : ctx.marker}${"x".repeat(size)}`);
			return;
		}
		case "deep":
			nth(slots, mutation.slot)?.set(nested(mutation.shape, DEPTH, ctx.marker));
			return;
		case "unknownField": {
			const name = (UNKNOWN_NAMES[mutation.name] as string).replace("MARKER", ctx.marker);
			const target = nth(objects, mutation.slot)?.get();
			if (target) defineOwn(target, name, ctx.marker);
			return;
		}
		case "manyItems": {
			const arrays = slots.filter((slot) => Array.isArray(slot.get()));
			const slot = nth(arrays, mutation.slot) ?? nth(slots, mutation.slot);
			const first = (slot?.get() as unknown[] | undefined)?.[0] ?? ctx.marker;
			slot?.set(Array.from({ length: MANY_ITEMS }, () => structuredClone(first)));
			return;
		}
		case "dropField":
			nth(
				slots.filter((slot) => slot.remove),
				mutation.slot,
			)?.remove?.();
			return;
	}
}

type MediaKind = "json" | "lines" | "text";
const mediaKind = (type: string): MediaKind => {
	const essence = type.split(";")[0]?.trim().toLowerCase() ?? "";
	if (/ndjson|jsonl|json-seq/.test(essence)) return "lines";
	return /^application\/(.+\+)?json$/.test(essence) ? "json" : "text";
};

function csvCell(value: unknown): string {
	const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
	return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A body value for a media type: from the schema (JSON), else from the documented example. */
function baseBody(media: Route["media"][number] | undefined, ctx: Ctx): unknown {
	if (!media) return { [ctx.marker]: ctx.marker };
	const kind = mediaKind(media.type);
	if (kind === "json") return sample(media.schema, "body", ctx);
	const example = typeof media.example === "string" ? media.example : "";
	const lines = example.split(/\r?\n/).filter((line) => line.trim() !== "");
	if (kind === "lines") {
		try {
			return fromExample(JSON.parse(lines[0] ?? ""), ctx);
		} catch {
			return { email: ctx.email };
		}
	}
	// CSV: the header and the first row as one record.
	const [header, row] = lines.map((line) => line.split(","));
	if (!header || !row) return { email: ctx.email };
	return Object.fromEntries(header.map((name, i) => [name, fromExample(row[i] ?? "", ctx)]));
}

function serialize(value: unknown, kind: MediaKind): string {
	if (kind === "json") return JSON.stringify(value) ?? "";
	if (kind === "lines") return `${JSON.stringify(value) ?? ""}\n`;
	if (value === null || typeof value !== "object" || Array.isArray(value)) return `${csvCell(value)}\r\n`;
	const entries = Object.entries(value);
	return `${entries.map(([name]) => csvCell(name)).join(",")}\r\n${entries.map(([, cell]) => csvCell(cell)).join(",")}\r\n`;
}

function withBadBytes(text: string, bytes: number[], marker: string): Uint8Array {
	const at = text.includes(marker) ? text.indexOf(marker) + marker.length : Math.floor(text.length / 2);
	const encoder = new TextEncoder();
	const head = encoder.encode(text.slice(0, at));
	const tail = encoder.encode(text.slice(at));
	const out = new Uint8Array(head.length + bytes.length + tail.length);
	out.set(head, 0);
	out.set(bytes, head.length);
	out.set(tail, head.length + bytes.length);
	return out;
}

interface Built {
	path: string;
	key?: string | null;
	headers: Record<string, string>;
	raw?: BodyInit;
}

function buildBody(route: Route, plan: BodyPlan | undefined, ctx: Ctx): Pick<Built, "headers" | "raw"> {
	if (!takesBody(route)) return { headers: {} };
	const media = nth(route.media, plan?.media ?? 0);
	const type = media?.type ?? "application/json";
	const kind = mediaKind(type);
	const holder = { value: baseBody(media, ctx) };
	if (!plan)
		return route.media.length > 0
			? { headers: { "content-type": type }, raw: serialize(holder.value, kind) }
			: { headers: {} };
	switch (plan.kind) {
		case "value":
			mutateValue(holder, plan.mutation, ctx);
			return { headers: { "content-type": type }, raw: serialize(holder.value, kind) };
		case "malformed":
			return {
				headers: { "content-type": type },
				raw: (MALFORMED[plan.how] as (t: string) => string)(serialize(holder.value, kind)),
			};
		case "invalidUtf8":
			return {
				headers: { "content-type": type },
				raw: withBadBytes(serialize(holder.value, kind), BODY_BAD_BYTES[plan.bytes] as number[], ctx.marker),
			};
		case "contentType": {
			const contentType = CONTENT_TYPES[plan.type] as string;
			const text = serialize(holder.value, kind);
			// Without a content type, a Uint8Array: a string body would be sent as text/plain.
			if (contentType === "") return { headers: {}, raw: new TextEncoder().encode(text) };
			return { headers: { "content-type": contentType }, raw: text };
		}
		case "topLevel":
			return { headers: { "content-type": type }, raw: TOP_LEVEL[plan.value] as string };
	}
}

function buildQuery(route: Route, plan: QueryPlan | undefined, ctx: Ctx): string {
	const pairs: Array<[string, string]> = [];
	const params = route.queryParams;
	for (const param of params) {
		if (!param.required && param.name !== "businessUnit" && ctx.rand() < 0.5) continue;
		const value = sample(param.schema, param.name, ctx);
		for (const item of Array.isArray(value) ? value : [value]) pairs.push([encode(param.name), encode(String(item))]);
	}
	if (!plan || plan.kind === "none") return render(pairs);
	if (plan.kind === "unknown") {
		const name = (UNKNOWN_NAMES[plan.name] as string).replace("MARKER", ctx.marker);
		pairs.push([encode(name), encode(ctx.marker)]);
		return render(pairs);
	}
	const param = nth(params, plan.param);
	const name = encode(param?.name ?? ctx.marker);
	const valid = param ? String(sample(param.schema, param.name, ctx)) : ctx.marker;
	const others = pairs.filter(([existing]) => existing !== name);
	switch (plan.kind) {
		case "odd":
			return render([...others, [name, encode(odd(valid, plan.odd))]]);
		case "wrongType":
			return render([...others, [name, encode(QUERY_WRONG[plan.value] as string)]]);
		case "repeat":
			return render([...others, [name, encode(valid)], [name, encode(`${ctx.marker}-2`)]]);
		case "badEncoding":
			return render([...others, [name, `${encode(valid)}${URL_BAD_BYTES[plan.bytes]}`]]);
		case "huge":
			return render([...others, [name, encode(`${valid}${"q".repeat(HUGE)}`)]]);
		case "drop":
			return render(others);
		case "bracket":
			return render([...others, [`${name}[]`, encode(valid)], [`${name}[x]`, encode(ctx.marker)]]);
	}
}

const render = (pairs: Array<[string, string]>) =>
	pairs.length === 0 ? "" : `?${pairs.map(([name, value]) => `${name}=${value}`).join("&")}`;

function pathParamValue(param: Parameter, ctx: Ctx): string {
	const schema = deref(param.schema);
	// Ids of nothing: a fuzzed replay or delete must never reach another test's data.
	if (schema.type === "integer" || schema.type === "number") return String(900_000_000_000 + ctx.n);
	return String(sample(schema, param.name, ctx));
}

function buildPath(route: Route, plan: PathPlan | undefined, ctx: Ctx): string {
	const target = plan ? nth(route.pathParams, plan.param) : undefined;
	return route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
		const param = route.pathParams.find((p) => p.name === name) ?? { name, in: "path" };
		const valid = pathParamValue(param, ctx);
		if (!plan || param !== target) return encode(valid);
		switch (plan.kind) {
			case "odd":
				return encode(odd(valid, plan.odd));
			case "wrongType":
				return encode(QUERY_WRONG[plan.value] as string);
			case "badEncoding":
				return `${encode(valid)}${URL_BAD_BYTES[plan.bytes]}`;
			case "huge":
				return encode(`${valid}${"p".repeat(HUGE)}`);
		}
	});
}

function build(route: Route, plan: Plan, ctx: Ctx): Built {
	const { fault } = plan;
	const path = buildPath(route, fault.where === "path" ? fault.path : undefined, ctx);
	const query = buildQuery(route, fault.where === "query" ? fault.query : undefined, ctx);
	const body = buildBody(route, fault.where === "body" ? fault.body : undefined, ctx);
	const built: Built = { path: `${path}${query}`, ...body };
	if (fault.where === "auth") {
		built.key = null;
		const authorization = {
			none: undefined,
			wrongKey: `Bearer ce_${ctx.marker}`,
			basic: `Basic ${btoa(`admin:${ctx.marker}`)}`,
			emptyBearer: "Bearer ",
			twoTokens: `Bearer test-admin-token ${ctx.marker}`,
		}[fault.auth];
		if (authorization !== undefined) built.headers.authorization = authorization;
	}
	return built;
}

// --- The rules -----------------------------------------------------------------------------------

interface Table {
	name: string;
	columns: string[];
}
let tablesMemo: Promise<Table[]> | null = null;
const quoteId = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every D1 table of the app with its text columns, read from the schema itself. */
function tables(): Promise<Table[]> {
	tablesMemo ??= (async () => {
		const { results } = await env.DB.prepare(
			"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
		).all<{ name: string }>();
		const found: Table[] = [];
		for (const { name } of results) {
			const { results: columns } = await env.DB.prepare("SELECT name, type FROM pragma_table_info(?)")
				.bind(name)
				.all<{ name: string; type: string }>();
			const text = columns.filter((column) => column.type === "" || /text|char|clob|blob/i.test(column.type));
			if (text.length > 0) found.push({ name, columns: text.map((column) => column.name) });
		}
		return found;
	})();
	return tablesMemo;
}

/** The tables with a row holding one of the needles: one statement per table, in one batch. */
async function tablesHolding(needles: string[]): Promise<string[]> {
	const all = await tables();
	const statements = all.map((table) => {
		const where = table.columns
			.flatMap((column) => needles.map((_, i) => `instr(${quoteId(column)}, ?${i + 1}) > 0`))
			.join(" OR ");
		return env.DB.prepare(`SELECT count(*) AS n FROM ${quoteId(table.name)} WHERE ${where}`).bind(...needles);
	});
	const results = await env.DB.batch<{ n: number }>(statements);
	return all.filter((_, i) => (results[i]?.results[0]?.n ?? 0) > 0).map((table) => table.name);
}

const LEAK = /\n\s+at |\.(ts|js):\d+|SQLITE_|D1_ERROR|TypeError|RangeError/;

/** Rules 1–3 for one answer; `problemJson` false: a 4xx may be an HTML page (form posts). */
async function expectRules(response: Response, ctx: Ctx, label: string, problemJson = true): Promise<void> {
	stats.requests++;
	const { status } = response;
	if (status >= 200 && status < 300) {
		accepted.add(ctx.marker);
		await response.body?.cancel();
		return;
	}
	stats.refused++;
	const text = await response.text();
	const context = `${label}\n→ ${status} ${response.headers.get("content-type")} ${text.slice(0, 400)}`;
	expect(status >= 400 && status < 500, context).toBe(true);
	const contentType = response.headers.get("content-type") ?? "";
	if (problemJson || contentType.startsWith("application/problem+json")) {
		expect(contentType, context).toMatch(/^application\/problem\+json(;|$)/);
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			throw new Error(`not JSON: ${context}`);
		}
		expect(body, context).toMatchObject({
			type: expect.any(String),
			title: expect.any(String),
			status,
			detail: expect.any(String),
			code: expect.any(String),
		});
	} else {
		expect(contentType, context).toMatch(/^text\/html/);
	}
	expect(text, context).not.toMatch(LEAK);
	const needles = [ctx.marker, await keyedHash(env as never, ctx.email)];
	expect(await tablesHolding(needles), `written although refused: ${context}`).toEqual([]);
}

const describePlan = (route: Route, built: Built, plan: Plan) =>
	`${route.method} ${built.path.slice(0, 300)} ${JSON.stringify(plan.fault)} body: ${
		typeof built.raw === "string" ? built.raw.slice(0, 300) : built.raw ? "(bytes)" : "(none)"
	}`;

function seedOf(text: string): number {
	let hash = 2166136261;
	for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
	return (SEED ^ hash) | 0;
}

// --- The tests -----------------------------------------------------------------------------------

describe("fuzzing every route of /openapi.json", () => {
	const started = Date.now();

	it("finds the routes in the document", () => {
		expect(docResponse.status).toBe(200);
		expect(topicResponse.status).toBe(201);
		expect(routes.length).toBeGreaterThan(10);
	});

	for (const route of routes) {
		it(`${route.key}: no 5xx, problem+json 4xx, nothing written when refused`, async () => {
			stats.routes++;
			await fc.assert(
				fc.asyncProperty(planArb(route), async (plan) => {
					const ctx = newCtx(plan.seed);
					const built = build(route, plan, ctx);
					const response = await api(route.method, built.path, {
						key: built.key,
						headers: built.headers,
						raw: built.raw,
					});
					const label = describePlan(route, built, plan);
					if (plan.fault.where === "auth" && route.secured) {
						expect(response.status, label).toBe(401);
					}
					await expectRules(response, ctx, label);
				}),
				{
					seed: seedOf(route.key),
					numRuns: RUNS_PER_ROUTE,
					examples: examplesFor(route).map((plan) => [plan]),
				},
			);
		});
	}

	it("POST /webhooks/sendgrid: unsigned or badly signed bodies are refused, never a 5xx", async () => {
		// Each refusal is logged as a warning; 20 of them would only hide what matters in the output.
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		try {
			await fc.assert(
				fc.asyncProperty(
					fc.record({ seed: fc.integer(), body: bodyPlanArb, signature: fc.constantFrom("none", "garbage", "stale") }),
					async ({ seed, body, signature }) => {
						const ctx = newCtx(seed);
						const holder: { value: unknown } = {
							value: [{ email: ctx.email, event: "unsubscribe", timestamp: 1_700_000_000, sg_event_id: ctx.marker }],
						};
						if (body.kind === "value") mutateValue(holder, body.mutation, ctx);
						const text = JSON.stringify(holder.value) ?? "";
						const headers: Record<string, string> = { "content-type": "application/json" };
						let raw: BodyInit = text;
						if (body.kind === "malformed") raw = (MALFORMED[body.how] as (t: string) => string)(text);
						if (body.kind === "invalidUtf8")
							raw = withBadBytes(text, BODY_BAD_BYTES[body.bytes] as number[], ctx.marker);
						if (body.kind === "contentType") headers["content-type"] = CONTENT_TYPES[body.type] || "text/plain";
						if (body.kind === "topLevel") raw = TOP_LEVEL[body.value] as string;
						if (signature !== "none") {
							headers["x-twilio-email-event-webhook-signature"] = btoa(ctx.marker);
							headers["x-twilio-email-event-webhook-timestamp"] =
								signature === "stale" ? "1" : String(Math.floor(Date.now() / 1000));
						}
						const response = await api("POST", "/webhooks/sendgrid", { key: null, headers, raw });
						const label = `POST /webhooks/sendgrid ${JSON.stringify({ body, signature })}`;
						expect(response.status, label).toBeGreaterThanOrEqual(400);
						await expectRules(response, ctx, label);
					},
				),
				{ seed: seedOf("POST /webhooks/sendgrid"), numRuns: 20 },
			);
		} finally {
			warn.mockRestore();
		}
	});

	it("POST /subscribe: bad sign-ups are refused with 4xx, never a 5xx, and write nothing", async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.record({ seed: fc.integer(), body: bodyPlanArb, form: fc.boolean() }),
				async ({ seed, body, form }) => {
					const ctx = newCtx(seed);
					// Topics that do not exist: every sign-up here is refused, after its fields were read.
					const holder: { value: unknown } = {
						value: { email: ctx.email, businessUnit: ctx.marker, topics: [ctx.marker] },
					};
					if (body.kind === "value") mutateValue(holder, body.mutation, ctx);
					const headers: Record<string, string> = {
						// Its own rate-limit bucket (an IPv6 /64 per request), so no other test's bucket fills up.
						"cf-connecting-ip": `fd00:${(ctx.n >> 16).toString(16)}:${(ctx.n & 0xffff).toString(16)}:${RUN.slice(3, 7)}::1`,
					};
					let raw: BodyInit;
					if (form) {
						headers["content-type"] = "application/x-www-form-urlencoded";
						const value = holder.value;
						raw =
							value && typeof value === "object" && !Array.isArray(value)
								? Object.entries(value)
										.map(
											([name, item]) =>
												`${encode(name)}=${encode(typeof item === "string" ? item : (JSON.stringify(item) ?? ""))}`,
										)
										.join("&")
								: encode(JSON.stringify(value) ?? "");
					} else {
						headers["content-type"] = "application/json";
						raw = JSON.stringify(holder.value) ?? "";
					}
					if (body.kind === "malformed") raw = (MALFORMED[body.how] as (t: string) => string)(String(raw));
					if (body.kind === "invalidUtf8")
						raw = withBadBytes(String(raw), BODY_BAD_BYTES[body.bytes] as number[], ctx.marker);
					if (body.kind === "contentType") headers["content-type"] = CONTENT_TYPES[body.type] || "text/plain";
					if (body.kind === "topLevel") raw = TOP_LEVEL[body.value] as string;
					const response = await api("POST", "/subscribe", { key: null, headers, raw });
					const label = `POST /subscribe ${JSON.stringify({ body, form })} ${String(raw).slice(0, 200)}`;
					expect(response.status, label).toBeGreaterThanOrEqual(400);
					const json = !/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(
						headers["content-type"] ?? "",
					);
					await expectRules(response, ctx, label, json);
				},
			),
			{ seed: seedOf("POST /subscribe"), numRuns: 30 },
		);
	});

	it("leaves no marker of a refused request anywhere, also after the queues ran", async () => {
		expect(stats.routes, "every route of the document was fuzzed").toBe(routes.length);
		await new Promise((resolve) => setTimeout(resolve, 1000));
		const all = await tables();
		const statements = all.map((table) =>
			env.DB.prepare(
				`SELECT ${table.columns.map(quoteId).join(", ")} FROM ${quoteId(table.name)} WHERE ${table.columns
					.map((column) => `instr(${quoteId(column)}, ?1) > 0`)
					.join(" OR ")}`,
			).bind(RUN),
		);
		const results = await env.DB.batch<Record<string, unknown>>(statements);
		const pattern = new RegExp(`${RUN}-[0-9a-z]{4}`, "g");
		const strays: string[] = [];
		results.forEach((result, i) => {
			for (const row of result.results) {
				for (const marker of JSON.stringify(row).match(pattern) ?? []) {
					if (!accepted.has(marker)) strays.push(`${all[i]?.name}: ${marker}`);
				}
			}
		});
		expect([...new Set(strays)]).toEqual([]);
		console.info(
			`fuzz: ${routes.length} routes, ${stats.requests} requests (${stats.refused} refused, ${accepted.size} accepted) in ${Date.now() - started} ms`,
		);
	});
});
