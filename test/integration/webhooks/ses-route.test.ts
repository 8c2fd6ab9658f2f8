/**
 * Amazon SES through SNS at the route, with the app's injectable certificate fetcher
 * (createApp({webhookDeps})): tests cannot reach Amazon, so a certificate made here is served for
 * the SigningCertURL. Subscription confirmation, a signed bounce notification applied end to end.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { base64Encode, utf8 } from "../../../src/crypto";
import { BASE, eventually, uniqueEmail } from "../../helpers";
import { rsaCertificate } from "./x509-builder";

const TOPIC = env.SES_TOPIC_ARNS;
const CERT_URL = `https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-${crypto.randomUUID().replaceAll("-", "")}.pem`;

describe("POST /webhooks/ses", async () => {
	const certificate = await rsaCertificate("sns.amazonaws.com");
	const fetched: string[] = [];
	const confirmed: string[] = [];
	const app = createApp({
		webhookDeps: {
			fetchCertificate: async (url) => {
				fetched.push(url);
				if (url !== CERT_URL) throw new Error(`404 ${url}`);
				return certificate.pem;
			},
			confirmSubscription: async (url) => {
				confirmed.push(url);
			},
		},
	});

	async function post(envelope: Record<string, string>) {
		const fields =
			envelope.Type === "Notification"
				? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
				: ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
		const text = fields
			.filter((name) => envelope[name] !== undefined)
			.map((name) => `${name}\n${envelope[name]}\n`)
			.join("");
		const key = await certificate.signingKey("SHA-256");
		const signature = base64Encode(new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, utf8(text))));
		const ctx = createExecutionContext();
		const response = await app.fetch(
			new Request(`${BASE}/webhooks/ses`, {
				method: "POST",
				headers: { "content-type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": envelope.Type as string },
				body: JSON.stringify({ ...envelope, SignatureVersion: "2", SigningCertURL: CERT_URL, Signature: signature }),
			}),
			env,
			ctx,
		);
		await waitOnExecutionContext(ctx);
		return response;
	}

	it("confirms the SNS subscription by fetching its SubscribeURL", async () => {
		const subscribeUrl = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=abc`;
		const response = await post({
			Type: "SubscriptionConfirmation",
			MessageId: crypto.randomUUID(),
			Token: "abc",
			TopicArn: TOPIC,
			Message: "You have chosen to subscribe",
			SubscribeURL: subscribeUrl,
			Timestamp: new Date().toISOString(),
		});
		expect(response.status).toBe(200);
		expect(confirmed).toEqual([subscribeUrl]);
	});

	it("applies a signed permanent bounce, and refuses the same notification tampered", async () => {
		const email = uniqueEmail();
		const envelope = {
			Type: "Notification",
			MessageId: crypto.randomUUID(),
			TopicArn: TOPIC,
			Timestamp: new Date().toISOString(),
			Message: JSON.stringify({
				notificationType: "Bounce",
				bounce: {
					bounceType: "Permanent",
					bouncedRecipients: [{ emailAddress: email }],
					timestamp: new Date().toISOString(),
				},
				mail: { destination: [email] },
			}),
		};
		const response = await post(envelope);
		expect(response.status).toBe(200);
		expect(await response.json()).toMatchObject({ accepted: 1 });
		expect(fetched).toContain(CERT_URL);

		await eventually(async () => {
			const row = await env.DB.prepare("SELECT consent FROM contacts WHERE email = ?")
				.bind(email)
				.first<{ consent: string }>();
			return row && JSON.parse(row.consent).channels.email?.bounced === true;
		}, "the bounce");

		const ctx = createExecutionContext();
		const tampered = await app.fetch(
			new Request(`${BASE}/webhooks/ses`, {
				method: "POST",
				headers: { "content-type": "text/plain", "x-amz-sns-message-type": "Notification" },
				body: JSON.stringify({ ...envelope, SignatureVersion: "2", SigningCertURL: CERT_URL, Signature: "AAAA" }),
			}),
			env,
			ctx,
		);
		expect(tampered.status).toBe(401);
	});
});
