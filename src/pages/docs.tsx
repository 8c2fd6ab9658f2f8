import type { FC } from "hono/jsx";

interface Parameter {
	name: string;
	in: string;
	required?: boolean;
	description?: string;
}
interface Operation {
	summary?: string;
	description?: string;
	tags?: string[];
	parameters?: Parameter[];
	responses?: Record<string, { description?: string }>;
}
interface OpenApiDocument {
	info: { title: string; version: string; description?: string };
	paths?: Record<string, Record<string, Operation>>;
}

/** A readable page of the OpenAPI document, rendered on the server: no CDN script, strict CSP. */
export const DocsPage: FC<{ doc: OpenApiDocument }> = ({ doc }) => {
	const byTag = new Map<string, Array<{ method: string; path: string; op: Operation }>>();
	for (const [path, methods] of Object.entries(doc.paths ?? {})) {
		for (const [method, op] of Object.entries(methods)) {
			const tag = op.tags?.[0] ?? "Other";
			byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
		}
	}
	return (
		<html lang="en">
			<head>
				<meta charset="utf-8" />
				<meta name="viewport" content="width=device-width, initial-scale=1" />
				<title>{doc.info.title} API</title>
				<link rel="stylesheet" href="/assets/app.css" />
			</head>
			<body>
				<main>
					<h1>
						{doc.info.title} <span class="muted">{doc.info.version}</span>
					</h1>
					<p>{doc.info.description}</p>
					<p>
						Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Every call under <code>/v1</code>{" "}
						takes <code>Authorization: Bearer &lt;key&gt;</code>; errors are <code>application/problem+json</code>.
					</p>
					{[...byTag].map(([tag, ops]) => (
						<section>
							<h2>{tag}</h2>
							{ops.map(({ method, path, op }) => (
								<article class="op" id={`${method}-${path}`}>
									<h3>
										<span class="method">{method}</span>
										<code>{path}</code>
										<span>{op.summary}</span>
									</h3>
									{op.description ? <p>{op.description}</p> : null}
									{op.parameters?.length ? (
										<table>
											<thead>
												<tr>
													<th scope="col">Parameter</th>
													<th scope="col">In</th>
													<th scope="col">Description</th>
												</tr>
											</thead>
											<tbody>
												{op.parameters.map((p) => (
													<tr>
														<td>
															<code>{p.name}</code>
															{p.required ? " *" : ""}
														</td>
														<td>{p.in}</td>
														<td>{p.description ?? ""}</td>
													</tr>
												))}
											</tbody>
										</table>
									) : null}
									<p class="muted">
										Responses:{" "}
										{Object.entries(op.responses ?? {})
											.map(([status, r]) => `${status} ${r.description ?? ""}`)
											.join(" · ")}
									</p>
								</article>
							))}
						</section>
					))}
				</main>
			</body>
		</html>
	);
};

export function renderDocs(doc: OpenApiDocument): string {
	return `<!doctype html>${(<DocsPage doc={doc} />).toString()}`;
}
