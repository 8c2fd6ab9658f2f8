import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { LinkSigner } from "../../../src/links/token";
import { MAX_MAIL_BYTES } from "../../../src/mail/unsubscribe-mail";
import { ADMIN, BASE, json, ledgerOf, putTopic, type StoredLedgerRow, unique, uniqueEmail } from "../../helpers";
import { confirmToken, consentOf, contactIdByEmail, manageToken, seedLead, visit } from "../pages/page-helpers";
import { alternative, deliver, encodedWordSubject, type MessageCalls, rawMail } from "./mail-helpers";

type Row = StoredLedgerRow;

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** The value with every ISO time replaced: twins differ only in when things happened. */
function timeless(value: unknown): unknown {
	if (typeof value === "string") return ISO_TIME.test(value) ? "<time>" : value;
	if (Array.isArray(value)) return value.map(timeless);
	if (value && typeof value === "object") {
		return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, timeless(inner)]));
	}
	return value;
}

/** What a ledger row says, without what differs between a mail and a request (source, origin, times, key). */
function meaning(row: Row | undefined) {
	if (!row) throw new Error("no ledger row");
	const { event, channel, topic, changes, changed, properties, reason, feedback, campaign } = row;
	return {
		event,
		channel,
		topic,
		changes: timeless(JSON.parse(changes)),
		changed,
		properties: JSON.parse(properties),
		reason,
		feedback,
		campaign,
	};
}

/** Two leads in the same state: subscribed to two email topics, sms opted in. */
async function seedTwins() {
	const kids = unique("kids");
	const pets = unique("pets");
	await putTopic(kids, { channel: "email" });
	await putTopic(pets, { channel: "email" });
	const events = [
		{ event: "Subscribe", topic: kids },
		{ event: "Subscribe", topic: pets },
		{ event: "Opt In", channel: "sms" },
	];
	const mailed = await seedLead(uniqueEmail(), events);
	const clicked = await seedLead(uniqueEmail(), events);
	return { mailed: mailed.id, clicked: clicked.id, kids, pets };
}

const oneClick = (token: string) =>
	visit("POST", `/u/${token}`, { body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }) });

/** Nothing the platform object offers was used to answer the sender. */
function expectNoAnswer(calls: MessageCalls) {
	expect(calls.setReject).toEqual([]);
	expect(calls.forward).toEqual([]);
	expect(calls.reply).toEqual([]);
}

