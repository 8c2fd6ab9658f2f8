import { describe, expect, it } from "vitest";
import { LinkSigner } from "../../../src/links/token";
import { putTopic, unique, uniqueEmail } from "../../helpers";
import {
	confirmToken,
	consentOf,
	contactIdByEmail,
	countH1,
	expectPageHeaders,
	ledgerOf,
	manageToken,
	seedLead,
	visit,
} from "./page-helpers";

const ONE_CLICK = () => new URLSearchParams({ "List-Unsubscribe": "One-Click" });

/** The token with one character of its signature changed. */
function tamper(token: string): string {
	const index = token.length - 5;
	const replacement = token[index] === "A" ? "B" : "A";
	return token.slice(0, index) + replacement + token.slice(index + 1);
}

async function expectErrorPage(response: Response, status: number, text: string) {
	expect(response.status).toBe(status);
	expect(response.headers.get("content-type")).toMatch(/^text\/html/);
	expectPageHeaders(response);
	const html = await response.text();
	expect(html).toContain(text);
	expect(countH1(html)).toBe(1);
	expect(html).not.toMatch(/at .*\.(ts|js):\d+|Error:/);
}

async function seedSubscriber() {
	const email = uniqueEmail();
	const kids = unique("kids");
	await putTopic(kids, { channel: "email", doubleOptIn: true });
	const { id } = await seedLead(email, [{ event: "Subscribe", topic: kids }]);
	return { id, kids };
}

describe("bad links change nothing", () => {
	it("tampered and malformed tokens get a friendly 400 page on every path and method", async () => {
		const { id, kids } = await seedSubscriber();
		const before = await ledgerOf(id);
		const tampered = [
			tamper(await manageToken({ contactId: id }, { channel: "email" })),
			tamper(await confirmToken({ contactId: id }, { topic: kids })),
			"not-a-token",
			"a.b.c",
			`${"x".repeat(3000)}.y.z`,
		];
		for (const token of tampered) {
			for (const path of ["/u/", "/p/", "/c/"]) {
				await expectErrorPage(await visit("GET", `${path}${token}`), 400, "This link does not work");
				await expectErrorPage(await visit("POST", `${path}${token}`, { body: ONE_CLICK() }), 400, "was changed");
				expect((await visit("HEAD", `${path}${token}`)).status).toBe(400);
			}
		}
		// A token signed with a key the service does not know.
		const stranger = await LinkSigner.create([{ kid: "t2", secret: "someone-elses-secret-0123456789" }]);
		const forged = await stranger.sign({ purpose: "manage", subject: { contactId: id }, issuedAt: 1 });
		await expectErrorPage(await visit("POST", `/u/${forged}`, { body: ONE_CLICK() }), 400, "This link does not work");

		expect(await ledgerOf(id)).toEqual(before);
		expect((await consentOf(id)).topics[kids].status).toBe("pending");
	});

	it("an expired confirmation link gets 410", async () => {
		const { id, kids } = await seedSubscriber();
		const before = await ledgerOf(id);
		const issuedAt = Math.floor(Date.now() / 1000) - 8 * 24 * 3600;
		const token = await confirmToken({ contactId: id }, { topic: kids, issuedAt, expiresAt: issuedAt + 7 * 24 * 3600 });
		await expectErrorPage(await visit("GET", `/c/${token}`), 410, "This link has expired.");
		await expectErrorPage(await visit("POST", `/c/${token}`), 410, "This link has expired.");
		expect(await ledgerOf(id)).toEqual(before);
		expect((await consentOf(id)).topics[kids].status).toBe("pending");
	});

	it("a link of the wrong purpose gets 400: confirmation links do not unsubscribe, manage links do not confirm", async () => {
		const { id, kids } = await seedSubscriber();
		const before = await ledgerOf(id);
		const confirm = await confirmToken({ contactId: id }, { topic: kids });
		const manage = await manageToken({ contactId: id }, { topic: kids });
		await expectErrorPage(await visit("POST", `/u/${confirm}`, { body: ONE_CLICK() }), 400, "This link does not work");
		await expectErrorPage(await visit("GET", `/u/${confirm}`), 400, "This link does not work");
		await expectErrorPage(await visit("POST", `/p/${confirm}`), 400, "This link does not work");
		await expectErrorPage(await visit("GET", `/c/${manage}`), 400, "This link does not work");
		await expectErrorPage(await visit("POST", `/c/${manage}`), 400, "This link does not work");
		expect(await ledgerOf(id)).toEqual(before);
	});

	it("a link to a contact or topic that does not exist gets a friendly 404 page", async () => {
		for (const subject of [{ contactId: crypto.randomUUID() }, { externalId: unique("nobody") }]) {
			const token = await manageToken(subject, { channel: "email" });
			await expectErrorPage(await visit("GET", `/u/${token}`), 404, "We could not find what this link points to.");
			await expectErrorPage(await visit("POST", `/u/${token}`, { body: ONE_CLICK() }), 404, "could not find");
			await expectErrorPage(await visit("GET", `/p/${token}`), 404, "could not find");
		}
		const email = uniqueEmail();
		const token = await manageToken({ email, businessUnit: "default" }, { topic: unique("gone") });
		await expectErrorPage(await visit("POST", `/u/${token}`, { body: ONE_CLICK() }), 404, "could not find");
		expect(await contactIdByEmail(email)).toBeNull();
	});

	it("an error page speaks German when asked", async () => {
		const response = await visit("GET", "/u/not-a-token", { headers: { "accept-language": "de" } });
		await expectErrorPage(response, 400, "Dieser Link funktioniert nicht");
	});

	it("a malformed multipart body is a 400 page, not a 500", async () => {
		const { id } = await seedSubscriber();
		const token = await manageToken({ contactId: id }, { channel: "email" });
		const response = await visit("POST", `/u/${token}`, {
			body: "--x\r\nbroken",
			headers: { "content-type": "multipart/form-data; boundary=x" },
		});
		await expectErrorPage(response, 400, "This link does not work");
		expect((await consentOf(id)).channels.email?.optedOut ?? false).toBe(false);
	});
});
