import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { api, json, postEvents, putTopic, unique, uniqueEmail } from "../../helpers";
import { contactIdByEmail, isChecked, ledgerOf, manageToken, submit } from "../pages/page-helpers";

/** A value nested `depth` objects deep: {a: {a: … {}}}. */
function nested(depth: number): Record<string, unknown> {
	let value: Record<string, unknown> = {};
	for (let level = 1; level < depth; level++) value = { a: value };
	return value;
}

describe("input limits: 16 KiB and 8 levels for traits and properties, nothing written on refusal", () => {
	it("refuses deep or large traits with 400 and makes no contact", async () => {
		for (const traits of [nested(4000), nested(9), { big: "x".repeat(17 * 1024) }]) {
			const email = uniqueEmail();
			const response = await api("PUT", "/v1/leads", { body: { email, businessUnit: "de", traits } });
			expect(response.status).toBe(400);
			expect(response.headers.get("content-type")).toBe("application/problem+json");
			expect((await json(response)).code).toBe("VALIDATION_FAILED");
			expect(await contactIdByEmail(email, "de")).toBeNull();
		}
		const ok = await api("PUT", "/v1/leads", { body: { email: uniqueEmail(), businessUnit: "de", traits: nested(8) } });
		expect(ok.status).toBe(201);
	});

	it("refuses deep event properties before the lead is made, and keeps the contact writable", async () => {
		const email = uniqueEmail();
		const deep = await postEvents({ email }, [{ event: "Order Placed", properties: nested(4000) }]);
		expect(deep.status).toBe(400);
		expect(await contactIdByEmail(email)).toBeNull();
		const user = unique("deep");
		await api("PUT", `/v1/users/${user}`, { body: { email } });
		expect((await api("PUT", `/v1/users/${user}`, { body: { traits: nested(4000) } })).status).toBe(400);
		expect((await postEvents({ id: user }, [{ event: "Opt Out", channel: "email" }])).status).toBe(200);
	});
});

describe("emails: IDN, Unicode look-alikes, invisible characters", () => {
	it("accepts an IDN domain as punycode and makes look-alikes one contact", async () => {
		const local = unique("ann");
		const created = await api("PUT", "/v1/leads", { body: { email: `${local}@bücher.de`, businessUnit: "de" } });
		expect(created.status).toBe(201);
		const lead = await json(created);
		expect(lead.email).toBe(`${local}@xn--bcher-kva.de`);
		const fullwidth = [...`${local}@BÜCHER.DE`]
			.map((c) => (/[a-z]/i.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c))
			.join("");
		const again = await api("PUT", "/v1/leads", { body: { email: fullwidth, businessUnit: "de" } });
		expect(again.status).toBe(200);
		expect((await json(again)).id).toBe(lead.id);
	});

	it("refuses invisible and bidi characters in externalIds too", async () => {
		for (const id of ["u\u202e1", "u\u200b1"]) {
			const response = await api("PUT", `/v1/users/${encodeURIComponent(id)}`, { body: { email: uniqueEmail() } });
			expect(response.status, id).toBe(400);
		}
	});

	it("refuses zero-width and bidirectional control characters", async () => {
		for (const email of [`ann\u200b@example.de`, `\u202eann@example.de`, `ann@exa\u200dmple.de`]) {
			const response = await api("PUT", "/v1/leads", { body: { email, businessUnit: "de" } });
			expect(response.status, JSON.stringify(email)).toBe(400);
		}
	});
});

