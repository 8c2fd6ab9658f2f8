import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { base64Encode, utf8 } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import { type VerifyDeps, WebhookBodyError, type WebhookRequest } from "../../../src/webhooks/provider";
import { ses } from "../../../src/webhooks/providers/ses";
import { readCertificate, X509Error } from "../../../src/webhooks/providers/x509";
import { ecCertificatePem, type RsaCertificate, rsaCertificate, toPem } from "./x509-builder";

const TOPIC = "arn:aws:sns:eu-central-1:123456789012:ses-events";
const SECOND_TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces";
const bindings = (topics: string | undefined) => ({ ...env, SES_TOPIC_ARNS: topics }) as Bindings;
const ENV = bindings(` ${TOPIC} ,${SECOND_TOPIC},`);

const NOW = 1_795_000_000;
const NOW_ISO = new Date(NOW * 1000).toISOString();
const EARLIER_ISO = new Date((NOW - 120) * 1000).toISOString();

// The provider caches imported keys by URL for the life of the isolate: every certificate gets a
// URL of its own, so tests cannot see each other's keys.
const certUrl = (region = "eu-central-1", domain = "amazonaws.com") =>
	`https://sns.${region}.${domain}/SimpleNotificationService-${crypto.randomUUID().replaceAll("-", "")}.pem`;

let amazon: RsaCertificate;
let impostor: RsaCertificate;
/** What the injected fetchCertificate serves, by URL. */
const served = new Map<string, string>();
let CERT_URL: string;

beforeAll(async () => {
	amazon = await rsaCertificate("sns.amazonaws.com");
	impostor = await rsaCertificate("sns.amazonaws.com");
	CERT_URL = certUrl();
	served.set(CERT_URL, amazon.pem);
});

function testDeps(now = NOW) {
	const fetched: string[] = [];
	const confirmed: string[] = [];
	const deps: VerifyDeps = {
		fetchCertificate: async (url) => {
			fetched.push(url);
			const pem = served.get(url);
			if (pem === undefined) throw new Error(`404 ${url}`);
			return pem;
		},
		confirmSubscription: async (url) => {
			confirmed.push(url);
		},
		now: () => now,
		rememberToken: async () => true,
	};
	return { deps, fetched, confirmed };
}

type Envelope = Record<string, unknown>;

/** The string to sign as SNS documents it, written here independently of the provider. */
function stringToSign(envelope: Envelope): string {
	const fields =
		envelope.Type === "Notification"
			? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
			: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
	return fields
		.filter((name) => envelope[name] !== undefined)
		.map((name) => `${name}\n${envelope[name]}\n`)
		.join("");
}

async function sign(
	envelope: Envelope,
	options: { version?: "1" | "2"; certificate?: RsaCertificate; url?: string } = {},
): Promise<Envelope> {
	const version = options.version ?? "1";
	const signed = { ...envelope, SignatureVersion: version, SigningCertURL: options.url ?? CERT_URL };
	const key = await (options.certificate ?? amazon).signingKey(version === "1" ? "SHA-1" : "SHA-256");
	const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(stringToSign(signed)));
	return { ...signed, Signature: base64Encode(new Uint8Array(signature)) };
}

function notification(message: unknown, fields: Envelope = {}): Envelope {
	return {
		Type: "Notification",
		MessageId: "6f4b2c1e-0000-4000-8000-000000000001",
		TopicArn: TOPIC,
		Message: typeof message === "string" ? message : JSON.stringify(message),
		Timestamp: NOW_ISO,
		UnsubscribeURL: `https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:1`,
		...fields,
	};
}

const SUBSCRIBE_URL = `https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37`;

function subscriptionMessage(type: "SubscriptionConfirmation" | "UnsubscribeConfirmation", fields: Envelope = {}) {
	return {
		Type: type,
		MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
		Token: "2336412f37",
		TopicArn: TOPIC,
		Message: `You have chosen to subscribe to the topic ${TOPIC}.`,
		SubscribeURL: SUBSCRIBE_URL,
		Timestamp: NOW_ISO,
		...fields,
	};
}