describe("a mail with a valid unsubscribe token applies exactly like a one-click", () => {
	const scopes = [
		{ name: "a topic link unsubscribes that topic", scope: (kids: string) => ({ topic: kids }) },
		{ name: "a channel link opts out that channel", scope: () => ({ channel: "email" as const }) },
		{ name: "a link with neither opts out of every channel", scope: () => ({}) },
	];
	for (const { name, scope } of scopes) {
		it(name, async () => {
			const { mailed, clicked, kids, pets } = await seedTwins();
			const campaign = unique("campaign");
			const mailToken = await manageToken({ contactId: mailed }, { ...scope(kids), campaign });
			const clickToken = await manageToken({ contactId: clicked }, { ...scope(kids), campaign });
			const before = await ledgerOf(mailed);

			const messageId = `<${unique("mid")}@mail.example.de>`;
			const calls = await deliver(rawMail({ subject: `unsubscribe ${mailToken}`, messageId }));
			expect((await oneClick(clickToken)).status).toBe(200);

			expectNoAnswer(calls);
			expect(timeless(await consentOf(mailed))).toEqual(timeless(await consentOf(clicked)));
			const mailedRows = await ledgerOf(mailed);
			expect(mailedRows).toHaveLength(before.length + 1);
			const row = mailedRows.at(-1) as Row;
			expect(meaning(row)).toEqual(meaning((await ledgerOf(clicked)).at(-1)));
			expect(row).toMatchObject({ source: "mailto", campaign, changed: 1, ip: null, user_agent: null });
			// The Message-ID only as a keyed hash.
			expect(row.idempotency_key).toMatch(/^mailto:[0-9a-f]{64}$/);

			const consent = await consentOf(mailed);
			if ("topic" in scope(kids)) {
				expect(consent.topics[kids].status).toBe("unsubscribed");
				expect(consent.topics[pets].status).toBe("subscribed");
				expect(consent.channels.email?.optedOut ?? false).toBe(false);
			} else {
				expect(consent.channels.email.optedOut).toBe(true);
				expect(consent.channels.sms.optedOut).toBe(!("channel" in scope(kids)));
			}
			// Nothing personal in the logs: no address, token or message id.
			expect(calls.logs.join("\n")).toContain("mailto unsubscribe applied");
			for (const secret of [mailToken, messageId, "ann@example.de", mailed]) {
				expect(calls.logs.join("\n")).not.toContain(secret);
			}
		});
	}

	it("creates the lead for an address without a contact, as a one-click does", async () => {
		const mailedEmail = uniqueEmail();
		const clickedEmail = uniqueEmail();
		const mailToken = await manageToken({ email: mailedEmail, businessUnit: "at" }, { channel: "email" });
		const clickToken = await manageToken({ email: clickedEmail, businessUnit: "at" }, { channel: "email" });
		expectNoAnswer(await deliver(rawMail({ subject: `Unsubscribe ${mailToken}` })));
		expect((await oneClick(clickToken)).status).toBe(200);
		const mailed = await contactIdByEmail(mailedEmail, "at");
		const clicked = await contactIdByEmail(clickedEmail, "at");
		expect(mailed).not.toBeNull();
		expect(timeless(await consentOf(mailed as string))).toEqual(timeless(await consentOf(clicked as string)));
		expect((await consentOf(mailed as string)).channels.email.optedOut).toBe(true);
		expect(meaning((await ledgerOf(mailed as string)).at(-1))).toEqual(
			meaning((await ledgerOf(clicked as string)).at(-1)),
		);
	});
});

describe("the same mail twice", () => {
	it("is recorded once: the Message-ID is the idempotency key", async () => {
		const { mailed } = await seedTwins();
		const token = await manageToken({ contactId: mailed }, { channel: "email" });
		const raw = rawMail({ subject: `unsubscribe ${token}` });
		const first = await deliver(raw);
		const second = await deliver(raw);
		expectNoAnswer(first);
		expectNoAnswer(second);
		expect(second.logs.join("\n")).toContain("(a repeat)");
		const rows = (await ledgerOf(mailed)).filter((row) => row.source === "mailto");
		expect(rows.map((row) => row.changed)).toEqual([1]);

		// Another mail with the same token is another request: recorded, changing nothing (as a second one-click).
		await deliver(rawMail({ subject: `unsubscribe ${token}` }));
		const after = (await ledgerOf(mailed)).filter((row) => row.source === "mailto");
		expect(after.map((row) => row.changed)).toEqual([1, 0]);
		expect(after[0]?.idempotency_key).not.toBe(after[1]?.idempotency_key);
	});

	it("is recorded once without a Message-ID too, known by its Date, From and Subject", async () => {
		const { mailed } = await seedTwins();
		const token = await manageToken({ contactId: mailed }, { channel: "email" });
		const raw = rawMail({ subject: `unsubscribe ${token}`, messageId: null });
		await deliver(raw);
		await deliver(raw);
		expect((await ledgerOf(mailed)).filter((row) => row.source === "mailto")).toHaveLength(1);
	});
});

