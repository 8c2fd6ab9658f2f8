/**
 * Read-your-writes with D1 bookmarks (src/http/bookmark.ts): every write answer carries
 * `x-consent-bookmark`; a check or a statistics call that sends it back reads through a D1 session
 * opened at that bookmark and sees the write; a malformed one is a 400, never a 500.
 *
 * Locally (Miniflare) there are no replicas, so "sees the write" holds either way; what these tests
 * pin is the plumbing: which answers carry a bookmark, that it is D1's own (the session's), and that
 * the read opens its session at exactly the bookmark it was sent.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { actorFor, requestContext } from "../../../src/contacts/record-events";
import { findOrCreateLead } from "../../../src/db/contacts";
import type { Bindings } from "../../../src/env";
import { BOOKMARK_HEADER } from "../../../src/http/bookmark";
import worker from "../../../src/index";
import { ADMIN, api, BASE, json, postEvents, putTopic, unique, uniqueEmail } from "../../helpers";

const bindings = env as unknown as Bindings;

/** The env with its D1 binding watched: every `withSession` constraint or bookmark, in order. */
function watchedSessions() {
	const opened: string[] = [];
	const DB = new Proxy(env.DB, {
		get(target, property) {
			if (property === "withSession") {
				return (constraint?: string) => {
					opened.push(String(constraint));
					return target.withSession(constraint);
				};
			}
			const value = Reflect.get(target, property);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { env: { ...env, DB }, opened };
}

/** A request through the worker's default export with `testEnv`, as the runtime would make it. */
async function fetchWith(
	testEnv: object,
	method: string,
	path: string,
	init: { body?: unknown; headers?: Record<string, string> } = {},
) {
	const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}`, ...init.headers };
	if (init.body !== undefined) headers["content-type"] = "application/json";
	const request = new Request(`${BASE}${path}`, {
		method,
		headers,
		body: init.body === undefined ? undefined : JSON.stringify(init.body),
	});
	const ctx = createExecutionContext();
	const response = await worker.fetch(request, testEnv as Bindings, ctx);
	await waitOnExecutionContext(ctx);
	return response;
}

const checkPath = (email: string, extra = "") =>
	`/v1/consent?email=${encodeURIComponent(email)}&businessUnit=de&channel=email${extra}`;

describe("x-consent-bookmark", () => {
	it("is on every successful write answer, and a check that sends it back sees the write", async () => {
		const email = uniqueEmail();
		const optOut = await postEvents({ email, businessUnit: "de" }, [{ event: "Opt Out", channel: "email" }]);
		expect(optOut.status).toBe(200);
		const bookmark = optOut.headers.get(BOOKMARK_HEADER);
		// Locally D1 answers bookmarks too (a counter: 00000000-0000002a-00000000-000…).
		expect(bookmark).toMatch(/^[0-9a-f-]{20,}$/);

		const check = await api("GET", checkPath(email), { headers: { [BOOKMARK_HEADER]: bookmark as string } });
		expect(check.status).toBe(200);
		expect(await json(check)).toMatchObject({ allowed: false, reason: "opted_out" });
		const batch = await api("POST", "/v1/consent/check", {
			body: {
				channel: "email",
				kind: "marketing",
				businessUnit: "de",
				recipients: [{ email }, { email: uniqueEmail() }],
			},
			headers: { [BOOKMARK_HEADER]: bookmark as string },
		});
		expect(batch.status).toBe(200);
		expect((await json(batch)).results).toEqual([
			{ allowed: false, reason: "opted_out" },
			{ allowed: true, reason: "ok" },
		]);
		// Statistics take it too.
		const stats = await api("GET", "/v1/stats/opt-outs?businessUnit=de", {
			headers: { [BOOKMARK_HEADER]: bookmark as string },
		});
		expect(stats.status).toBe(200);
	});

	it("opens the read's D1 session at the bookmark sent, and at first-unconstrained without one", async () => {
		const email = uniqueEmail();
		const write = await postEvents({ email, businessUnit: "de" }, [{ event: "Opt Out", channel: "email" }]);
		const bookmark = write.headers.get(BOOKMARK_HEADER) as string;
		const watched = watchedSessions();

		const withBookmark = await fetchWith(watched.env, "GET", checkPath(email), {
			headers: { [BOOKMARK_HEADER]: bookmark },
		});
		expect(await json(withBookmark)).toMatchObject({ reason: "opted_out" });
		expect(watched.opened).toEqual([bookmark]);

		const without = await fetchWith(watched.env, "GET", checkPath(email));
		expect(await json(without)).toMatchObject({ reason: "opted_out" });
		expect(watched.opened).toEqual([bookmark, "first-unconstrained"]);

		await fetchWith(watched.env, "GET", "/v1/stats/campaigns?businessUnit=de", {
			headers: { [BOOKMARK_HEADER]: bookmark },
		});
		expect(watched.opened.at(-1)).toBe(bookmark);

		// Exports read their pages through one session opened at the bookmark, and see the write.
		for (const path of ["/v1/exports/contacts.csv?businessUnit=de", "/v1/exports/events.csv?businessUnit=de"]) {
			const before = watched.opened.length;
			const csv = await fetchWith(watched.env, "GET", path, { headers: { [BOOKMARK_HEADER]: bookmark } });
			expect(csv.status).toBe(200);
			expect(await csv.text()).toContain(email);
			expect(watched.opened.slice(before)).toEqual([bookmark]);
		}
	});

	it("answers writes outside the actor with a bookmark from the primary, one that is not older than the write", async () => {
		const watched = watchedSessions();
		const before = (await postEvents({ email: uniqueEmail(), businessUnit: "de" }, [{ event: "Opt In" }])).headers.get(
			BOOKMARK_HEADER,
		) as string;
		const key = unique("bm");
		const topic = await fetchWith(watched.env, "PUT", `/v1/topics/${key}`, {
			body: { name: key, channel: "email", doubleOptIn: false },
		});
		expect(topic.status).toBe(201);
		const bookmark = topic.headers.get(BOOKMARK_HEADER) as string;
		expect(bookmark).toBeTruthy();
		// The trivial read of src/http/bookmark.ts, on a session that starts at the primary.
		expect(watched.opened).toEqual(["first-primary"]);
		expect(bookmark > before).toBe(true);

		// A check naming the new topic, with the bookmark, knows the topic.
		const check = await api("GET", checkPath(uniqueEmail(), `&topic=${key}`), {
			headers: { [BOOKMARK_HEADER]: bookmark },
		});
		expect(check.status).toBe(200);
	});

	it("comes from the contact's actor for its writes: applyEvents and updateProfile hand theirs back", async () => {
		const contact = await findOrCreateLead(bindings, { email: uniqueEmail(), businessUnit: "de" });
		const actor = actorFor(bindings, contact.id);
		const context = requestContext(new Request(BASE), "api");
		const first = await actor.applyEvents(contact.id, [optOutEvent(context.receivedAt, "k1")], context, []);
		expect(first.bookmark).toMatch(/^[0-9a-f-]{20,}$/);
		const second = await actor.applyEvents(contact.id, [optOutEvent(context.receivedAt, "k2", "sms")], context, []);
		expect((second.bookmark as string) > (first.bookmark as string)).toBe(true);
		// Nothing written (a key applied before): no bookmark of its own; the answer gets one from the primary.
		const again = await actor.applyEvents(contact.id, [optOutEvent(context.receivedAt, "k1")], context, []);
		expect(again.duplicates).toBe(1);
		expect(again.bookmark ?? null).toBeNull();
		const profile = await actor.updateProfile(contact.id, { traits: { tier: "gold" } });
		expect(profile).toMatchObject({ ok: true, bookmark: expect.stringMatching(/^[0-9a-f-]{20,}$/) });
	});

	it("is on the answer of every kind of write, and not on reads, read-only POSTs or refusals", async () => {
		const externalId = unique("bm");
		const email = uniqueEmail();
		const key = unique("bm");
		const writes: Array<[string, string, unknown?]> = [
			["PUT", `/v1/users/${externalId}`, { email, businessUnit: "de" }],
			["POST", "/v1/events", { id: externalId, businessUnit: "de", events: [{ event: "Opt Out", channel: "sms" }] }],
			["PUT", "/v1/leads", { email: uniqueEmail(), businessUnit: "de" }],
			["PUT", `/v1/topics/${key}`, { name: key, channel: "email" }],
			["PUT", `/v1/blocklist/${encodeURIComponent(uniqueEmail())}`],
			["POST", "/v1/suppressions", { addresses: [uniqueEmail()], reason: "opted_out" }],
			["POST", "/v1/api-keys", { name: key, scopes: ["consent:read"] }],
			["DELETE", `/v1/topics/${key}`],
			["DELETE", `/v1/users/${externalId}`],
		];
		for (const [method, path, body] of writes) {
			const response = await api(method, path, { body });
			expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBeLessThan(300);
			expect(response.headers.get(BOOKMARK_HEADER), `${method} ${path}`).toBeTruthy();
		}
		const none: Array<[string, string, unknown?]> = [
			["GET", checkPath(email)],
			["GET", `/v1/topics`],
			["POST", "/v1/consent/check", { channel: "email", businessUnit: "de", recipients: [{ email }] }],
			["POST", "/v1/links", { recipient: { email, businessUnit: "de" } }],
			["POST", "/v1/links/batch", { businessUnit: "de", recipients: [{ email }] }],
			["PUT", "/v1/leads", { email: "not an email", businessUnit: "de" }],
			["DELETE", `/v1/users/${unique("nobody")}`],
		];
		for (const [method, path, body] of none) {
			const response = await api(method, path, { body });
			expect(response.headers.get(BOOKMARK_HEADER), `${method} ${path} (${response.status})`).toBeNull();
		}
	});

	it("answers a malformed bookmark with 400 problem+json, and an empty one like none", async () => {
		const email = uniqueEmail();
		// Too long, blanks, control characters (they could not even travel in D1's own request header).
		const bad = ["x".repeat(257), "a b", "bookmark\twith-tab", "0000\u0001", "0000\u007f"];
		const calls: Array<[string, string, unknown?]> = [
			["GET", checkPath(email)],
			["POST", "/v1/consent/check", { channel: "email", businessUnit: "de", recipients: [{ email }] }],
			["GET", "/v1/stats/opt-outs"],
			["GET", "/v1/stats/campaigns"],
			["GET", "/v1/exports/contacts.csv"],
			["GET", "/v1/exports/events.csv?event=Opt%20Out"],
		];
		for (const [method, path, body] of calls) {
			for (const value of bad) {
				const response = await api(method, path, { body, headers: { [BOOKMARK_HEADER]: value } });
				expect(response.status, `${method} ${path} with ${JSON.stringify(value)}`).toBe(400);
				expect(response.headers.get("content-type")).toContain("application/problem+json");
				const problem = await json(response);
				expect(problem.code).toBe("VALIDATION_FAILED");
				expect(problem.errors[0].path).toBe(`header.${BOOKMARK_HEADER}`);
			}
			const empty = await api(method, path, { body, headers: { [BOOKMARK_HEADER]: "" } });
			expect(empty.status, `${method} ${path} with an empty bookmark`).toBe(200);
		}
		// An old bookmark (or D1's own constraint names) is still a valid bookmark.
		for (const value of ["00000000-00000001-00000000-00000000000000000000000000000000", "first-primary"]) {
			expect((await api("GET", checkPath(email), { headers: { [BOOKMARK_HEADER]: value } })).status).toBe(200);
		}
	});

	it("is documented: a request header on the reads, a response header component on the writes", async () => {
		await putTopic(unique("doc"));
		const doc = await json(await api("GET", "/openapi.json", { key: null }));
		expect(doc.components.headers.ConsentBookmark.description).toContain("bookmark");
		expect(doc.info.description).toContain(BOOKMARK_HEADER);
		const ref = { $ref: "#/components/headers/ConsentBookmark" };
		expect(doc.paths["/v1/events"].post.responses["200"].headers[BOOKMARK_HEADER]).toEqual(ref);
		expect(doc.paths["/v1/users/{externalId}"].put.responses["201"].headers[BOOKMARK_HEADER]).toEqual(ref);
		expect(doc.paths["/v1/users/{externalId}"].delete.responses["204"].headers[BOOKMARK_HEADER]).toEqual(ref);
		expect(doc.paths["/v1/events"].post.responses["400"].headers).toBeUndefined();
		expect(doc.paths["/v1/consent/check"].post.responses["200"].headers).toBeUndefined();
		for (const [path, method] of [
			["/v1/consent", "get"],
			["/v1/consent/check", "post"],
			["/v1/stats/opt-outs", "get"],
			["/v1/stats/campaigns", "get"],
		] as const) {
			expect(doc.paths[path][method].parameters, `${method} ${path}`).toContainEqual(
				expect.objectContaining({ name: BOOKMARK_HEADER, in: "header", required: false }),
			);
		}
	});
});

function optOutEvent(occurredAt: string, idempotencyKey: string, channel = "email") {
	return {
		event: "Opt Out",
		channel,
		topic: null,
		properties: {},
		occurredAt,
		idempotencyKey,
	} as unknown as Parameters<ReturnType<typeof actorFor>["applyEvents"]>[1][number];
}
