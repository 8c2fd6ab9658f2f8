import { env } from "cloudflare:workers";
import { insertJob } from "../../../src/db/jobs";
import type { Bindings } from "../../../src/env";
import { type ImportJobOptions, uploadKey } from "../../../src/jobs/import-job";
import { newJobId } from "../../../src/jobs/jobs";
import { api, BASE, eventually, json, unique } from "../../helpers";
import { importOptions } from "../../imports";

/** POST /v1/imports/contacts with a raw body. */
export function importFile(
	body: BodyInit,
	query = "",
	options: { key?: string; contentType?: string; headers?: Record<string, string> } = {},
) {
	return api("POST", `/v1/imports/contacts${query ? `?${query}` : ""}`, {
		raw: body,
		key: options.key,
		headers: { "content-type": options.contentType ?? "text/csv", ...options.headers },
	});
}

/** The 202 of a job: its id, after checking the status line, body and Location. */
export async function accepted(response: Response, path: "imports" | "exports"): Promise<string> {
	const body = await json(response);
	if (response.status !== 202) throw new Error(`expected 202, got ${response.status}: ${JSON.stringify(body)}`);
	if (response.headers.get("location") !== `/v1/${path}/${body.id}`) {
		throw new Error(`Location ${response.headers.get("location")} for ${body.id}`);
	}
	return body.id as string;
}

/** Polls a job until it is done or failed; answers its last state. */
export async function finished(path: string, key?: string, ms = 60_000) {
	return eventually(
		async () => {
			const response = await api("GET", path, { key });
			const body = await json(response);
			if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
			return body.status === "done" || body.status === "failed" ? body : null;
		},
		`${path} to finish`,
		ms,
	);
}

export async function createKey(scopes: string[], businessUnits?: string[]): Promise<string> {
	const response = await api("POST", "/v1/api-keys", {
		body: { name: unique("key"), scopes, ...(businessUnits ? { businessUnits } : {}) },
	});
	return (await json(response)).key;
}

/** Ledger rows of the contacts of a business unit, with their contact's email and line-derived keys. */
export async function ledgerOf(businessUnit: string) {
	const { results } = await env.DB.prepare(
		`SELECT l.id, l.event, l.channel, l.topic, l.source, l.idempotency_key, c.email, c.external_id
		 FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.business_unit = ? ORDER BY l.id`,
	)
		.bind(businessUnit)
		.all<Record<string, string | number | null>>();
	return results;
}

export async function contactCount(businessUnit: string) {
	const row = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE business_unit = ?")
		.bind(businessUnit)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

/** An import job's row and upload, as the route makes them (its steps are run here by hand). */
export async function importJob(businessUnit: string, csv: string) {
	const id = newJobId("import");
	const bytes = new TextEncoder().encode(csv);
	await env.JOB_FILES.put(uploadKey(id), bytes);
	const { linkBase: _, ...asImported } = importOptions(businessUnit);
	const options: ImportJobOptions = {
		...asImported,
		businessUnits: null,
		requestUrl: `${BASE}/v1/imports/contacts`,
		size: bytes.length,
	};
	await insertJob(env as unknown as Bindings, {
		id,
		kind: "import",
		businessUnit: null,
		options,
		resultKey: uploadKey(id),
	});
	return id;
}
