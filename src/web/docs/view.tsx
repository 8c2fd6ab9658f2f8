import type { Child, FC } from "hono/jsx";

/*
 * /docs: a readable page of the service's own OpenAPI document (the one GET /openapi.json serves),
 * rendered on the server. No CDN script, no inline style: the strict CSP of every page holds, and
 * the only stylesheet is /assets/app.css. Everything shown comes from the document, so the page
 * cannot drift from the contract: per operation its method, path, summary, description, security,
 * parameters, request body fields and example, and responses; then every named schema.
 */

interface Schema {
	$ref?: string;
	type?: string | string[];
	format?: string;
	enum?: unknown[];
	const?: unknown;
	items?: Schema;
	properties?: Record<string, Schema>;
	required?: string[];
	additionalProperties?: boolean | Schema;
	anyOf?: Schema[];
	oneOf?: Schema[];
	allOf?: Schema[];
	description?: string;
	example?: unknown;
	default?: unknown;
	pattern?: string;
	minLength?: number;
	maxLength?: number;
	minimum?: number;
	maximum?: number;
	exclusiveMinimum?: number;
	minItems?: number;
	maxItems?: number;
}
interface Parameter {
	name: string;
	in: string;
	required?: boolean;
	description?: string;
	schema?: Schema;
	example?: unknown;
}
interface MediaType {
	schema?: Schema;
	example?: unknown;
	examples?: Record<string, { summary?: string; value?: unknown }>;
}
interface RequestBody {
	description?: string;
	required?: boolean;
	content?: Record<string, MediaType>;
}
interface Response {
	description?: string;
	headers?: Record<string, { description?: string; required?: boolean; schema?: Schema }>;
	content?: Record<string, MediaType>;
}
interface Operation {
	operationId?: string;
	summary?: string;
	description?: string;
	tags?: string[];
	parameters?: Parameter[];
	requestBody?: RequestBody;
	responses?: Record<string, Response>;
	security?: Array<Record<string, string[]>>;
}
interface OpenApiDocument {
	info: { title: string; version: string; description?: string; license?: { name: string; identifier?: string } };
	servers?: Array<{
		url: string;
		description?: string;
		variables?: Record<string, { default: string; description?: string }>;
	}>;
	tags?: Array<{ name: string; description?: string }>;
	security?: Array<Record<string, string[]>>;
	paths?: Record<string, Record<string, Operation>>;
	components?: {
		schemas?: Record<string, Schema>;
		securitySchemes?: Record<string, { type: string; scheme?: string; description?: string }>;
	};
}

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];
const SCHEMA_REF = "#/components/schemas/";

// --- Schemas as text ---------------------------------------------------------------------------

/** The component name of a local schema reference, or null. */
const refName = (schema: Schema | undefined) =>
	schema?.$ref?.startsWith(SCHEMA_REF) ? schema.$ref.slice(SCHEMA_REF.length) : null;

/** The schema a reference names; an allOf of objects (`Contact` extended) as one object. */
function resolve(doc: OpenApiDocument, schema: Schema | undefined, depth = 0): Schema {
	let current = schema ?? {};
	for (let hops = 0; current.$ref && hops < 20; hops++) {
		current = doc.components?.schemas?.[refName(current) ?? ""] ?? {};
	}
	if (current.allOf && depth < 5) {
		const parts = current.allOf.map((part) => resolve(doc, part, depth + 1));
		if (parts.every((part) => part.type === "object" || isObjectWithFields(part))) {
			const { allOf: _, ...rest } = current;
			return {
				type: "object",
				...rest,
				properties: Object.assign({}, ...parts.map((part) => part.properties ?? {}), current.properties),
				required: [...new Set([...parts.flatMap((part) => part.required ?? []), ...(current.required ?? [])])],
			};
		}
	}
	return current;
}

const isObjectWithFields = (schema: Schema) =>
	schema.properties !== undefined && Object.keys(schema.properties).length > 0;
const variantsOf = (schema: Schema) => schema.anyOf ?? schema.oneOf;