describe("a mail without a valid token changes nothing and is dropped, never rejected", () => {
	it("forged, tampered, unknown-key, confirmation, expired, unknown contact, or no token at all", async () => {
		const { mailed, kids } = await seedTwins();
		const valid = await manageToken({ contactId: mailed }, { channel: "email" });
		const [kid, payload] = valid.split(".") as [string, string, string];
		const keys = JSON.parse(env.LINK_SIGNING_KEYS) as Record<string, string>;
		const forger = await LinkSigner.create([{ kid, secret: "not-the-service-secret-0123456789" }]);
		const forged = await forger.sign({ purpose: "manage", subject: { contactId: mailed }, issuedAt: 1 });
		const otherPayload = (await manageToken({ contactId: mailed }, { topic: kids })).split(".")[1];
		const tampered = `${kid}.${otherPayload}.${valid.split(".")[2]}`;
		const flipped = `${valid.slice(0, -1)}${valid.endsWith("A") ? "Q" : "A"}`;
		expect(tampered).not.toBe(valid);
		expect(Object.keys(keys)).not.toContain("zz");
		const unknownKey = (
			await (
				await LinkSigner.create([{ kid: "zz", secret: "some-other-secret-0123456789" }])
			).sign({
				purpose: "manage",
				subject: { contactId: mailed },
				issuedAt: 1,
			})
		).toString();
		const confirmation = await confirmToken({ contactId: mailed }, { topic: kids, channel: "email" });
		const now = Math.floor(Date.now() / 1000);
		const expired = await confirmToken({ contactId: mailed }, { issuedAt: now - 7200, expiresAt: now - 3600 });
		const unknownContact = await manageToken({ contactId: unique("nobody") }, { channel: "email" });
		const strangerEmail = uniqueEmail();
		const forgedLead = await forger.sign({
			purpose: "manage",
			subject: { email: strangerEmail, businessUnit: "default" },
			issuedAt: 1,
		});

		const cases: Array<[string, string, string]> = [
			["forged", rawMail({ subject: `unsubscribe ${forged}` }), "invalid_token"],
			["tampered", rawMail({ subject: `unsubscribe ${tampered}` }), "invalid_token"],
			["truncated", rawMail({ subject: `unsubscribe ${valid.slice(0, -3)}` }), "no_token"],
			["one character changed", rawMail({ subject: `unsubscribe ${flipped}` }), "invalid_token"],
			["payload only", rawMail({ subject: `unsubscribe ${payload}` }), "no_token"],
			["unknown key", rawMail({ subject: `unsubscribe ${unknownKey}` }), "invalid_token"],
			["confirmation token", rawMail({ subject: `unsubscribe ${confirmation}` }), "invalid_token"],
			["expired confirmation", rawMail({ subject: `unsubscribe ${expired}` }), "expired_token"],
			["unknown contact", rawMail({ subject: `unsubscribe ${unknownContact}` }), "not_found"],
			["forged lead", rawMail({ subject: `unsubscribe ${forgedLead}` }), "invalid_token"],
			["no token", rawMail({ subject: "Please unsubscribe me" }), "no_token"],
			["no subject", rawMail({ subject: null }), "no_token"],
			["not a mail", "\u0000\u0001 not a message at all", "no_token"],
		];
		const ledgerBefore = await ledgerOf(mailed);
		const consentBefore = await consentOf(mailed);
		for (const [name, raw, reason] of cases) {
			const calls = await deliver(raw);
			expectNoAnswer(calls);
			expect(calls.logs, name).toEqual([`mailto unsubscribe dropped: ${reason}`]);
		}
		expect(await ledgerOf(mailed)).toEqual(ledgerBefore);
		expect(await consentOf(mailed)).toEqual(consentBefore);
		expect(await contactIdByEmail(strangerEmail)).toBeNull();
	});
});

describe("where the token is found", () => {
	for (const encoding of ["B", "Q"] as const) {
		it(`in an RFC 2047 encoded-word subject (${encoding}, folded over two lines)`, async () => {
			const { mailed } = await seedTwins();
			const token = await manageToken({ contactId: mailed }, { channel: "email" });
			const subject = encodedWordSubject(`Abbestellen ✓ unsubscribe ${token}`, encoding);
			expect(subject).not.toContain(token);
			expect(subject).toContain("\r\n ");
			const calls = await deliver(rawMail({ subject }));
			expectNoAnswer(calls);
			expect((await consentOf(mailed)).channels.email.optedOut).toBe(true);
			expect((await ledgerOf(mailed)).at(-1)).toMatchObject({ source: "mailto", event: "Opt Out" });
		});
	}

	it("in a subject the client left percent-encoded, after a reply prefix", async () => {
		const { mailed } = await seedTwins();
		const token = await manageToken({ contactId: mailed }, { channel: "email" });
		await deliver(rawMail({ subject: `AW: unsubscribe%20${token}` }));
		expect((await consentOf(mailed)).channels.email.optedOut).toBe(true);
	});

	it("in the text part of a multipart/alternative body when the subject has none", async () => {
		const { mailed, kids } = await seedTwins();
		const token = await manageToken({ contactId: mailed }, { topic: kids });
		const content = alternative(`unsubscribe ${token}\n\nSent from my phone`, "<p>Please take me off this list.</p>");
		// Quoted-printable soft line breaks run through the token: only the decoded body has it whole.
		expect(content).not.toContain(token);
		const calls = await deliver(rawMail({ subject: "Please take me off your list", content }));
		expectNoAnswer(calls);
		expect((await consentOf(mailed)).topics[kids].status).toBe("unsubscribed");
		expect((await ledgerOf(mailed)).at(-1)).toMatchObject({ source: "mailto", event: "Unsubscribe", topic: kids });
	});
});