function request(body: string | Envelope, type?: string): WebhookRequest {
	const text = typeof body === "string" ? body : JSON.stringify(body);
	const messageType = type ?? (typeof body === "string" ? undefined : (body.Type as string));
	const headers = new Headers({ "content-type": "text/plain; charset=UTF-8" });
	if (messageType) headers.set("x-amz-sns-message-type", messageType);
	return { url: "https://consent.example.test/webhooks/ses", method: "POST", headers, body: utf8(text) };
}

const verify = async (envelope: Envelope | string, now = NOW) => {
	const context = testDeps(now);
	const result = await ses.verify(request(envelope), ENV, context.deps);
	return { result, ...context };
};

const refused = (reason: string) => ({ ok: false, reason });

describe("x509: a certificate read with @peculiar/x509", () => {
	it("finds the exact SPKI, the RSA algorithm, validity, subject and issuer in a v3 certificate", () => {
		const info = readCertificate(amazon.pem);
		expect(info.algorithm).toBe("RSASSA-PKCS1-v1_5");
		expect(Array.from(info.spki)).toEqual(Array.from(amazon.spki));
		expect(info).toMatchObject({
			subject: "CN=sns.amazonaws.com",
			issuer: "CN=sns.amazonaws.com",
			notBefore: new Date(Date.UTC(2025, 0, 1)),
			notAfter: new Date(Date.UTC(2035, 0, 1)),
		});
		expect(Array.from(readCertificate(amazon.der).spki)).toEqual(Array.from(amazon.spki));
	});

	it("takes the first certificate of a PEM with text around it", () => {
		const info = readCertificate(`subject=CN=sns\n${amazon.pem}\n${impostor.pem}`);
		expect(Array.from(info.spki)).toEqual(Array.from(amazon.spki));
	});

	it("names the algorithm of a non-RSA key", async () => {
		expect(readCertificate(await ecCertificatePem(amazon)).algorithm).toBe("ECDSA");
	});

	it("refuses what is not a certificate", () => {
		expect(() => readCertificate("<html>Not Found</html>")).toThrow(X509Error);
		expect(() => readCertificate(amazon.der.subarray(0, amazon.der.length - 1))).toThrow(X509Error);
		expect(() => readCertificate(Uint8Array.of(0x30, 0x02, 0x30, 0x00))).toThrow(X509Error);
		expect(() => readCertificate(toPem(Uint8Array.of(0x30, 0x80, 0, 0)))).toThrow(X509Error);
		expect(() => readCertificate(toPem(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)))).toThrow(X509Error);
	});
});

describe("ses: configured", () => {
	it("needs at least one topic ARN in SES_TOPIC_ARNS", () => {
		expect(ses.configured(ENV)).toBe(true);
		expect(ses.configured(bindings(TOPIC))).toBe(true);
		expect(ses.configured(bindings(""))).toBe(false);
		expect(ses.configured(bindings(" , "))).toBe(false);
		expect(ses.configured(bindings(undefined))).toBe(false);
	});
});