/** A short type of a schema, as TypeScript would write it: `string (email)`, `"a" | "b"`, `Event[]`. */
function typeText(doc: OpenApiDocument, schema: Schema | undefined, depth = 0): string {
	if (!schema || depth > 6) return "any";
	const name = refName(schema);
	if (name) {
		const target = resolve(doc, schema);
		return isObjectWithFields(target) ? name : typeText(doc, target, depth + 1);
	}
	if (schema.const !== undefined) return JSON.stringify(schema.const);
	if (schema.enum) return schema.enum.map((value) => JSON.stringify(value)).join(" | ");
	const variants = variantsOf(schema);
	if (variants) return variants.map((variant) => typeText(doc, variant, depth + 1)).join(" | ");
	if (schema.allOf) return schema.allOf.map((part) => typeText(doc, part, depth + 1)).join(" & ");
	const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
	if (types.length === 0) return isObjectWithFields(schema) ? shapeText(schema) : "any";
	return types
		.map((type) => {
			if (type === "array") {
				const item = typeText(doc, schema.items, depth + 1);
				return item.includes(" ") ? `(${item})[]` : `${item}[]`;
			}
			if (type === "object") {
				if (isObjectWithFields(schema)) return depth > 0 ? shapeText(schema) : "object";
				const values = schema.additionalProperties;
				if (values && typeof values === "object" && Object.keys(values).length > 0) {
					return `map of ${typeText(doc, values, depth + 1)}`;
				}
				return "object";
			}
			return schema.format ? `${type} (${schema.format})` : type;
		})
		.join(" | ");
}

/** `{ email, businessUnit? }`: an inline object by its field names. */
function shapeText(schema: Schema): string {
	const required = new Set(schema.required ?? []);
	const fields = Object.keys(schema.properties ?? {}).map((key) => (required.has(key) ? key : `${key}?`));
	return `{ ${fields.join(", ")} }`;
}

/** Defaults, limits and examples a schema states, as one line. */
function constraintText(schema: Schema, example?: unknown): string {
	const parts: string[] = [];
	const range = (min: number | undefined, max: number | undefined, what: string) => {
		if (min !== undefined && max !== undefined) parts.push(`${what} ${min}–${max}.`);
		else if (min !== undefined) parts.push(`${what} at least ${min}.`);
		else if (max !== undefined) parts.push(`${what} at most ${max}.`);
	};
	range(schema.minLength, schema.maxLength, "Length");
	range(schema.minItems, schema.maxItems, "Items");
	range(schema.minimum ?? schema.exclusiveMinimum, schema.maximum, "Value");
	if (schema.pattern) parts.push(`Pattern \`${schema.pattern}\`.`);
	if (schema.default !== undefined) parts.push(`Default \`${JSON.stringify(schema.default)}\`.`);
	const shown = example ?? schema.example;
	const exampleJson = shown === undefined || typeof shown === "string" ? shown : JSON.stringify(shown);
	if (exampleJson !== undefined && exampleJson.length <= 80) parts.push(`Example \`${exampleJson}\`.`);
	return parts.join(" ");
}

/** A description and the constraints after it, each ending as a sentence. */
const sentences = (...parts: Array<string | undefined>) =>
	parts
		.map((part) => part?.trim() ?? "")
		.filter(Boolean)
		.map((part) => (/[.!?)]$/.test(part) ? part : `${part}.`))
		.join(" ");

interface FieldRow {
	name: string;
	schema: Schema;
	required: "yes" | "no" | "one of";
	description: string;
}

/**
 * The fields of an object schema, nested objects and arrays of objects flattened with dotted
 * names (`events[].event`), and the fields of alternative shapes (`recipient.email`, "one of").
 */
function fieldRows(
	doc: OpenApiDocument,
	schema: Schema | undefined,
	prefix = "",
	depth = 0,
	seen = new Set<string>(),
): FieldRow[] {
	const name = refName(schema);
	if (depth > 3 || (name && seen.has(name))) return [];
	const inner = name ? new Set([...seen, name]) : seen;
	const target = resolve(doc, schema);
	const variants = variantsOf(target)?.map((variant) => resolve(doc, variant));
	if (variants?.every(isObjectWithFields)) {
		const rows = new Map<string, FieldRow>();
		for (const variant of variants) {
			for (const row of fieldRows(doc, variant, prefix, depth, inner)) {
				const alternative = row.required === "yes" ? { ...row, required: "one of" as const } : row;
				if (!rows.has(row.name)) rows.set(row.name, alternative);
			}
		}
		return [...rows.values()];
	}
	if (!isObjectWithFields(target)) return [];
	const required = new Set(target.required ?? []);
	return Object.entries(target.properties ?? {}).flatMap(([key, property]) => {
		const resolved = resolve(doc, property);
		const row: FieldRow = {
			name: `${prefix}${key}`,
			schema: property,
			required: required.has(key) ? "yes" : "no",
			description: sentences(property.description ?? resolved.description, constraintText(resolved)),
		};
		const items = resolved.type === "array" || resolved.items ? resolved.items : undefined;
		const nested = items
			? fieldRows(doc, items, `${prefix}${key}[].`, depth + 1, inner)
			: fieldRows(doc, property, `${prefix}${key}.`, depth + 1, inner);
		return [row, ...nested];
	});
}