describe("links need PUBLIC_BASE_URL unless the request comes to a loopback host", () => {
	const app = createApp();
	const withoutBase = { ...env, PUBLIC_BASE_URL: "" };
	const call = (origin: string, path: string, body: unknown) =>
		app.fetch(
			new Request(`${origin}${path}`, {
				method: "POST",
				headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
				body: JSON.stringify(body),
			}),
			withoutBase,
		);

	it("refuses to make links from a foreign Host, with nothing written", async () => {
		const email = uniqueEmail();
		const links = await call("https://evil.example", "/v1/links", { recipient: { email } });
		expect(links.status).toBe(409);
		expect((await json(links)).code).toBe("CONFIGURATION_REQUIRED");
		const topic = unique("doi");
		await putTopic(topic, { doubleOptIn: true });
		const subscribe = await call("https://evil.example", "/v1/events", {
			email,
			events: [{ event: "Subscribe", topic }],
		});
		expect(subscribe.status).toBe(409);
		expect(await contactIdByEmail(email)).toBeNull();
	});

	it("makes them from localhost for local development", async () => {
		for (const origin of ["http://localhost:8787", "http://127.0.0.1:8787"]) {
			const links = await call(origin, "/v1/links", { recipient: { email: uniqueEmail() } });
			expect(links.status).toBe(200);
			expect((await json(links)).unsubscribeUrl).toMatch(new RegExp(`^${origin}/u/`));
		}
	});
});

describe("the preference center and the confirmation page after an opt-out of the whole channel", () => {
	it("a topic ticked while 'stop all' stays ticked is not claimed as saved, and nothing is applied", async () => {
		const email = uniqueEmail();
		const topic = unique("p");
		await putTopic(topic);
		const { id } = await json(
			await postEvents({ email }, [
				{ event: "Unsubscribe", topic },
				{ event: "Opt Out", channel: "email" },
			]),
		);
		const before = (await ledgerOf(id)).length;
		const token = await manageToken({ contactId: id }, { channel: "email" });
		const page = await submit(`/p/${token}`, [
			["shown_channel", "email"],
			["shown_topic", topic],
			["topic", topic],
			["stop", "email"],
			["action", "save"],
		]);
		expect(page.status).toBe(200);
		const html = await page.text();
		expect(html).not.toContain("Your choices have been saved.");
		expect(html).toContain('role="alert"');
		expect(html).toContain("untick “Stop all emails”");
		expect(isChecked(html, "topic", topic)).toBe(true); // shown as chosen, with what to change
		expect((await ledgerOf(id)).length).toBe(before);
	});

	it("confirming a topic after a channel-wide opt-out re-opens the channel for that topic only", async () => {
		const email = uniqueEmail();
		const [a, b, c] = [unique("a"), unique("b"), unique("c")];
		await putTopic(a);
		await putTopic(b);
		await putTopic(c, { doubleOptIn: true });
		await postEvents({ email }, [
			{ event: "Subscribe", topic: a },
			{ event: "Subscribe", topic: b },
		]);
		await postEvents({ email }, [{ event: "Opt Out" }]);
		const { id, confirmations } = await json(await postEvents({ email }, [{ event: "Subscribe", topic: c }]));
		const confirmed = await submit(new URL(confirmations[0].confirmUrl).pathname, []);
		expect(confirmed.status).toBe(200);
		const contact = await json(await api("GET", `/v1/leads?email=${email}`));
		expect(contact.consent.channels.email.optedOut).toBe(false);
		expect(contact.consent.channels.sms.optedOut).toBe(true);
		expect(Object.fromEntries([a, b, c].map((key) => [key, contact.consent.topics[key].status]))).toEqual({
			[a]: "unsubscribed",
			[b]: "unsubscribed",
			[c]: "subscribed",
		});
		// One ledger row holds the whole change.
		const row = (await ledgerOf(id)).at(-1);
		expect(row?.source).toBe("confirmation_page");
		expect(JSON.parse((row as unknown as { changes: string }).changes)).toEqual(
			expect.arrayContaining([
				{ field: "channels.email.optedOut", from: true, to: false },
				{ field: `topics.${a}.status`, from: "subscribed", to: "unsubscribed" },
				{ field: `topics.${b}.status`, from: "subscribed", to: "unsubscribed" },
				{ field: `topics.${c}.status`, from: "pending", to: "subscribed" },
			]),
		);
	});
});
