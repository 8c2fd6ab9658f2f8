import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { readCsv } from "../src/imports/csv-reader";

export const ADMIN = "test-admin-token";
export const BASE = "https://consent.example.test";

/** A name no other test uses: tests share one database and must not see each other's data. */
export const unique = (prefix = "t") => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
export const uniqueEmail = () => `${unique("u")}@example.de`;
export const uniquePhone = () => `+4917${String(Math.floor(Math.random() * 1e9)).padStart(9, "0")}`;

/** A request through the worker's own fetch handler, as a client would send it. */
export async function api(
	method: string,
	path: string,
	options: { body?: unknown; key?: string | null; headers?: Record<string, string>; raw?: BodyInit } = {},
): Promise<Response> {
	const headers: Record<string, string> = { ...options.headers };
	if (options.key !== null) headers.authorization = `Bearer ${options.key ?? ADMIN}`;
	let body: BodyInit | undefined = options.raw;
	if (options.body !== undefined) {
		body = JSON.stringify(options.body);
		headers["content-type"] ??= "application/json";
	}
	return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
}

export async function json<T = any>(response: Response): Promise<T> {
	return (await response.json()) as T;
}

export async function putTopic(
	key: string,
	topic: { channel?: string; doubleOptIn?: boolean; businessUnit?: string; providerRefs?: Record<string, string> } = {},
) {
	const response = await api("PUT", `/v1/topics/${key}`, {
		body: { name: key, channel: topic.channel ?? "email", doubleOptIn: topic.doubleOptIn ?? false, ...topic },
	});
	if (response.status >= 300) throw new Error(`topic ${key}: ${response.status} ${await response.text()}`);
	return json(response);
}

export async function postEvents(
	subject: Record<string, unknown>,
	events: Array<Record<string, unknown>>,
	key?: string,
) {
	return api("POST", "/v1/events", { body: { ...subject, events }, key });
}

/** Polls `check` until it returns a value (queues and their consumers run in the background). */
export async function eventually<T>(
	check: () => Promise<T | undefined | null | false>,
	what: string,
	ms = 15_000,
): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** A ledger row as stored (snake_case columns), for tests that look below the API. */
export interface StoredLedgerRow {
	id: number;
	contact_id: string;
	event: string;
	channel: string | null;
	topic: string | null;
	changes: string;
	changed: number;
	properties: string;
	source: string;
	reason: string | null;
	feedback: string | null;
	ip: string | null;
	user_agent: string | null;
	campaign: string | null;
	idempotency_key: string | null;
	occurred_at: string;
	received_at: string;
}

/** A contact's stored ledger rows, oldest first. */
export async function ledgerOf(contactId: string): Promise<StoredLedgerRow[]> {
	const { results } = await env.DB.prepare("SELECT * FROM ledger WHERE contact_id = ? ORDER BY id")
		.bind(contactId)
		.all<StoredLedgerRow>();
	return results;
}

/** The CSV body as objects by header name (the import's CSV reader, tested in test/data). */
export async function csvRowsOf(response: Response): Promise<Array<Record<string, string>>> {
	expect(response.status, await response.clone().text()).toBe(200);
	const records = [];
	for await (const record of readCsv(response.body as ReadableStream<Uint8Array>)) records.push(record);
	const [header, ...rows] = records.map((record) => {
		if (!("fields" in record)) throw new Error(`bad CSV line ${record.line}: ${record.error}`);
		return record.fields;
	});
	return rows.map((fields) => Object.fromEntries((header ?? []).map((name, index) => [name, fields[index] ?? ""])));
}
