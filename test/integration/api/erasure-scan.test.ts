/**
 * GDPR erasure leaves no personal data anywhere. One user goes through every path that
 * writes about a person (the API, the public pages, an import, the webhooks of every provider
 * through the real queue, the bare blocklist, dead letters) and is then erased. Afterwards every
 * column of every table (found through sqlite_master, so a table added later is searched too), both
 * CSV exports, and every outbound message sent after the erasure are searched for the person's
 * email, phone, externalId, IP, user agent and free texts. What must stay stays: the ledger rows by
 * the random contact id, an `Erase` row, and the suppression of the address as a keyed hash.
 */
import { createExecutionContext, createMessageBatch, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { ERASED, ERASED_EVENT, KNOWN_REASON_CODES } from "../../../src/consent/erasure";
import { base64Encode, hexEncode, hmac, utf8 } from "../../../src/crypto";
import { suppressionHash, suppressionSubject } from "../../../src/db/suppressions";
import type { Bindings } from "../../../src/env";
import worker from "../../../src/index";
import type { OutboundEvent } from "../../../src/outbound/outbound";
import { DEAD_LETTER_QUEUE } from "../../../src/queues";
import {
	api,
	BASE,
	eventually,
	json,
	ledgerOf,
	putTopic,
	type StoredLedgerRow,
	unique,
	uniqueEmail,
	uniquePhone,
} from "../../helpers";
import { manageToken, submit, visit } from "../pages/page-helpers";
import { basicAuth, rawToDer } from "../webhooks/webhook-helpers";
import { rsaCertificate } from "../webhooks/x509-builder";

const bindings = env as unknown as Bindings;
const now = () => Math.floor(Date.now() / 1000);
const hex = (bytes: number) => hexEncode(crypto.getRandomValues(new Uint8Array(bytes)));

// ---------------------------------------------------------------------------------------------
// The person, and what must not be found once they are erased

interface Person {
	externalId: string;
	email: string;
	phone: string;
	/** A documentation-range IPv6 address no other test uses. */
	ip: string;
	userAgent: string;
	/** Traits. */
	firstName: string;
	note: string;
	/** Free texts the person (or a provider) wrote: a reason, a comment, a custom property. */
	reason: string;
	comment: string;
	remark: string;
}

function newPerson(): Person {
	const id = hex(4);
	return {
		externalId: unique("crm"),
		email: uniqueEmail(),
		phone: uniquePhone(),
		ip: `2001:db8:${hex(2)}:${hex(2)}::${hex(2)}`,
		userAgent: `ScanBrowser/${id} (erasure test)`,
		firstName: `Annika${id}`,
		note: `prefers calls after six ${hex(4)}`,
		reason: `moving abroad ${hex(4)}`,
		comment: `far too many mails ${hex(4)}`,
		remark: `met at the fair ${hex(4)}`,
	};
}

/** What identifies or describes the person, by name; searched case-insensitively. */
function needlesOf(person: Person): Record<string, string> {
	return {
		email: person.email,
		"email (url-encoded)": encodeURIComponent(person.email),
		phone: person.phone,
		"phone without +": person.phone.slice(1),
		externalId: person.externalId,
		ip: person.ip,
		"user agent": person.userAgent,
		"trait firstName": person.firstName,
		"trait note": person.note,
		"reason text": person.reason,
		comment: person.comment,
		"custom property": person.remark,
	};
}

/** The browser (or mailbox provider) the person used on the public pages and through the API. */
const clientOf = (person: Person) => ({ "cf-connecting-ip": person.ip, "user-agent": person.userAgent });

interface Finding {
	where: string;
	needle: string;
	excerpt: string;
}

/** Where in `text` each needle occurs (case-insensitively), as findings of `where`. */
function findIn(where: string, text: string, needles: Record<string, string>): Finding[] {
	const lower = text.toLowerCase();
	return Object.entries(needles).flatMap(([needle, value]) => {
		const at = lower.indexOf(value.toLowerCase());
		if (at < 0) return [];
		return [{ where, needle, excerpt: text.slice(Math.max(0, at - 60), at + value.length + 60) }];
	});
}

// ---------------------------------------------------------------------------------------------
// The scans

/** Every table of the database with its columns, as sqlite_master and table_info say now. */
async function tables(): Promise<Array<{ table: string; columns: Array<{ name: string; type: string }> }>> {
	const { results } = await env.DB.prepare(
		// D1's own tables (_cf_…) are not readable, and hold nothing of the application.
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
	).all<{ name: string }>();
	return Promise.all(
		results.map(async ({ name }) => ({
			table: name,
			columns: (
				await env.DB.prepare("SELECT name, type FROM pragma_table_info(?)")
					.bind(name)
					.all<{ name: string; type: string }>()
			).results,
		})),
	);
}

const quoteName = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Every column of every table (TEXT columns, and any other cast to text) searched for the needles
 * in SQL, one statement per table; the matching values come back to say where.
 */
async function scanDatabase(needles: Record<string, string>): Promise<{ findings: Finding[]; scanned: string[] }> {
	const lowered = JSON.stringify(Object.values(needles).map((value) => value.toLowerCase()));
	const all = await tables();
	const statements = all.map(({ table, columns }) => {
		const matches = columns
			.map(
				({ name }) =>
					// Qualified: json_each has columns of its own (key, value, id, type…) that would shadow the table's.
					`EXISTS (SELECT 1 FROM json_each(?1) n WHERE instr(lower(CAST(t.${quoteName(name)} AS TEXT)), n.value) > 0)`,
			)
			.join(" OR ");
		return env.DB.prepare(`SELECT * FROM ${quoteName(table)} AS t WHERE ${matches}`).bind(lowered);
	});
	const results = await env.DB.batch<Record<string, unknown>>(statements);
	const findings = all.flatMap(({ table, columns }, index) =>
		(results[index]?.results ?? []).flatMap((row) =>
			columns.flatMap(({ name }) =>
				row[name] === null || row[name] === undefined
					? []
					: findIn(`${table}.${name}`, String(row[name]), needles).map((finding) => ({
							...finding,
							where: `${finding.where} (row ${JSON.stringify(row).slice(0, 300)})`,
						})),
			),
		),
	);
	return { findings, scanned: all.map(({ table, columns }) => `${table}(${columns.map((c) => c.name).join(",")})`) };
}

async function exportsText(): Promise<Record<string, string>> {
	const files: Record<string, string> = {};
	for (const name of ["events.csv", "contacts.csv"]) {
		const response = await api("GET", `/v1/exports/${name}`);
		expect(response.status, name).toBe(200);
		files[name] = await response.text();
	}
	return files;
}

interface Received {
	url: string;
	headers: Record<string, string>;
	body: string;
}

async function received(): Promise<Received[]> {
	return (await env.WEBHOOK_RECEIVER.fetch("https://receiver/__received")).json<Received[]>();
}

const parsed = (request: Received): Partial<OutboundEvent> | null => {
	try {
		return JSON.parse(request.body);
	} catch {
		return null;
	}
};

/** The database, both exports and the outbound messages from `since` on, searched for the needles. */
async function scanEverything(needles: Record<string, string>, since: number): Promise<Finding[]> {
	const { findings } = await scanDatabase(needles);
	for (const [name, text] of Object.entries(await exportsText())) findings.push(...findIn(name, text, needles));
	(await received()).slice(since).forEach((request, index) => {
		findings.push(...findIn(`outbound message #${since + index}`, JSON.stringify(request), needles));
	});
	return findings;
}

// ---------------------------------------------------------------------------------------------
// Ledger and outbound helpers

type LedgerRow = StoredLedgerRow;

const countBySource = (rows: LedgerRow[], source: string) => rows.filter((row) => row.source === source).length;

/**
 * Waits until every ledger row of the contact went out to the receiver: nothing about it is still
 * on its way when it is erased, so what arrives afterwards was sent afterwards.
 */
async function outboundDrained(contactId: string): Promise<void> {
	const ids = (await ledgerOf(contactId)).map((row) => row.id);
	await eventually(async () => {
		const sent = new Set((await received()).map(parsed).flatMap((e) => (e?.contact?.id === contactId ? [e.id] : [])));
		return ids.every((id) => sent.has(id));
	}, "the contact's outbound messages");
}

/** An outbound message about the person, as the actor queues one (before the erasure). */
function outboundAbout(person: Person, contactId: string, id: number): { kind: "outbound"; event: OutboundEvent } {
	const at = new Date().toISOString();
	return {
		kind: "outbound",
		event: {
			id,
			event: `Called ${person.email}`,
			contact: {
				id: contactId,
				externalId: person.externalId,
				email: person.email,
				phone: person.phone,
				businessUnit: "de",
			},
			channel: "email",
			topic: null,
			changed: false,
			changes: [],
			properties: { phone: person.phone, remark: person.remark },
			source: "api",
			reason: person.reason,
			feedback: person.comment,
			campaign: null,
			occurredAt: at,
			receivedAt: at,
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Provider webhooks, signed as each provider signs them, through POST /webhooks/{provider}

function postWebhook(provider: string, body: BodyInit, headers: Record<string, string>): Promise<Response> {
	return exports.default.fetch(new Request(`${BASE}/webhooks/${provider}`, { method: "POST", headers, body }));
}

async function expectAccepted(response: Promise<Response>, what: string) {
	const answer = await response;
	expect(answer.status, `${what}: ${await answer.clone().text()}`).toBe(200);
	return answer;
}

async function sendgrid(events: unknown[]) {
	const body = JSON.stringify(events);
	const timestamp = String(now());
	const key = await crypto.subtle.importKey(
		"pkcs8",
		Uint8Array.from(atob(env.TEST_SENDGRID_PRIVATE_KEY), (c) => c.charCodeAt(0)),
		{ name: "ECDSA", namedCurve: "P-256" },
		false,
		["sign"],
	);
	const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, utf8(timestamp + body)));
	return expectAccepted(
		postWebhook("sendgrid", body, {
			"content-type": "application/json",
			"x-twilio-email-event-webhook-signature": base64Encode(rawToDer(raw)),
			"x-twilio-email-event-webhook-timestamp": timestamp,
		}),
		"sendgrid",
	);
}

async function mailgunSignature() {
	const timestamp = String(now());
	const token = hex(25);
	const signature = hexEncode(await hmac("SHA-256", env.MAILGUN_WEBHOOK_SIGNING_KEY, utf8(timestamp + token)));
	return { timestamp, token, signature };
}

async function mailgun(eventData: Record<string, unknown>) {
	const body = JSON.stringify({ signature: await mailgunSignature(), "event-data": eventData });
	return expectAccepted(postWebhook("mailgun", body, { "content-type": "application/json" }), "mailgun");
}

/** Mailgun's legacy webhooks: flat form fields, the signature among them. */
async function mailgunLegacy(fields: Record<string, string>) {
	const body = new URLSearchParams({ ...fields, ...(await mailgunSignature()) });
	return expectAccepted(
		postWebhook("mailgun", body, { "content-type": "application/x-www-form-urlencoded" }),
		"mailgun legacy",
	);
}

const mailjet = (events: unknown[]) =>
	expectAccepted(
		postWebhook("mailjet", JSON.stringify(events), {
			"content-type": "application/json",
			authorization: basicAuth(env.MAILJET_WEBHOOK_BASIC_AUTH),
		}),
		"mailjet",
	);

const postmark = (record: Record<string, unknown>) =>
	expectAccepted(
		postWebhook("postmark", JSON.stringify(record), {
			"content-type": "application/json",
			authorization: basicAuth(env.POSTMARK_WEBHOOK_BASIC_AUTH),
		}),
		"postmark",
	);

/** Mandrill: base64 HMAC-SHA1 over MANDRILL_WEBHOOK_URL and the fields sorted by name, name+value. */
async function mandrill(events: unknown[]) {
	const value = JSON.stringify(events);
	const signature = base64Encode(
		await hmac("SHA-1", env.MANDRILL_WEBHOOK_KEY, utf8(`${env.MANDRILL_WEBHOOK_URL}mandrill_events${value}`)),
	);
	return expectAccepted(
		postWebhook("mandrill", new URLSearchParams({ mandrill_events: value }), {
			"content-type": "application/x-www-form-urlencoded",
			"x-mandrill-signature": signature,
		}),
		"mandrill",
	);
}

/** Twilio: base64 HMAC-SHA1 over the URL and every parameter sorted by name, name+value. */
async function twilio(params: Record<string, string>) {
	const text =
		`${BASE}/webhooks/twilio` +
		Object.keys(params)
			.sort()
			.map((name) => name + params[name])
			.join("");
	const signature = base64Encode(await hmac("SHA-1", env.TWILIO_AUTH_TOKEN, utf8(text)));
	return expectAccepted(
		postWebhook("twilio", new URLSearchParams(params), {
			"content-type": "application/x-www-form-urlencoded",
			"x-twilio-signature": signature,
		}),
		"twilio",
	);
}

/**
 * SES through SNS: tests cannot fetch Amazon's signing certificate, so the app is made with a
 * fetcher that serves one made here for this file's SigningCertURL (as test/webhooks/ses-route.test.ts).
 */
const CERT_URL = `https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${hex(16)}.pem`;
let sesApp: Promise<{ app: ReturnType<typeof createApp>; sign: (text: string) => Promise<string> }> | null = null;

function sesSender() {
	sesApp ??= (async () => {
		const certificate = await rsaCertificate("sns.amazonaws.com");
		const key = await certificate.signingKey("SHA-256");
		const app = createApp({
			webhookDeps: {
				fetchCertificate: async (url) => {
					if (url !== CERT_URL) throw new Error(`404 ${url}`);
					return certificate.pem;
				},
				confirmSubscription: async () => undefined,
			},
		});
		const sign = async (text: string) =>
			base64Encode(new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(text))));
		return { app, sign };
	})();
	return sesApp;
}