describe("ses: verify", () => {
	const bounce = { notificationType: "Bounce", bounce: { bounceType: "Transient" } };

	it("accepts a Notification signed with SHA1withRSA (SignatureVersion 1)", async () => {
		const { result, fetched } = await verify(await sign(notification(bounce), { version: "1" }));
		expect(result).toEqual({ ok: true });
		expect(fetched.length).toBeLessThanOrEqual(1);
	});

	it("accepts a Notification signed with SHA256withRSA (SignatureVersion 2)", async () => {
		const { result } = await verify(await sign(notification(bounce), { version: "2" }));
		expect(result).toEqual({ ok: true });
	});

	it("signs Subject when it is present", async () => {
		const { result } = await verify(
			await sign(notification(bounce, { Subject: "Amazon SES Email Event Notification" })),
		);
		expect(result).toEqual({ ok: true });
	});

	it("accepts a notification from the second pinned topic and a China-region certificate", async () => {
		const url = certUrl("cn-north-1", "amazonaws.com.cn");
		served.set(url, amazon.pem);
		const { result } = await verify(await sign(notification(bounce, { TopicArn: SECOND_TOPIC }), { url }));
		expect(result).toEqual({ ok: true });
	});

	it("fetches a certificate once per URL and signature version, then uses the imported key", async () => {
		const url = certUrl("us-east-1");
		served.set(url, amazon.pem);
		const context = testDeps();
		for (const version of ["1", "1", "2", "2"] as const) {
			const signed = await sign(notification(bounce), { version, url });
			expect(await ses.verify(request(signed), ENV, context.deps)).toEqual({ ok: true });
		}
		expect(context.fetched).toEqual([url, url]);
	});

	it("confirms a signed SubscriptionConfirmation (v1 and v2) and answers it itself", async () => {
		for (const version of ["1", "2"] as const) {
			const { result, confirmed } = await verify(
				await sign(subscriptionMessage("SubscriptionConfirmation"), { version }),
			);
			expect(result).toEqual({ ok: true, done: { status: 200, body: "Subscription confirmed." } });
			expect(confirmed).toEqual([SUBSCRIBE_URL]);
		}
	});

	it("answers a signed UnsubscribeConfirmation without confirming anything", async () => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		try {
			const { result, confirmed } = await verify(await sign(subscriptionMessage("UnsubscribeConfirmation")));
			expect(result).toEqual({ ok: true, done: { status: 200, body: "Unsubscribe noted." } });
			expect(confirmed).toEqual([]);
			expect(warn).toHaveBeenCalledWith(expect.stringContaining(TOPIC));
		} finally {
			warn.mockRestore();
		}
	});

	it("refuses a signature made with another key", async () => {
		const { result } = await verify(await sign(notification(bounce), { certificate: impostor }));
		expect(result).toEqual(refused("signature does not match"));
	});

	it("refuses a tampered body", async () => {
		const signed = await sign(notification(bounce));
		const tampered = { ...signed, Message: JSON.stringify({ ...bounce, bounce: { bounceType: "Permanent" } }) };
		expect((await verify(tampered)).result).toEqual(refused("signature does not match"));
		const swapped = { ...signed, SignatureVersion: "2" };
		expect((await verify(swapped)).result).toEqual(refused("signature does not match"));
		const withSubject = { ...signed, Subject: "added later" };
		expect((await verify(withSubject)).result).toEqual(refused("signature does not match"));
	});

	it("refuses a tampered SubscriptionConfirmation and does not confirm it", async () => {
		const signed = await sign(subscriptionMessage("SubscriptionConfirmation"));
		const other = `https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=ffff`;
		const { result, confirmed } = await verify({ ...signed, SubscribeURL: other });
		expect(result).toEqual(refused("signature does not match"));
		expect(confirmed).toEqual([]);
	});

	it("refuses a topic that is not pinned, before fetching anything", async () => {
		const signed = await sign(notification(bounce, { TopicArn: "arn:aws:sns:eu-central-1:999999999999:ses-events" }));
		const { result, fetched } = await verify(signed);
		expect(result).toEqual(refused("TopicArn is not in SES_TOPIC_ARNS"));
		expect(fetched).toEqual([]);
	});

	it.each([
		["plain http", "http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-1.pem"],
		["a lookalike suffix", "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem"],
		["a lookalike .cn suffix", "https://sns.us-east-1.amazonaws.com.cn.evil.com/SimpleNotificationService-1.pem"],
		["a lookalike prefix", "https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"],
		["another AWS host", "https://s3.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"],
		["no region", "https://sns.amazonaws.com/SimpleNotificationService-1.pem"],
		["the SNS host as userinfo", "https://sns.us-east-1.amazonaws.com@evil.com/SimpleNotificationService-1.pem"],
		["userinfo before the SNS host", "https://user:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"],
		["another port", "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem"],
		["a path that is not .pem", "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem.txt"],
		["a query", "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?x=.pem"],
		["not a URL", "sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"],
	])("refuses a SigningCertURL with %s, without fetching it", async (_, url) => {
		served.set(url, amazon.pem);
		const { result, fetched } = await verify(await sign(notification(bounce), { url }));
		expect(result).toEqual(refused("SigningCertURL is not an https .pem URL on an SNS host"));
		expect(fetched).toEqual([]);
	});

	it("refuses a SubscriptionConfirmation whose SubscribeURL is not SNS's, without fetching it", async () => {
		for (const url of [
			"https://evil.example/?Action=ConfirmSubscription&Token=1",
			"http://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&Token=1",
			"https://sns.eu-central-1.amazonaws.com/?Action=Subscribe&Endpoint=https://evil.example",
		]) {
			const { result, confirmed } = await verify(
				await sign(subscriptionMessage("SubscriptionConfirmation", { SubscribeURL: url })),
			);
			expect(result).toEqual(refused("SubscribeURL is not an SNS ConfirmSubscription URL"));
			expect(confirmed).toEqual([]);
		}
	});

	it("refuses messages older than an hour (replay window) or from the future", async () => {
		const signed = await sign(notification(bounce));
		expect((await verify(signed, NOW + 3599)).result).toEqual({ ok: true });
		expect((await verify(signed, NOW + 3601)).result).toEqual(refused("message is older than the replay window"));
		expect((await verify(signed, NOW - 299)).result).toEqual({ ok: true });
		expect((await verify(signed, NOW - 301)).result).toEqual(refused("Timestamp is in the future"));
		const stale = await sign(
			subscriptionMessage("SubscriptionConfirmation", { Timestamp: "2020-01-01T00:00:00.000Z" }),
		);
		const { result, confirmed } = await verify(stale);
		expect(result).toEqual(refused("message is older than the replay window"));
		expect(confirmed).toEqual([]);
		const garbled = await sign(notification(bounce, { Timestamp: "yesterday" }));
		expect((await verify(garbled)).result).toEqual(refused("Timestamp is not ISO 8601"));
	});

	it("refuses a message type header that contradicts the envelope", async () => {
		const signed = await sign(notification(bounce));
		const result = await ses.verify(request(signed, "SubscriptionConfirmation"), ENV, testDeps().deps);
		expect(result).toEqual(refused("x-amz-sns-message-type does not match the envelope"));
	});

	it("refuses bodies that are not signed SNS envelopes (401: the signature cannot even be found)", async () => {
		const signed = await sign(notification(bounce));
		const { Signature: _, ...unsigned } = signed;
		expect((await verify("not json")).result).toEqual(refused("body is not an SNS JSON envelope"));
		expect((await verify("[1,2]")).result).toEqual(refused("body is not an SNS JSON envelope"));
		expect((await verify(JSON.stringify(bounce))).result).toEqual(refused("unknown SNS message type"));
		expect((await verify(unsigned)).result).toEqual(refused("envelope has no Signature"));
		expect((await verify({ ...signed, MessageId: 42 })).result).toEqual(refused("envelope has no MessageId"));
		expect((await verify({ ...signed, Subject: null })).result).toEqual(refused("Subject is not a string"));
		expect((await verify({ ...signed, Signature: "%%%" })).result).toEqual(refused("Signature is not base64"));
		expect((await verify({ ...signed, SignatureVersion: "3" })).result).toEqual(
			refused("unsupported SignatureVersion"),
		);
		const latin1 = await ses.verify({ ...request(signed), body: Uint8Array.of(0xff, 0xfe) }, ENV, testDeps().deps);
		expect(latin1).toEqual(refused("body is not an SNS JSON envelope"));
	});

	it("refuses a certificate that is not an RSA X.509 certificate", async () => {
		for (const pem of [await ecCertificatePem(amazon), "<html>Not Found</html>"]) {
			const url = certUrl();
			served.set(url, pem);
			const { result, fetched } = await verify(await sign(notification(bounce), { url }));
			expect(result).toEqual(refused("signing certificate is not an X.509 RSA certificate"));
			expect(fetched).toEqual([url]);
		}
	});

	it("refuses a certificate outside its validity period, also once its key is cached", async () => {
		const day = 24 * 60 * 60 * 1000;
		const expired = await rsaCertificate("sns.amazonaws.com", {
			notBefore: new Date((NOW - 400 * 86_400) * 1000),
			notAfter: new Date(NOW * 1000 - day),
		});
		const future = await rsaCertificate("sns.amazonaws.com", { notBefore: new Date(NOW * 1000 + day) });
		for (const certificate of [expired, future]) {
			const url = certUrl();
			served.set(url, certificate.pem);
			const { result } = await verify(await sign(notification(bounce), { url, certificate }));
			expect(result).toEqual(refused("signing certificate is expired or not yet valid"));
		}
		// The same certificate verifies while it is valid, and not after, from the cache.
		const url = certUrl();
		served.set(url, expired.pem);
		const signed = await sign(notification(bounce, { Timestamp: new Date(NOW * 1000 - 2 * day).toISOString() }), {
			url,
			certificate: expired,
		});
		expect((await verify(signed, NOW - 2 * 86_400)).result).toEqual({ ok: true });
		expect((await verify(signed, NOW)).result).toEqual(refused("message is older than the replay window"));
		const fresh = await sign(notification(bounce), { url, certificate: expired });
		expect((await verify(fresh, NOW)).result).toEqual(refused("signing certificate is expired or not yet valid"));
	});

	it("throws (500, so SNS retries) when the certificate or the confirmation cannot be fetched", async () => {
		const missing = certUrl();
		await expect(verify(await sign(notification(bounce), { url: missing }))).rejects.toThrow(`404 ${missing}`);
		const context = testDeps();
		context.deps.confirmSubscription = () => Promise.reject(new Error("SNS answered 503"));
		const signed = await sign(subscriptionMessage("SubscriptionConfirmation"));
		await expect(ses.verify(request(signed), ENV, context.deps)).rejects.toThrow("SNS answered 503");
	});

	it("refuses everything while SES_TOPIC_ARNS is empty", async () => {
		const signed = await sign(notification(bounce));
		expect(await ses.verify(request(signed), bindings(""), testDeps().deps)).toEqual(
			refused("SES_TOPIC_ARNS is not set"),
		);
	});
});

