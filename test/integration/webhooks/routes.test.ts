/**
 * POST /webhooks/{provider} through the worker's fetch, with the secrets vitest.config.ts made for
 * this run: signed requests are queued and applied; bad signatures, unknown providers and bad
 * bodies store nothing. The providers' own formats are covered in their files; this is the route.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64Encode, hexEncode, hmac, utf8 } from "../../../src/crypto";
import { BASE, eventually, json, putTopic, unique, uniqueEmail, uniquePhone } from "../../helpers";
import { basicAuth, rawToDer } from "./webhook-helpers";

const now = () => Math.floor(Date.now() / 1000);

function post(provider: string, body: BodyInit, headers: Record<string, string>, query = "") {
	return exports.default.fetch(new Request(`${BASE}/webhooks/${provider}${query}`, { method: "POST", headers, body }));
}

async function sendgridRequest(events: unknown[], tamper = false) {
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
	return post("sendgrid", tamper ? body.replace("unsubscribe", "spamreport") : body, {
		"content-type": "application/json",
		"x-twilio-email-event-webhook-signature": base64Encode(rawToDer(raw)),
		"x-twilio-email-event-webhook-timestamp": timestamp,
	});
}

async function mailgunBody(eventData: Record<string, unknown>, token = unique("tok")) {
	const timestamp = String(now());
	const signature = hexEncode(await hmac("SHA-256", env.MAILGUN_WEBHOOK_SIGNING_KEY, utf8(timestamp + token)));
	return JSON.stringify({ signature: { timestamp, token, signature }, "event-data": eventData });
}

/** Twilio's scheme: base64 HMAC-SHA1 over the URL and every parameter sorted by name, name+value. */
async function twilioSignature(url: string, params: Record<string, string>) {
	const text =
		url +
		Object.keys(params)
			.sort()
			.map((name) => name + params[name])
			.join("");
	return base64Encode(await hmac("SHA-1", env.TWILIO_AUTH_TOKEN, utf8(text)));
}

async function ledgerOf(column: "email" | "phone", address: string) {
	const { results } = await env.DB.prepare(
		`SELECT l.event, l.source, l.topic, l.channel, l.idempotency_key FROM ledger l JOIN contacts c ON c.id = l.contact_id WHERE c.${column} = ? ORDER BY l.id`,
	)
		.bind(address)
		.all<{ event: string; source: string; topic: string | null; channel: string; idempotency_key: string }>();
	return results;
}