async function ses(message: Record<string, unknown>) {
	const { app, sign } = await sesSender();
	const envelope: Record<string, string> = {
		Type: "Notification",
		MessageId: crypto.randomUUID(),
		TopicArn: env.SES_TOPIC_ARNS,
		Timestamp: new Date().toISOString(),
		Message: JSON.stringify(message),
	};
	const text = ["Message", "MessageId", "Timestamp", "TopicArn", "Type"]
		.map((name) => `${name}\n${envelope[name]}\n`)
		.join("");
	const ctx = createExecutionContext();
	const response = app.fetch(
		new Request(`${BASE}/webhooks/ses`, {
			method: "POST",
			headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification" },
			body: JSON.stringify({
				...envelope,
				SignatureVersion: "2",
				SigningCertURL: CERT_URL,
				Signature: await sign(text),
			}),
		}),
		env,
		ctx,
	);
	await expectAccepted(Promise.resolve(response), "ses");
	await waitOnExecutionContext(ctx);
}

/** Every provider, each with events about the person (ids that embed the address included). */
async function everyProviderWebhook(person: Person): Promise<Record<string, number>> {
	const { email, phone } = person;
	const at = new Date().toISOString();
	// SendGrid: a bounce whose reason names the address, an unsubscribe and a spam report.
	await sendgrid([
		{
			email,
			event: "bounce",
			type: "bounce",
			reason: `550 5.1.1 <${email}>: user unknown`,
			bounce_classification: "Invalid Address",
			sg_event_id: unique("sg"),
			timestamp: now(),
			businessUnit: "de",
		},
		{ email, event: "unsubscribe", sg_event_id: unique("sg"), timestamp: now() },
		{ email, event: "spamreport", sg_event_id: unique("sg"), timestamp: now() },
	]);
	// Mailgun: a current complaint, and a legacy unsubscribe (its id is built from the recipient).
	await mailgun({ event: "complained", recipient: email, id: unique("mg"), timestamp: now() });
	await mailgunLegacy({
		event: "unsubscribed",
		recipient: email,
		"Message-Id": `<${hex(8)}@mg.shop.example>`,
		timestamp: String(now()),
	});
	// Mailjet (ids embed the recipient, here in capitals as a provider may send it).
	await mailjet([
		{ event: "unsub", email: email.toUpperCase(), time: now(), MessageID: Number(`1${Date.now()}`), mj_list_id: 0 },
		{
			event: "bounce",
			email,
			hard_bounce: true,
			time: now(),
			MessageID: Number(`2${Date.now()}`),
			error_related_to: "recipient",
			error: `mailbox ${email} does not exist`,
		},
	]);
	// Mandrill: a message event and a sync (denylist) event, whose id embeds the recipient.
	const messageId = hex(16);
	await mandrill([
		{
			event: "hard_bounce",
			_id: messageId,
			ts: now(),
			msg: {
				_id: messageId,
				email,
				state: "bounced",
				bounce_description: `bad_mailbox ${email}`,
				metadata: { businessUnit: "de" },
			},
		},
		{
			type: "blacklist",
			action: "add",
			ts: now(),
			reject: { email, reason: "unsub", created_at: at, last_event_at: at, expired: false },
		},
	]);
	// Postmark: a subscription change (its id embeds the recipient) and a spam complaint.
	await postmark({
		RecordType: "SubscriptionChange",
		MessageID: crypto.randomUUID(),
		ChangedAt: at,
		Recipient: email,
		Origin: "Recipient",
		SuppressSending: true,
		SuppressionReason: "ManualSuppression",
		MessageStream: "broadcast",
	});
	await postmark({ RecordType: "SpamComplaint", ID: Math.floor(Math.random() * 1e12), Email: email, BouncedAt: at });
	// SES: a permanent bounce and a complaint (ids are the SNS MessageId and the recipient).
	const mail = { destination: [email], tags: { businessUnit: ["de"] } };
	await ses({
		notificationType: "Bounce",
		bounce: {
			bounceType: "Permanent",
			bounceSubType: "General",
			bouncedRecipients: [{ emailAddress: email, diagnosticCode: `smtp; 550 ${email} unknown` }],
			timestamp: at,
		},
		mail,
	});
	await ses({
		notificationType: "Complaint",
		complaint: { complainedRecipients: [{ emailAddress: email }], complaintFeedbackType: "abuse", timestamp: at },
		mail,
	});
	// Twilio: STOP by SMS and by WhatsApp.
	await twilio({ MessageSid: unique("SM"), AccountSid: "AC123", From: phone, To: "+4930123456", Body: "STOP" });
	await twilio({
		MessageSid: unique("SM"),
		AccountSid: "AC123",
		From: `whatsapp:${phone}`,
		To: "whatsapp:+4930123456",
		Body: "stop",
	});
	// The ledger rows each provider's events make for the contact.
	return {
		"webhook:sendgrid": 3,
		"webhook:mailgun": 2,
		"webhook:mailjet": 2,
		"webhook:mandrill": 2,
		"webhook:postmark": 2,
		"webhook:ses": 2,
		"webhook:twilio": 2,
	};
}

