import { afterAll, beforeAll, expect, it } from "vitest";
import type { DomWindow } from "./dom";
import { node, nodeProcess, root } from "./node";
import { baseUrl, describeE2e, expectNoHorizontalScroll, expectPage, openPage, PHONE, useBrowser } from "./support";

/*
 * The OpenAPI document as a client gets it: fetched from the service under `wrangler dev` (started
 * by global-setup.ts), linted with Redocly (the rules in redocly.yaml), turned into TypeScript types
 * with openapi-typescript, and a small typed client compiled against them with tsc; a second file
 * of wrong calls proves the types can refuse one. Why the live service and not a script that builds
 * the document: the worker's modules import `cloudflare:workers` (Durable Objects), which Node
 * cannot load, and the document served is the one clients read, built by the bundle wrangler makes.
 * The CLIs run from node_modules/.bin (what `npx` would run, without its lookup). About 5 s.
 */

const bin = (name: string) => node.join(root, "node_modules", ".bin", name);

/** No update check, no usage data, no colour codes in the output we read. */
const env = {
	...nodeProcess.env,
	REDOCLY_TELEMETRY: "off",
	REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
	NO_COLOR: "1",
	FORCE_COLOR: "0",
};

function run(command: string, args: string[], cwd = root) {
	const result = node.spawnSync(bin(command), args, { cwd, encoding: "utf8", env, timeout: 60_000 });
	if (result.error) throw result.error;
	return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** A typed fetch wrapper: path, method, query, body and answer all come from the generated `paths`. */
const CLIENT = `import type { operations, paths } from "./api";

type Method = "get" | "put" | "post" | "delete";
/** The methods the document has for a path. */
type MethodOf<P extends keyof paths> = { [M in Method]: paths[P][M] extends undefined ? never : M }[Method];
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Query<O> = O extends { parameters: { query: infer Q } } ? Q : O extends { parameters: { query?: infer Q } } ? Q : never;
type Body<O> = O extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type Ok<O> = O extends { responses: { 200: { content: { "application/json": infer R } } } } ? R : never;

export async function call<P extends keyof paths, M extends MethodOf<P>>(
	baseUrl: string,
	key: string,
	path: P,
	method: M,
	input: { query?: Query<Op<P, M>>; body?: Body<Op<P, M>> },
): Promise<Ok<Op<P, M>>> {
	const url = new URL(path, baseUrl);
	for (const [name, value] of Object.entries(input.query ?? {})) url.searchParams.set(name, String(value));
	const response = await fetch(url, {
		method: method.toUpperCase(),
		headers: { authorization: \`Bearer \${key}\`, "content-type": "application/json" },
		body: input.body === undefined ? undefined : JSON.stringify(input.body),
	});
	if (!response.ok) throw new Error(\`\${method.toUpperCase()} \${path}: \${response.status}\`);
	return (await response.json()) as Ok<Op<P, M>>;
}

type Decision = operations["checkConsent"]["responses"][200]["content"]["application/json"];
type Reason = "ok" | "blocked" | "suppressed" | "bounced" | "opted_out" | "unsubscribed" | "pending_confirmation" | "not_subscribed";

export async function example(baseUrl: string, key: string) {
	const decision: Decision = await call(baseUrl, key, "/v1/consent", "get", {
		query: { email: "ann@example.de", channel: "email", topic: "newsletter-kids", kind: "marketing" },
	});
	const allowed: boolean = decision.allowed;
	const reason: Reason = decision.reason;
	const contact = await call(baseUrl, key, "/v1/events", "post", {
		body: { email: "ann@example.de", businessUnit: "de", events: [{ event: "Opt Out", channel: "email" }] },
	});
	const optedOut: boolean | undefined = contact.consent.channels.email?.optedOut;
	const duplicates: number = contact.duplicates;
	return { allowed, reason, optedOut, duplicates };
}
`;

/** Calls the types must refuse; each line after a directive is an error, or tsc reports the unused directive. */
const WRONG = `import { call } from "./client";

export async function wrong(baseUrl: string, key: string) {
	// @ts-expect-error "fax" is not a channel
	await call(baseUrl, key, "/v1/consent", "get", { query: { email: "ann@example.de", channel: "fax" } });
	// @ts-expect-error events is a list of events, not a name
	await call(baseUrl, key, "/v1/events", "post", { body: { email: "ann@example.de", events: "Opt Out" } });
	// @ts-expect-error there is no GET /v1/events
	await call(baseUrl, key, "/v1/events", "get", {});
	// @ts-expect-error there is no such path
	await call(baseUrl, key, "/v1/consents", "get", {});
	const decision = await call(baseUrl, key, "/v1/consent", "get", { query: { email: "ann@example.de", channel: "email" } });
	// @ts-expect-error a decision has \`allowed\`, not \`allow\`
	return decision.allow;
}
`;

const tsconfig = (files: string[]) =>
	JSON.stringify({
		compilerOptions: {
			strict: true,
			noEmit: true,
			target: "ES2022",
			module: "ESNext",
			moduleResolution: "Bundler",
			lib: ["ES2022", "DOM"],
			types: [],
			skipLibCheck: true,
		},
		files,
	});

describeE2e("the OpenAPI document, as a client uses it", () => {
	let dir = "";
	let docFile = "";
	let doc: { paths: Record<string, Record<string, { operationId?: string }>> };

	beforeAll(async () => {
		dir = node.mkdtempSync(node.join(node.tmpdir(), "consent-edge-openapi-"));
		const response = await fetch(`${baseUrl()}/openapi.json`);
		expect(response.status).toBe(200);
		const text = await response.text();
		doc = JSON.parse(text);
		docFile = node.join(dir, "openapi.json");
		node.writeFileSync(docFile, text);
	});
	afterAll(() => {
		if (dir) node.rmSync(dir, { recursive: true, force: true });
	});

	it("passes redocly lint with the rules of redocly.yaml: no errors, no warnings", () => {
		const { status, output } = run("redocly", [
			"lint",
			docFile,
			"--config",
			node.join(root, "redocly.yaml"),
			"--format=stylish",
		]);
		// stylish: `  1:234  error    rule-name  message` per problem.
		const problems = output.split("\n").filter((line) => /^\s*\d+:\d+\s+(error|warning)\s/.test(line));
		expect(problems, output).toEqual([]);
		expect(status, output).toBe(0);
		expect(output).toContain("valid");
	});

	let generated = false;
	/** api.d.ts from the document, once. */
	function generateTypes() {
		if (generated) return;
		const { status, output } = run("openapi-typescript", [docFile, "-o", node.join(dir, "api.d.ts")]);
		expect(status, output).toBe(0);
		expect(node.existsSync(node.join(dir, "api.d.ts"))).toBe(true);
		generated = true;
	}

	it("generates client types with openapi-typescript, and a typed client compiles against them", () => {
		generateTypes();
		node.writeFileSync(node.join(dir, "client.ts"), CLIENT);
		node.writeFileSync(node.join(dir, "wrong.ts"), WRONG);
		// Every operationId is a key of the generated `operations`.
		const ids = Object.values(doc.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
		expect(ids.every(Boolean)).toBe(true);
		node.writeFileSync(
			node.join(dir, "ids.ts"),
			`import type { operations } from "./api";\nexport type All = [${ids.map((id) => `operations[${JSON.stringify(id)}]`).join(", ")}];\n`,
		);
		node.writeFileSync(node.join(dir, "tsconfig.json"), tsconfig(["client.ts", "wrong.ts", "ids.ts"]));
		const { status, output } = run("tsc", ["-p", node.join(dir, "tsconfig.json")], dir);
		expect(output.trim()).toBe("");
		expect(status).toBe(0);
	});

	it("refuses the wrong calls once their @ts-expect-error is gone", () => {
		generateTypes();
		node.writeFileSync(node.join(dir, "client.ts"), CLIENT);
		const lines = WRONG.split("\n");
		const unchecked = lines.filter((line) => !line.includes("@ts-expect-error"));
		// 1-based lines of the calls that followed a directive, in the file without them.
		const expected = lines
			.map((line, index) => (line.includes("@ts-expect-error") ? index + 2 : 0))
			.filter((line) => line > 0)
			.map((line, removed) => line - (removed + 1));
		node.writeFileSync(node.join(dir, "wrong-unchecked.ts"), unchecked.join("\n"));
		node.writeFileSync(node.join(dir, "tsconfig.unchecked.json"), tsconfig(["client.ts", "wrong-unchecked.ts"]));
		const { status, output } = run("tsc", ["-p", node.join(dir, "tsconfig.unchecked.json")], dir);
		expect(status).not.toBe(0);
		const errorLines = [...output.matchAll(/wrong-unchecked\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1]));
		expect(errorLines, output).toEqual(expected);
		expect(output).toContain(`Type '"fax"' is not assignable`);
	});

	const browser = useBrowser();

	it("shows /docs in Chromium under the strict CSP, with a heading outline and labelled tables", async () => {
		const { page, watcher } = await openPage(browser());
		await expectPage(page, await page.goto(`${baseUrl()}/docs`));
		const structure = await page.evaluate(() => {
			const { document } = globalThis as unknown as DomWindow;
			const all = (selectors: string) => [...document.documentElement.querySelectorAll(selectors)];
			return {
				headings: all("h1, h2, h3, h4").map((heading) => Number(heading.tagName.slice(1))),
				tables: all("table").map((table) => ({
					caption: table.querySelector("caption")?.textContent ?? "",
					headers: [...table.querySelectorAll("thead th")].map((th) => th.getAttribute("scope")),
				})),
				articles: all("article[id]").map((article) => article.id),
			};
		});
		// No heading level skipped on the way down.
		structure.headings.forEach((level, index) => {
			expect(level - (structure.headings[index - 1] ?? 0), `heading ${index}`).toBeLessThanOrEqual(1);
		});
		expect(structure.tables.length).toBeGreaterThan(35);
		for (const table of structure.tables) {
			expect(table.caption).not.toBe("");
			expect(table.headers.length).toBeGreaterThan(1);
			expect(new Set(table.headers)).toEqual(new Set(["col"]));
		}
		const ids = Object.values(doc.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
		for (const id of ids) expect(structure.articles).toContain(id);
		await page.setViewportSize(PHONE);
		await expectNoHorizontalScroll(page);
		expect(watcher.problems).toEqual([]);
	});
});