describe("a huge mail", () => {
	it("over the bound is dropped unread: nothing changed, nothing rejected", async () => {
		const { mailed } = await seedTwins();
		const token = await manageToken({ contactId: mailed }, { channel: "email" });
		const before = await ledgerOf(mailed);
		const calls = await deliver(rawMail({ subject: `unsubscribe ${token}` }), { rawSize: MAX_MAIL_BYTES + 1 });
		expect(calls.rawRead).toBe(false);
		expectNoAnswer(calls);
		expect(calls.logs).toEqual(["mailto unsubscribe dropped: too_large"]);
		expect(await ledgerOf(mailed)).toEqual(before);
		expect((await consentOf(mailed)).channels.email?.optedOut ?? false).toBe(false);
	});

	it("whose stream runs past the bound despite its rawSize is dropped once the bound is passed", async () => {
		const { mailed } = await seedTwins();
		const token = await manageToken({ contactId: mailed }, { channel: "email" });
		const padding = `${"x".repeat(76)}\r\n`.repeat(Math.ceil(MAX_MAIL_BYTES / 78) + 10);
		const raw = rawMail({ subject: `unsubscribe ${token}`, content: `Content-Type: text/plain\r\n\r\n${padding}` });
		const calls = await deliver(raw, { rawSize: 2_000 });
		expectNoAnswer(calls);
		expect(calls.logs).toEqual(["mailto unsubscribe dropped: too_large"]);
		expect((await consentOf(mailed)).channels.email?.optedOut ?? false).toBe(false);
	});
});

describe("POST /v1/links with LIST_UNSUBSCRIBE_MAILTO", () => {
	it("makes a mailto URI whose subject token applies through the email handler", async () => {
		const { mailed } = await seedTwins();
		const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(mailed).first<{
			email: string;
		}>()) as { email: string };
		// The worker with LIST_UNSUBSCRIBE_MAILTO set: a fresh env object gets its own parsed config.
		const response = await createApp().fetch(
			new Request(`${BASE}/v1/links`, {
				method: "POST",
				headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
				body: JSON.stringify({ recipient: { email: email.email }, channel: "email", campaign: "mail-nov" }),
			}),
			{ ...env, LIST_UNSUBSCRIBE_MAILTO: "unsubscribe@consent.example.test" } as never,
			{ waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as never,
		);
		expect(response.status).toBe(200);
		const links = await json(response);
		const token = links.unsubscribeUrl.slice(links.unsubscribeUrl.lastIndexOf("/") + 1);
		const mailto = /, <(mailto:[^>]+)>$/.exec(links.headers["List-Unsubscribe"])?.[1] as string;
		expect(mailto).toBe(`mailto:unsubscribe@consent.example.test?subject=unsubscribe%20${token}`);

		// What a mailbox sends for that URI (RFC 6068: the subject field's decoded value).
		const subject = new URL(mailto).searchParams.get("subject");
		expect(subject).toBe(`unsubscribe ${token}`);
		expectNoAnswer(await deliver(rawMail({ subject: subject as string })));
		expect((await consentOf(mailed)).channels.email.optedOut).toBe(true);
		expect((await ledgerOf(mailed)).at(-1)).toMatchObject({ source: "mailto", campaign: "mail-nov", channel: "email" });
	});
});