describe("ses: parse", () => {
	const MESSAGE_ID = "6f4b2c1e-0000-4000-8000-000000000001";
	const parse = (message: unknown, fields: Envelope = {}) => ses.parse(request(notification(message, fields)), ENV);
	const mail = {
		timestamp: "2026-11-20T09:59:00.000Z",
		messageId: "0102019a-ses-message",
		destination: ["Anna@Example.org", "ben@example.org"],
		tags: { "ses:configuration-set": ["marketing"], businessUnit: ["de", "at"], campaign: ["black-friday"] },
	};
	const BOUNCED_AT = "2026-11-20T10:00:01.500Z";

	it("maps a Permanent bounce to one hard_bounce per bounced recipient", () => {
		const result = parse({
			eventType: "Bounce",
			mail,
			bounce: {
				bounceType: "Permanent",
				bounceSubType: "General",
				feedbackId: "feedback-1",
				timestamp: BOUNCED_AT,
				bouncedRecipients: [
					{ emailAddress: "Anna@Example.org", status: "5.1.1", action: "failed" },
					{ emailAddress: "ben@example.org", status: "5.1.1", action: "failed" },
				],
			},
		});
		const properties = { event: "Bounce", bounceType: "Permanent", bounceSubType: "General", feedbackId: "feedback-1" };
		expect(result).toEqual({
			events: [
				{
					id: `${MESSAGE_ID}:Anna@Example.org`,
					channel: "email",
					recipient: "Anna@Example.org",
					action: { kind: "hard_bounce" },
					occurredAt: BOUNCED_AT,
					businessUnit: "de",
					campaign: "black-friday",
					properties,
				},
				{
					id: `${MESSAGE_ID}:ben@example.org`,
					channel: "email",
					recipient: "ben@example.org",
					action: { kind: "hard_bounce" },
					occurredAt: BOUNCED_AT,
					businessUnit: "de",
					campaign: "black-friday",
					properties,
				},
			],
			ignored: 0,
			problems: [],
		});
	});

	it("keeps the good recipients of a bounce when one entry is bad", () => {
		const result = parse({
			notificationType: "Bounce",
			mail: { messageId: "m" },
			bounce: {
				bounceType: "Permanent",
				bouncedRecipients: [{ emailAddress: "a@example.org" }, { status: "5.1.1" }, { emailAddress: "c@example.org" }],
			},
		});
		expect(result.events.map((event) => event.recipient)).toEqual(["a@example.org", "c@example.org"]);
		expect(result.events[0]).toMatchObject({
			occurredAt: NOW_ISO, // no bounce.timestamp: the envelope's
			businessUnit: null, // identity notifications carry no tags
			campaign: null,
			properties: { event: "Bounce", bounceType: "Permanent" },
		});
		expect(result.problems).toEqual([{ index: 1, error: "Bounce recipient 1 has no email address" }]);
		expect(result.ignored).toBe(0);
	});

	it("ignores soft bounces and bounces suppressed by the account's suppression list", () => {
		for (const bounce of [
			{ bounceType: "Transient", bounceSubType: "MailboxFull" },
			{ bounceType: "Undetermined" },
			{ bounceType: "Permanent", bounceSubType: "OnAccountSuppressionList" },
		]) {
			const recipients = [{ emailAddress: "a@example.org" }];
			expect(parse({ notificationType: "Bounce", bounce: { ...bounce, bouncedRecipients: recipients } })).toEqual({
				events: [],
				ignored: 1,
				problems: [],
			});
		}
	});

	it("maps a complaint to one complaint per complained recipient", () => {
		const COMPLAINED_AT = "2026-11-20T11:00:00.000Z";
		const result = parse(
			{
				notificationType: "Complaint",
				mail,
				complaint: {
					complainedRecipients: [{ emailAddress: "anna@example.org" }],
					timestamp: COMPLAINED_AT,
					feedbackId: "feedback-2",
					complaintFeedbackType: "abuse",
				},
			},
			{ MessageId: "complaint-message" },
		);
		expect(result).toEqual({
			events: [
				{
					id: "complaint-message:anna@example.org",
					channel: "email",
					recipient: "anna@example.org",
					action: { kind: "complaint" },
					occurredAt: COMPLAINED_AT,
					businessUnit: "de",
					campaign: "black-friday",
					properties: { event: "Complaint", complaintFeedbackType: "abuse", feedbackId: "feedback-2" },
				},
			],
			ignored: 0,
			problems: [],
		});
		const suppressed = parse({
			eventType: "Complaint",
			complaint: { complaintSubType: "OnAccountSuppressionList", complainedRecipients: [{ emailAddress: "a@b.de" }] },
		});
		expect(suppressed).toEqual({ events: [], ignored: 1, problems: [] });
	});

	it("maps a subscription event to topic preferences for each destination", () => {
		const result = parse({
			eventType: "Subscription",
			mail,
			subscription: {
				contactList: "Newsletters",
				timestamp: "2026-11-20T12:00:00.000Z",
				source: "UnsubscribeHeader",
				newTopicPreferences: {
					unsubscribeAll: false,
					topicSubscriptionStatus: [
						{ topicName: "Kids", subscriptionStatus: "OptOut" },
						{ topicName: "Pets", subscriptionStatus: "OptIn" },
						{ topicName: "Garden", subscriptionStatus: "OPT_OUT" },
						{ topicName: "Broken", subscriptionStatus: "Maybe" },
						{ subscriptionStatus: "OptOut" },
					],
				},
				oldTopicPreferences: { unsubscribeAll: false },
			},
		});
		const action = {
			kind: "topic_preferences",
			unsubscribeAll: false,
			lists: [
				{ list: "Kids", subscribed: false },
				{ list: "Pets", subscribed: true },
				{ list: "Garden", subscribed: false },
			],
		};
		const event = (recipient: string) => ({
			id: `${MESSAGE_ID}:${recipient}`,
			channel: "email",
			recipient,
			action,
			occurredAt: "2026-11-20T12:00:00.000Z",
			businessUnit: "de",
			campaign: "black-friday",
			properties: { event: "Subscription", contactList: "Newsletters", source: "UnsubscribeHeader" },
		});
		expect(result).toEqual({
			events: [event("Anna@Example.org"), event("ben@example.org")],
			ignored: 0,
			problems: [],
		});
	});

	it("reads unsubscribeAll without topic statuses", () => {
		const result = parse({
			eventType: "Subscription",
			mail: { destination: ["a@example.org"] },
			subscription: { newTopicPreferences: { unsubscribeAll: true } },
		});
		expect(result.events).toEqual([
			{
				id: `${MESSAGE_ID}:a@example.org`,
				channel: "email",
				recipient: "a@example.org",
				action: { kind: "topic_preferences", unsubscribeAll: true, lists: [] },
				occurredAt: NOW_ISO,
				businessUnit: null,
				campaign: null,
				properties: { event: "Subscription" },
			},
		]);
	});

	it("gives the same ids on a redelivery", () => {
		const message = {
			notificationType: "Bounce",
			bounce: { bounceType: "Permanent", bouncedRecipients: [{ emailAddress: "a@example.org" }] },
		};
		expect(parse(message).events[0]?.id).toBe(parse(message, { Timestamp: EARLIER_ISO }).events[0]?.id);
	});

	it.each(["Delivery", "Send", "Open", "Click", "Reject", "DeliveryDelay", "Rendering Failure"])(
		"ignores %s events",
		(eventType) => {
			expect(parse({ eventType, mail })).toEqual({ events: [], ignored: 1, problems: [] });
		},
	);

	it("ignores SES's plain-text setup notice and non-notification envelopes", () => {
		expect(parse("Successfully validated SNS topic for Amazon SES event publishing.")).toEqual({
			events: [],
			ignored: 1,
			problems: [],
		});
		const confirmation = ses.parse(request(subscriptionMessage("SubscriptionConfirmation")), ENV);
		expect(confirmation).toEqual({ events: [], ignored: 1, problems: [] });
	});

	it("reports SES records it cannot read as problems", () => {
		expect(parse("{not json").problems).toEqual([{ index: 0, error: "Message is not valid JSON" }]);
		expect(parse("[1]").problems).toEqual([{ index: 0, error: "Message is not a JSON object" }]);
		expect(parse({ mail }).problems).toEqual([
			{ index: 0, error: "SES record has neither notificationType nor eventType" },
		]);
		expect(parse({ notificationType: "Bounce" }).problems).toEqual([
			{ index: 0, error: "Bounce without bounce object" },
		]);
		expect(parse({ notificationType: "Bounce", bounce: { bounceType: "Permanent" } }).problems).toEqual([
			{ index: 0, error: "Bounce without recipients" },
		]);
		expect(parse({ eventType: "Subscription", subscription: {} }).problems).toEqual([
			{ index: 0, error: "Subscription without newTopicPreferences" },
		]);
	});

	it("throws WebhookBodyError for a body that is not an SNS notification", () => {
		const bad = (body: string) => () => ses.parse(request(body), ENV);
		expect(bad("not json")).toThrow(WebhookBodyError);
		expect(bad('"a string"')).toThrow(WebhookBodyError);
		expect(bad("{}")).toThrow(WebhookBodyError);
		expect(bad(JSON.stringify({ Type: "Notification", MessageId: "m" }))).toThrow(WebhookBodyError);
		expect(bad(JSON.stringify({ Type: "Notification", Message: "{}" }))).toThrow(WebhookBodyError);
	});
});