const exampleText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

function exampleOf(doc: OpenApiDocument, media: MediaType): unknown {
	if (media.example !== undefined) return media.example;
	const first = Object.values(media.examples ?? {})[0];
	if (first?.value !== undefined) return first.value;
	return resolve(doc, media.schema).example;
}

// --- Rendering -------------------------------------------------------------------------------

/** Text with `code` spans, as the document's descriptions write them. */
const Inline: FC<{ text: string }> = ({ text }) => (
	<>{text.split(/`([^`]+)`/).map((part, index) => (index % 2 === 1 ? <code>{part}</code> : part))}</>
);

/** One paragraph per blank-line-separated block. */
const Paragraphs: FC<{ text?: string; class?: string }> = ({ text, class: className }) => (
	<>
		{(text ?? "")
			.split(/\n\s*\n/)
			.filter((block) => block.trim() !== "")
			.map((block) => (
				<p class={className}>
					<Inline text={block.trim()} />
				</p>
			))}
	</>
);

/** A type, linked to the schema section when it names a component object (`Contact`, `Event[]`). */
const TypeOf: FC<{ doc: OpenApiDocument; schema?: Schema }> = ({ doc, schema }) => {
	const name = refName(schema);
	if (name && isObjectWithFields(resolve(doc, schema))) {
		return (
			<a href={`#schema-${name}`}>
				<code>{name}</code>
			</a>
		);
	}
	const items = schema?.type === "array" ? schema.items : undefined;
	const itemName = refName(items);
	if (itemName && isObjectWithFields(resolve(doc, items))) {
		return (
			<a href={`#schema-${itemName}`}>
				<code>{itemName}[]</code>
			</a>
		);
	}
	return <code>{typeText(doc, schema)}</code>;
};

/** A table in a region that scrolls sideways on narrow screens (and takes the focus to do so). */
const Table: FC<{ label: string; headers: string[]; children: Child }> = ({ label, headers, children }) => (
	<section class="table-wrap" aria-label={label} tabindex={0}>
		<table>
			<caption class="visually-hidden">{label}</caption>
			<thead>
				<tr>
					{headers.map((header) => (
						<th scope="col">{header}</th>
					))}
				</tr>
			</thead>
			<tbody>{children}</tbody>
		</table>
	</section>
);

const FieldTable: FC<{ doc: OpenApiDocument; label: string; rows: FieldRow[] }> = ({ doc, label, rows }) => (
	<Table label={label} headers={["Field", "Type", "Required", "Description"]}>
		{rows.map((row) => (
			<tr>
				<td>
					<code>{row.name}</code>
				</td>
				<td>
					<TypeOf doc={doc} schema={row.schema} />
				</td>
				<td>{row.required}</td>
				<td>
					<Inline text={row.description} />
				</td>
			</tr>
		))}
	</Table>
);

const Example: FC<{ label: string; value: unknown }> = ({ label, value }) => (
	<>
		<p class="small">
			<strong>{label}</strong>
		</p>
		<pre tabindex={0}>
			<code>{exampleText(value)}</code>
		</pre>
	</>
);

const Security: FC<{ doc: OpenApiDocument; op: Operation }> = ({ doc, op }) => {
	const requirements = op.security ?? doc.security ?? [];
	if (requirements.length === 0) return <>No key needed.</>;
	return (
		<>
			{requirements.map((requirement, index) => (
				<>
					{index > 0 ? " or " : ""}
					{Object.entries(requirement).map(([scheme, scopes]) => (
						<>
							<a href="#authentication">{scheme}</a> key
							{scopes.length > 0 ? (
								<>
									{" "}
									with {scopes.length > 1 ? "the scopes " : "the scope "}
									{scopes.map((scope, i) => (
										<>
											{i > 0 ? " and " : ""}
											<code>{scope}</code>
										</>
									))}
									{scopes.includes("admin") ? null : (
										<>
											{" "}
											(or <code>admin</code>)
										</>
									)}
								</>
							) : null}
						</>
					))}
				</>
			))}
			.
		</>
	);
};