// ---------------------------------------------------------------------------------------------

const consentCheck = async (query: string) => json(await api("GET", `/v1/consent?${query}`));

describe("erasure leaves no personal data anywhere", () => {
	it("erases a user who went through every path, from every table, export, dead letter and outbound message", async () => {
		const person = newPerson();
		const needles = needlesOf(person);
		const client = clientOf(person);
		const news = unique("news");
		const alerts = unique("alerts");
		await putTopic(news, { channel: "email" });
		await putTopic(alerts, { channel: "sms" });

		// The address is on an operator's suppression list: the subscription below waits for the
		// person's confirmation through /c, which ends the suppression.
		const suppressed = await api("POST", "/v1/suppressions", {
			body: { addresses: [person.email], reason: "opted_out" },
		});
		expect(suppressed.status).toBe(200);

		const created = await api("PUT", `/v1/users/${person.externalId}`, {
			body: {
				email: person.email,
				phone: person.phone,
				businessUnit: "de",
				traits: { firstName: person.firstName, note: person.note, contact: { mobile: person.phone } },
			},
		});
		expect(created.status).toBe(201);
		const contactId: string = (await json(created)).id;

		// API events: a subscription, a free-text reason, custom events naming the email and holding
		// the phone, an idempotency key that embeds the email.
		const events = await api("POST", "/v1/events", {
			body: {
				id: person.externalId,
				events: [
					{ event: "Subscribe", topic: news, idempotencyKey: `subscribe-${person.email}` },
					{ event: "Opt In", channel: "sms" },
					{ event: "Subscribe", topic: alerts },
					{ event: `Called ${person.email}`, properties: { remark: person.remark } },
					{ event: "Profile checked", channel: "sms", properties: { phone: person.phone, at: person.phone.slice(1) } },
					{ event: "Opt Out", channel: "push", properties: { reason: person.reason } },
				],
			},
			headers: client,
		});
		const applied = await json(events);
		expect(events.status, JSON.stringify(applied)).toBe(200);
		expect(applied.consent.topics[news].status).toBe("pending");

		// The public pages: the confirmation (/c), a one-click unsubscribe, the unsubscribe page's form
		// with a reason and a comment, the preference center.
		const confirmPath = new URL(applied.confirmations[0].confirmUrl).pathname;
		expect((await visit("POST", confirmPath, { headers: client })).status).toBe(200);
		const oneClick = await manageToken({ contactId }, { channel: "sms", campaign: "spring-sale" });
		const oneClickAnswer = await visit("POST", `/u/${oneClick}`, {
			body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
			headers: client,
		});
		expect(oneClickAnswer.status).toBe(200);
		const page = await manageToken({ contactId }, { channel: "whatsapp", campaign: "nl-7" });
		const pageAnswer = await submit(
			`/u/${page}`,
			[
				["reason", "other"],
				["comment", `${person.comment}, write to ${person.email}`],
				["action", "unsubscribe"],
			],
			client,
		);
		expect(pageAnswer.status).toBe(200);
		const preferences = await manageToken({ externalId: person.externalId }, { channel: "email" });
		const preferencesAnswer = await submit(
			`/p/${preferences}`,
			[
				["shown_channel", "email"],
				["shown_topic", news],
				["action", "save"],
			],
			client,
		);
		expect(preferencesAnswer.status).toBe(200);

		// An import of the user (CSV).
		const csv = [
			`externalId,email,phone,optedOut:push,topic:${alerts}`,
			`${person.externalId},${person.email.toUpperCase()},${person.phone},false,unsubscribed`,
		].join("\r\n");
		const imported = await api("POST", "/v1/imports/contacts?businessUnit=de", {
			raw: csv,
			headers: { "content-type": "text/csv" },
		});
		const report = await json(imported);
		expect(imported.status, JSON.stringify(report)).toBe(200);
		expect(report).toMatchObject({ processed: 1, updated: 1, failed: 0 });

		// Every provider's webhook, through the queue and its consumer.
		const expected = await everyProviderWebhook(person);
		await eventually(async () => {
			const rows = await ledgerOf(contactId);
			return Object.entries(expected).every(([source, count]) => countBySource(rows, source) === count);
		}, "every provider's ledger rows");

		// Dead letters about the person, as src/queues.ts stores them: an outbound message, and
		// provider events for its addresses (written as providers may write them).
		const providerEvent = (recipient: string, channel: string) => ({
			kind: "webhook-event",
			provider: "sendgrid",
			event: {
				id: `${channel}:${recipient}`,
				channel,
				recipient,
				action: { kind: "unsubscribe", list: null },
				occurredAt: null,
				businessUnit: "de",
				campaign: null,
				properties: { reason: person.reason },
			},
			receivedAt: new Date().toISOString(),
		});
		const deadLetters = [
			["outbound", outboundAbout(person, contactId, 1)],
			["webhook-events", providerEvent(`  ${person.email.toUpperCase()} `, "email")],
			["webhook-events", providerEvent(person.phone, "whatsapp")],
		] as const;
		for (const [queue, body] of deadLetters) {
			await env.DB.prepare("INSERT INTO dead_letters (queue, body, attempts, business_unit) VALUES (?, ?, 6, 'de')")
				.bind(queue, JSON.stringify(body))
				.run();
		}

		// The email on the bare-address blocklist.
		expect((await api("PUT", `/v1/blocklist/${person.email}`)).status).toBe(201);

		// Before the erasure the scan finds the person everywhere: it can see what it looks for.
		const before = await scanDatabase(needles);
		const tablesScanned = before.scanned.map((entry) => entry.slice(0, entry.indexOf("(")));
		expect(tablesScanned).toEqual(
			expect.arrayContaining([
				"blocklist",
				"contacts",
				"dead_letters",
				"idempotency_keys",
				"ledger",
				"suppressions",
				"webhook_tokens",
			]),
		);
		const foundBefore = new Set(before.findings.map((finding) => finding.needle));
		for (const needle of Object.keys(needles).filter((name) => name !== "email (url-encoded)")) {
			expect(foundBefore.has(needle), `${needle} is stored before the erasure`).toBe(true);
		}
		const whereBefore = new Set(before.findings.map((finding) => finding.where.split(" ")[0]));
		for (const column of [
			"contacts.email",
			"contacts.phone",
			"contacts.external_id",
			"contacts.traits",
			"ledger.event",
			"ledger.reason",
			"ledger.feedback",
			"ledger.properties",
			"ledger.ip",
			"ledger.user_agent",
			"ledger.idempotency_key",
			"idempotency_keys.key",
			"dead_letters.body",
			"blocklist.address",
		]) {
			expect(whereBefore, column).toContain(column);
		}
		// The Unsuppress row of the confirmation, under the address's pseudonymous subject.
		const subject = suppressionSubject(await suppressionHash(bindings, person.email));
		const unsuppress = await env.DB.prepare("SELECT * FROM ledger WHERE contact_id = ? AND event = 'Unsuppress'")
			.bind(subject)
			.first<LedgerRow>();
		expect(unsuppress).toMatchObject({ source: "confirmation_page", ip: person.ip, user_agent: person.userAgent });

		// Nothing about the person still on its way out, then the erasure.
		await outboundDrained(contactId);
		const sentBefore = await received();
		expect(findIn("outbound", JSON.stringify(sentBefore), needles).map((f) => f.needle)).toContain("email");
		const ledgerBefore = await ledgerOf(contactId);
		expect((await api("DELETE", `/v1/users/${person.externalId}`)).status).toBe(204);
		expect((await api("GET", `/v1/users/${person.externalId}`)).status).toBe(404);

		// A message queued before the erasure and delivered after it goes out scrubbed; one that ends
		// in the dead-letter queue after it is stored scrubbed.
		const lateId = 1_000_000_000 + Math.floor(Math.random() * 1e9);
		await env.OUTBOUND_QUEUE.send(outboundAbout(person, contactId, lateId));
		const dlq = createMessageBatch(DEAD_LETTER_QUEUE, [
			{ id: "late", timestamp: new Date(), attempts: 9, body: outboundAbout(person, contactId, lateId + 1) },
		]);
		await worker.queue(dlq as never, bindings);
		const late = await eventually(
			async () => (await received()).map(parsed).find((event) => event?.id === lateId),
			"the late outbound message",
		);
		expect(late).toMatchObject({
			event: ERASED_EVENT,
			contact: { id: contactId, externalId: null, email: null, phone: null, businessUnit: "de" },
			properties: {},
			reason: ERASED,
			feedback: null,
		});
		const erase = await eventually(
			async () => (await received()).map(parsed).find((e) => e?.contact?.id === contactId && e.event === "Erase"),
			"the outbound Erase event",
		);
		expect(erase).toMatchObject({ source: "erasure", properties: { suppressed: true } });

		const stored = await env.DB.prepare("SELECT body FROM dead_letters WHERE json_extract(body, '$.event.id') = ?")
			.bind(lateId + 1)
			.first<{ body: string }>();
		expect(JSON.parse(stored?.body ?? "null")).toMatchObject({
			event: { event: ERASED_EVENT, contact: { id: contactId, email: null }, reason: ERASED, feedback: null },
		});

		// The scan: nothing of the person in any table, export or outbound message sent since.
		const findings = await scanEverything(needles, sentBefore.length);
		expect(findings).toEqual([]);
		// The confirmation's Unsuppress row stays, without who confirmed.
		expect(await env.DB.prepare("SELECT * FROM ledger WHERE id = ?").bind(unsuppress?.id).first()).toMatchObject({
			contact_id: subject,
			event: "Unsuppress",
			source: "confirmation_page",
			ip: null,
			user_agent: null,
		});

		// What stays: every ledger row, by the contact id, with what happened, when and through what.
		const ledgerAfter = await ledgerOf(contactId);
		expect(ledgerAfter).toHaveLength(ledgerBefore.length + 1);
		const kept = (row: LedgerRow) => [
			row.id,
			row.channel,
			row.topic,
			row.changes,
			row.changed,
			row.source,
			row.campaign,
			row.occurred_at,
			row.received_at,
		];
		expect(ledgerAfter.slice(0, -1).map(kept)).toEqual(ledgerBefore.map(kept));
		ledgerAfter.slice(0, -1).forEach((row, index) => {
			const was = ledgerBefore[index] as LedgerRow;
			expect(row.event).toBe(
				was.event.startsWith("Called ") || was.event === "Profile checked" ? ERASED_EVENT : was.event,
			);
			expect(row).toMatchObject({
				ip: null,
				user_agent: null,
				feedback: null,
				properties: "{}",
				idempotency_key: null,
			});
			expect(row.reason === null || row.reason === ERASED || KNOWN_REASON_CODES.includes(row.reason)).toBe(true);
		});
		expect(ledgerAfter.at(-1)).toMatchObject({ event: "Erase", source: "erasure", properties: '{"suppressed":true}' });
		const sources = new Set(ledgerAfter.map((row) => row.source));
		for (const source of [
			"api",
			"confirmation_page",
			"one_click",
			"unsubscribe_page",
			"preference_center",
			"import",
			...Object.keys(expected),
		]) {
			expect(sources, source).toContain(source);
		}
		// A reason code stays; a reason text (the SendGrid bounce's, the API's) becomes "erased".
		expect(ledgerAfter.find((row) => row.source === "unsubscribe_page")?.reason).toBe("other");
		expect(ledgerAfter.find((row) => row.source === "webhook:sendgrid" && row.event === "Bounce")?.reason).toBe(ERASED);
		expect(ledgerAfter.find((row) => row.source === "api" && row.channel === "push")?.reason).toBe(ERASED);

		// The address stays suppressed, as a keyed hash only.
		for (const query of [
			`email=${encodeURIComponent(person.email)}&businessUnit=de&channel=email`,
			`phone=${encodeURIComponent(person.phone)}&businessUnit=de&channel=sms`,
		]) {
			expect(await consentCheck(query)).toMatchObject({ allowed: false, reason: "suppressed" });
		}
		const suppression = await env.DB.prepare("SELECT reasons FROM suppressions WHERE hash = ?")
			.bind(subject.slice("suppression:".length))
			.first<{ reasons: string }>();
		expect(JSON.parse(suppression?.reasons ?? "[]")).toEqual(["opted_out", "complaint", "bounced", "blocked"]);
	});

	it("erases a lead (DELETE /v1/leads) made by a provider webhook, a one-click link and the API", async () => {
		const person = newPerson();
		const needles = needlesOf(person);
		const lead = await api("PUT", "/v1/leads", {
			body: {
				email: person.email,
				phone: person.phone,
				businessUnit: "at",
				traits: { firstName: person.firstName, note: person.note },
			},
		});
		expect(lead.status).toBe(201);
		const contactId: string = (await json(lead)).id;
		const events = await api("POST", "/v1/events", {
			body: {
				email: person.email,
				businessUnit: "at",
				events: [
					{ event: "Opt Out", channel: "sms", properties: { reason: person.reason, comment: person.comment } },
					{ event: `Note ${person.externalId}`, properties: { remark: person.remark }, idempotencyKey: person.email },
				],
			},
			headers: clientOf(person),
		});
		expect(events.status).toBe(200);
		const token = await manageToken({ email: person.email, businessUnit: "at" }, { channel: "email" });
		const oneClick = await visit("POST", `/u/${token}`, {
			body: new URLSearchParams({ "List-Unsubscribe": "One-Click" }),
			headers: clientOf(person),
		});
		expect(oneClick.status).toBe(200);
		await sendgrid([
			{
				email: person.email,
				event: "bounce",
				type: "bounce",
				reason: `550 5.1.1 <${person.email}>: user unknown`,
				sg_event_id: unique("sg"),
				timestamp: now(),
				businessUnit: "at",
			},
		]);
		await eventually(
			async () => countBySource(await ledgerOf(contactId), "webhook:sendgrid") === 1,
			"the SendGrid bounce",
		);
		await outboundDrained(contactId);
		const since = (await received()).length;

		const erased = await api("DELETE", `/v1/leads?email=${encodeURIComponent(person.email)}&businessUnit=at`);
		expect(erased.status).toBe(204);
		await eventually(
			async () => (await received()).slice(since).some((r) => parsed(r)?.contact?.id === contactId),
			"the outbound Erase event",
		);

		expect(await scanEverything(needles, since)).toEqual([]);
		const ledger = await ledgerOf(contactId);
		expect(ledger.map((row) => [row.event, row.source])).toEqual([
			["Opt Out", "api"],
			[ERASED_EVENT, "api"],
			["Opt Out", "one_click"],
			["Bounce", "webhook:sendgrid"],
			["Erase", "erasure"],
		]);
		expect(await consentCheck(`email=${encodeURIComponent(person.email)}&businessUnit=at&channel=email`)).toMatchObject(
			{ allowed: false, reason: "suppressed" },
		);
	});
});