describe("POST /webhooks/{provider}", () => {
	it("queues a signed SendGrid batch and applies it once, however often it is delivered", async () => {
		const topic = unique("grp");
		const group = String(Math.floor(Math.random() * 1e9));
		await putTopic(topic, { providerRefs: { sendgrid: group } });
		const [a, b] = [uniqueEmail(), uniqueEmail()];
		const events = [
			{
				email: a,
				event: "group_unsubscribe",
				asm_group_id: Number(group),
				sg_event_id: unique("sg"),
				timestamp: now(),
			},
			{ email: b, event: "unsubscribe", sg_event_id: unique("sg"), timestamp: now(), campaign: "nov" },
			{ email: b, event: "open", sg_event_id: unique("sg"), timestamp: now() },
			{ event: "spamreport", sg_event_id: unique("sg"), timestamp: now() },
		];
		const response = await sendgridRequest(events);
		expect(response.status).toBe(200);
		expect(await json(response)).toMatchObject({ accepted: 2, ignored: 1, problems: [{ index: 3 }] });

		await eventually(
			async () => (await ledgerOf("email", a)).length === 1 && (await ledgerOf("email", b)).length === 1,
			"both events",
		);
		expect(await ledgerOf("email", a)).toMatchObject([{ event: "Unsubscribe", topic, source: "webhook:sendgrid" }]);
		expect(await ledgerOf("email", b)).toMatchObject([
			{ event: "Opt Out", channel: "email", source: "webhook:sendgrid" },
		]);

		// SendGrid retries a batch it thinks failed: the same events again change nothing.
		expect((await sendgridRequest(events)).status).toBe(200);
		await sendgridRequest([{ email: b, event: "spamreport", sg_event_id: unique("sg"), timestamp: now() }]);
		await eventually(async () => (await ledgerOf("email", b)).length === 2, "the later complaint");
		expect((await ledgerOf("email", a)).length).toBe(1);
	});

	it("answers 401 to a bad signature and queues nothing", async () => {
		const email = uniqueEmail();
		const response = await sendgridRequest(
			[{ email, event: "unsubscribe", sg_event_id: unique("sg"), timestamp: now() }],
			true,
		);
		expect(response.status).toBe(401);
		expect(response.headers.get("content-type")).toBe("application/problem+json");
		expect((await json(response)).code).toBe("INVALID_SIGNATURE");
		const noSignature = await post("postmark", "{}", { "content-type": "application/json" });
		expect(noSignature.status).toBe(401);
		// A good request after them is applied: the bad ones are not waiting somewhere in the queue.
		await sendgridRequest([{ email, event: "spamreport", sg_event_id: unique("sg"), timestamp: now() }]);
		await eventually(async () => (await ledgerOf("email", email)).length === 1, "the good request");
		expect((await ledgerOf("email", email)).map((row) => row.event)).toEqual(["Complaint"]);
	});

	it("answers 404 alike for unknown and unconfigured providers", async () => {
		for (const provider of ["nope", "SendGrid", "__proto__"]) {
			const response = await post(provider, "[]", { "content-type": "application/json" });
			expect(response.status, provider).toBe(404);
			expect((await json(response)).detail).toBe("No webhook is configured at this path.");
		}
	});

	it("refuses a replayed Mailgun token, and a body it cannot read with 401 or 400", async () => {
		const email = uniqueEmail();
		const body = await mailgunBody({ event: "complained", recipient: email, id: unique("mg"), timestamp: now() });
		const headers = { "content-type": "application/json" };
		expect((await post("mailgun", body, headers)).status).toBe(200);
		expect((await post("mailgun", body, headers)).status).toBe(401);
		expect((await post("mailgun", "not json", headers)).status).toBe(401);
		await eventually(async () => (await ledgerOf("email", email)).length === 1, "the complaint");

		const wrongShape = await post("mailjet", "[1, 2", {
			"content-type": "application/json",
			authorization: basicAuth(env.MAILJET_WEBHOOK_BASIC_AUTH),
		});
		expect(wrongShape.status).toBe(400);
		expect(wrongShape.headers.get("content-type")).toBe("application/problem+json");
	});

	it("takes Postmark and Mailjet with basic auth", async () => {
		const [a, b] = [uniqueEmail(), uniqueEmail()];
		const postmark = await post(
			"postmark",
			JSON.stringify({
				RecordType: "SpamComplaint",
				ID: Math.floor(Math.random() * 1e12),
				Email: a,
				BouncedAt: new Date().toISOString(),
			}),
			{ "content-type": "application/json", authorization: basicAuth(env.POSTMARK_WEBHOOK_BASIC_AUTH) },
		);
		expect(postmark.status).toBe(200);
		const mailjet = await post(
			"mailjet",
			JSON.stringify([
				{ event: "bounce", email: b, hard_bounce: true, time: now(), MessageID: Math.floor(Math.random() * 1e12) },
			]),
			{ "content-type": "application/json", authorization: basicAuth(env.MAILJET_WEBHOOK_BASIC_AUTH) },
		);
		expect(mailjet.status).toBe(200);
		await eventually(
			async () => (await ledgerOf("email", a)).length === 1 && (await ledgerOf("email", b)).length === 1,
			"both",
		);
		expect((await ledgerOf("email", a))[0]).toMatchObject({ event: "Complaint", source: "webhook:postmark" });
		expect((await ledgerOf("email", b))[0]).toMatchObject({ event: "Bounce", source: "webhook:mailjet" });
		const wrong = await post("mailjet", "[]", {
			"content-type": "application/json",
			authorization: basicAuth("mailjet:wrong"),
		});
		expect(wrong.status).toBe(401);
	});

	it("answers Twilio with TwiML and opts the phone out of SMS", async () => {
		const phone = uniquePhone();
		const url = `${BASE}/webhooks/twilio`;
		const params = { MessageSid: unique("SM"), AccountSid: "AC123", From: phone, To: "+4930123456", Body: " stop " };
		const response = await post("twilio", new URLSearchParams(params), {
			"content-type": "application/x-www-form-urlencoded",
			"x-twilio-signature": await twilioSignature(url, params),
		});
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toMatch(/xml/);
		expect(await response.text()).toContain("<Response");
		await eventually(async () => (await ledgerOf("phone", phone)).length === 1, "the STOP");
		expect((await ledgerOf("phone", phone))[0]).toMatchObject({
			event: "Opt Out",
			channel: "sms",
			source: "webhook:twilio",
		});

		const forged = await post("twilio", new URLSearchParams({ ...params, Body: "START" }), {
			"content-type": "application/x-www-form-urlencoded",
			"x-twilio-signature": await twilioSignature(url, params),
		});
		expect(forged.status).toBe(401);
	});

	it("answers Mandrill's HEAD check of the URL", async () => {
		const head = await exports.default.fetch(new Request(`${BASE}/webhooks/mandrill`, { method: "HEAD" }));
		expect(head.status).toBe(200);
		const unknown = await exports.default.fetch(new Request(`${BASE}/webhooks/nope`, { method: "HEAD" }));
		expect(unknown.status).toBe(404);
	});
});