interface Entry {
	method: string;
	path: string;
	op: Operation;
	anchor: string;
}

const OperationView: FC<{ doc: OpenApiDocument; entry: Entry }> = ({ doc, entry: { method, path, op, anchor } }) => {
	const title = `${method.toUpperCase()} ${path}`;
	const parameters = op.parameters ?? [];
	const body = op.requestBody;
	return (
		<article class="op" id={anchor} aria-labelledby={`${anchor}-title`}>
			<h3 id={`${anchor}-title`}>
				<span class="method">{method}</span> <code>{path}</code> <span>{op.summary}</span>
			</h3>
			<Paragraphs text={op.description} />
			<p class="small muted">
				{op.operationId ? (
					<>
						Operation <code>{op.operationId}</code>.{" "}
					</>
				) : null}
				<Security doc={doc} op={op} />
			</p>
			{parameters.length > 0 ? (
				<>
					<h4>Parameters</h4>
					<Table label={`Parameters of ${title}`} headers={["Name", "In", "Required", "Type", "Description"]}>
						{parameters.map((parameter) => {
							const schema = resolve(doc, parameter.schema);
							const description = sentences(
								parameter.description ?? schema.description,
								constraintText(schema, parameter.example),
							);
							return (
								<tr>
									<td>
										<code>{parameter.name}</code>
									</td>
									<td>{parameter.in}</td>
									<td>{parameter.required ? "yes" : "no"}</td>
									<td>
										<TypeOf doc={doc} schema={parameter.schema} />
									</td>
									<td>
										<Inline text={description} />
									</td>
								</tr>
							);
						})}
					</Table>
				</>
			) : null}
			{body ? (
				<>
					<h4>Request body</h4>
					<p>
						{body.required ? "Required" : "Optional"}
						{body.description ? (
							<>
								: <Inline text={body.description} />
							</>
						) : (
							"."
						)}
					</p>
					{Object.entries(body.content ?? {}).map(([mediaType, media]) => {
						const rows = fieldRows(doc, media.schema);
						const example = exampleOf(doc, media);
						return (
							<>
								<p class="small">
									<code>{mediaType}</code>: <TypeOf doc={doc} schema={media.schema} />
								</p>
								{rows.length > 0 ? (
									<FieldTable doc={doc} label={`Request body of ${title} (${mediaType})`} rows={rows} />
								) : null}
								{example !== undefined ? <Example label={`Example (${mediaType})`} value={example} /> : null}
							</>
						);
					})}
				</>
			) : null}
			<h4>Responses</h4>
			<Table label={`Responses of ${title}`} headers={["Status", "Description", "Content"]}>
				{Object.entries(op.responses ?? {}).map(([status, response]) => (
					<tr>
						<td>{status}</td>
						<td>
							<Inline text={response.description ?? ""} />
							{Object.keys(response.headers ?? {}).length > 0 ? (
								<>
									{" "}
									Headers:{" "}
									{Object.keys(response.headers ?? {}).map((header, i) => (
										<>
											{i > 0 ? ", " : ""}
											<code>{header}</code>
										</>
									))}
									.
								</>
							) : null}
						</td>
						<td>
							{Object.entries(response.content ?? {}).map(([mediaType, media], i) => (
								<>
									{i > 0 ? <br /> : null}
									<code>{mediaType}</code> <TypeOf doc={doc} schema={media.schema} />
								</>
							))}
						</td>
					</tr>
				))}
			</Table>
		</article>
	);
};

const slug = (text: string) =>
	text
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, "-")
		.replace(/^-|-$/g, "");

/** The operations by tag: in the order of the document's tags, then any other tag, then untagged. */
function byTag(doc: OpenApiDocument): Array<{ name: string; description?: string; entries: Entry[] }> {
	const groups = new Map<string, { name: string; description?: string; entries: Entry[] }>();
	for (const tag of doc.tags ?? []) groups.set(tag.name, { ...tag, entries: [] });
	for (const [path, item] of Object.entries(doc.paths ?? {})) {
		for (const [method, op] of Object.entries(item)) {
			if (!METHODS.includes(method)) continue;
			const name = op.tags?.[0] ?? "Other";
			const group = groups.get(name) ?? { name, entries: [] };
			groups.set(name, group);
			group.entries.push({ method, path, op, anchor: op.operationId ?? slug(`${method} ${path}`) });
		}
	}
	return [...groups.values()].filter((group) => group.entries.length > 0);
}

/** A readable page of the OpenAPI document, rendered on the server: no CDN script, strict CSP. */
export const DocsPage: FC<{ doc: OpenApiDocument }> = ({ doc }) => {
	const groups = byTag(doc);
	const schemas = Object.entries(doc.components?.schemas ?? {});
	return (
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<title>{doc.info.title} API</title>
				<link rel="stylesheet" href="/assets/app.css" />
				{/* No favicon: an empty data: icon keeps browsers from asking for /favicon.ico (a 404). */}
				<link rel="icon" href="data:," />
			</head>
			<body>
				<main>
					<h1>
						{doc.info.title} API <span class="muted">{doc.info.version}</span>
					</h1>
					<Paragraphs text={doc.info.description} />
					<p>
						Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).
						{doc.info.license ? ` License: ${doc.info.license.name}.` : ""}
					</p>
					{doc.servers?.length ? (
						<>
							<h2 id="servers">Servers</h2>
							<ul>
								{doc.servers.map((server) => (
									<li>
										<code>{server.url}</code> <Inline text={server.description ?? ""} />
										{Object.entries(server.variables ?? {}).map(([name, variable]) => (
											<>
												{" "}
												(<code>{`{${name}}`}</code>: <Inline text={variable.description ?? ""} /> Default{" "}
												<code>{variable.default}</code>.)
											</>
										))}
									</li>
								))}
							</ul>
						</>
					) : null}
					<h2 id="authentication">Authentication</h2>
					<ul>
						{Object.entries(doc.components?.securitySchemes ?? {}).map(([name, scheme]) => (
							<li>
								<code>{name}</code> ({scheme.type}
								{scheme.scheme ? ` ${scheme.scheme}` : ""}): <Inline text={scheme.description ?? ""} />
							</li>
						))}
					</ul>
					<nav aria-labelledby="contents">
						<h2 id="contents">Contents</h2>
						<ul>
							{groups.map((group) => (
								<li>
									<a href={`#tag-${slug(group.name)}`}>{group.name}</a>
									<ul>
										{group.entries.map((entry) => (
											<li>
												<a href={`#${entry.anchor}`}>
													<code>
														{entry.method.toUpperCase()} {entry.path}
													</code>
												</a>{" "}
												{entry.op.summary}
											</li>
										))}
									</ul>
								</li>
							))}
							{schemas.length > 0 ? (
								<li>
									<a href="#schemas">Schemas</a>
								</li>
							) : null}
						</ul>
					</nav>
					{groups.map((group) => (
						<section aria-labelledby={`tag-${slug(group.name)}`}>
							<h2 id={`tag-${slug(group.name)}`}>{group.name}</h2>
							<Paragraphs text={group.description} />
							{group.entries.map((entry) => (
								<OperationView doc={doc} entry={entry} />
							))}
						</section>
					))}
					{schemas.length > 0 ? (
						<section aria-labelledby="schemas">
							<h2 id="schemas">Schemas</h2>
							{schemas.map(([name, schema]) => {
								const rows = fieldRows(doc, schema);
								return (
									<article class="op" id={`schema-${name}`} aria-labelledby={`schema-${name}-title`}>
										<h3 id={`schema-${name}-title`}>
											<code>{name}</code>
										</h3>
										<Paragraphs text={schema.description} />
										{rows.length > 0 ? (
											<FieldTable doc={doc} label={`Fields of ${name}`} rows={rows} />
										) : (
											<p>
												<code>{typeText(doc, schema)}</code>
											</p>
										)}
										{schema.example !== undefined ? <Example label="Example" value={schema.example} /> : null}
									</article>
								);
							})}
						</section>
					) : null}
				</main>
			</body>
		</html>
	);
};

export function renderDocs(doc: OpenApiDocument): string {
	return `<!doctype html>${(<DocsPage doc={doc} />).toString()}`;
}
