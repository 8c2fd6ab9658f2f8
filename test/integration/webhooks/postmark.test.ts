import { describe, expect, it } from "vitest";
import { WebhookBodyError } from "../../../src/webhooks/provider";
import { postmark } from "../../../src/webhooks/providers/postmark";
import { basicAuth, bindings, testDeps, webhookRequest } from "./webhook-helpers";

const CREDENTIALS = "postmark:hook-Pa55word";
const env = bindings({ POSTMARK_WEBHOOK_BASIC_AUTH: CREDENTIALS });

const request = (body: unknown, authorization: string | null = basicAuth(CREDENTIALS)) =>
	webhookRequest(
		typeof body === "string" ? body : JSON.stringify(body),
		authorization === null ? {} : { authorization, "content-type": "application/json" },
	);

const parse = (body: unknown) => postmark.parse(request(body), env);

// Shapes from https://postmarkapp.com/developer/webhooks/bounce-webhook and the subscription change page.
const bounce = (fields: Record<string, unknown> = {}) => ({
	RecordType: "Bounce",
	ID: 4_323_372_036,
	Type: "HardBounce",
	TypeCode: 1,
	Name: "Hard bounce",
	Tag: "Test",
	MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
	ServerID: 23,
	Description: "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
	Details: "Test bounce details",
	Email: "Dana@Example.org",
	From: "sender@example.com",
	BouncedAt: "2019-11-05T16:33:54.9070259Z",
	DumpAvailable: true,
	Inactive: true,
	CanActivate: true,
	Subject: "Test subject",
	Content: "Return-Path:....",
	MessageStream: "outbound",
	Metadata: {},
	...fields,
});

const spamComplaint = (fields: Record<string, unknown> = {}) =>
	bounce({
		RecordType: "SpamComplaint",
		ID: 42,
		Type: "SpamComplaint",
		TypeCode: 512,
		Name: "Spam complaint",
		...fields,
	});

const subscriptionChange = (fields: Record<string, unknown> = {}) => ({
	RecordType: "SubscriptionChange",
	MessageID: "883953f4-6105-42a2-a16a-77a8eac79483",
	ServerID: 123456,
	MessageStream: "broadcast-news",
	ChangedAt: "2020-02-01T10:53:34.416071Z",
	Recipient: "Dana@Example.org",
	Origin: "Recipient",
	SuppressSending: true,
	SuppressionReason: "ManualSuppression",
	Tag: "my-tag",
	Metadata: { businessUnit: "de", campaign: "spring" },
	...fields,
});

const CHANGE_ID =
	"SubscriptionChange:broadcast-news:883953f4-6105-42a2-a16a-77a8eac79483:Dana@Example.org:2020-02-01T10:53:34.416071Z";

describe("postmark: configured", () => {
	it("is configured only with non-empty credentials", () => {
		expect(postmark.configured(env)).toBe(true);
		expect(postmark.configured(bindings({ POSTMARK_WEBHOOK_BASIC_AUTH: " " }))).toBe(false);
		expect(postmark.configured(bindings({ POSTMARK_WEBHOOK_BASIC_AUTH: undefined }))).toBe(false);
	});
});

describe("postmark: verify", () => {
	it("accepts the configured basic-auth credentials", async () => {
		expect(await postmark.verify(request(bounce()), env, testDeps())).toEqual({ ok: true });
	});

	it("refuses wrong or missing credentials", async () => {
		for (const authorization of [null, "", basicAuth("postmark:hook-pa55word"), basicAuth("postmark:"), "Basic ***"]) {
			expect(await postmark.verify(request(bounce(), authorization), env, testDeps())).toEqual({
				ok: false,
				reason: "basic-auth credentials missing or wrong",
			});
		}
	});

	it("refuses everything when no credentials are configured", async () => {
		const unset = bindings({ POSTMARK_WEBHOOK_BASIC_AUTH: "" });
		expect((await postmark.verify(request(bounce(), basicAuth(":")), unset, testDeps())).ok).toBe(false);
	});
});

describe("postmark: parse", () => {
	it("maps a hard bounce", () => {
		expect(parse(bounce({ Metadata: { businessUnit: "at", campaign: "welcome", user_id: 43 } }))).toEqual({
			ignored: 0,
			problems: [],
			events: [
				{
					id: "4323372036",
					channel: "email",
					recipient: "Dana@Example.org",
					action: { kind: "hard_bounce" },
					occurredAt: "2019-11-05T16:33:54.907Z",
					businessUnit: "at",
					campaign: "welcome",
					properties: { event: "Bounce", bounceType: "HardBounce" },
				},
			],
		});
	});

	it("keeps every digit of a bounce ID beyond 2^53", () => {
		const raw = JSON.stringify(bounce({ ID: "PLACEHOLDER" })).replace('"PLACEHOLDER"', "4323372036854775807");
		expect(parse(raw).events[0]?.id).toBe("4323372036854775807");
	});

	it("maps an invalid address as a hard bounce, with the time zone of BouncedAt applied", () => {
		const [event] = parse(
			bounce({ ID: 7, Type: "BadEmailAddress", BouncedAt: "2014-08-01T13:28:10.2735393-04:00" }),
		).events;
		expect(event).toEqual({
			id: "7",
			channel: "email",
			recipient: "Dana@Example.org",
			action: { kind: "hard_bounce" },
			occurredAt: "2014-08-01T17:28:10.273Z",
			businessUnit: null,
			campaign: null,
			properties: { event: "Bounce", bounceType: "BadEmailAddress" },
		});
	});

	it("maps a spam complaint", () => {
		expect(parse(spamComplaint()).events).toEqual([
			{
				id: "42",
				channel: "email",
				recipient: "Dana@Example.org",
				action: { kind: "complaint" },
				occurredAt: "2019-11-05T16:33:54.907Z",
				businessUnit: null,
				campaign: null,
				properties: { event: "SpamComplaint", bounceType: "SpamComplaint" },
			},
		]);
	});

	it("ignores bounces that are not permanent and records that mean nothing for consent", () => {
		const types = [
			"Transient",
			"SoftBounce",
			"DnsError",
			"AutoResponder",
			"Blocked",
			"DMARCPolicy",
			"SpamNotification",
			"Unsubscribe",
			"ManuallyDeactivated",
			"Unknown",
		];
		for (const Type of types) {
			expect(parse(bounce({ Type })), Type).toEqual({ events: [], ignored: 1, problems: [] });
		}
		for (const RecordType of ["Delivery", "Open", "Click", "Inbound"]) {
			expect(parse({ RecordType, Recipient: "dana@example.org", MessageID: "m" }), RecordType).toEqual({
				events: [],
				ignored: 1,
				problems: [],
			});
		}
	});

	it("maps a recipient's unsubscribe (ManualSuppression) to an unsubscribe from the message stream", () => {
		expect(parse(subscriptionChange())).toEqual({
			ignored: 0,
			problems: [],
			events: [
				{
					id: CHANGE_ID,
					channel: "email",
					recipient: "Dana@Example.org",
					action: { kind: "unsubscribe", list: "broadcast-news" },
					occurredAt: "2020-02-01T10:53:34.416Z",
					businessUnit: "de",
					campaign: "spring",
					properties: { event: "SubscriptionChange", suppressionReason: "ManualSuppression", origin: "Recipient" },
				},
			],
		});
	});

	it("maps suppressions for hard bounces and complaints, and reactivations", () => {
		const change = (fields: Record<string, unknown>) => parse(subscriptionChange(fields)).events[0];
		expect(change({ SuppressionReason: "HardBounce" })).toMatchObject({
			action: { kind: "hard_bounce" },
			properties: { event: "SubscriptionChange", suppressionReason: "HardBounce", origin: "Recipient" },
		});
		expect(change({ SuppressionReason: "SpamComplaint" })).toMatchObject({ action: { kind: "complaint" } });
		// Reactivation: no message, no reason, empty metadata (Postmark's documented shape).
		expect(
			change({
				SuppressSending: false,
				SuppressionReason: null,
				MessageID: null,
				Tag: null,
				Metadata: {},
				Origin: "Customer",
			}),
		).toEqual({
			id: "SubscriptionChange:broadcast-news::Dana@Example.org:2020-02-01T10:53:34.416071Z",
			channel: "email",
			recipient: "Dana@Example.org",
			action: { kind: "resubscribe", list: "broadcast-news" },
			occurredAt: "2020-02-01T10:53:34.416Z",
			businessUnit: null,
			campaign: null,
			properties: { event: "SubscriptionChange", origin: "Customer" },
		});
		expect(change({ MessageStream: undefined })).toMatchObject({ action: { kind: "unsubscribe", list: null } });
		expect(parse(subscriptionChange({ SuppressionReason: "SomethingNew" }))).toEqual({
			events: [],
			ignored: 1,
			problems: [],
		});
	});

	it("gives the same change the same id and different changes different ids", () => {
		const ids = [
			subscriptionChange(),
			subscriptionChange({ MessageStream: "outbound" }),
			subscriptionChange({ ChangedAt: "2020-02-01T10:53:34.416072Z" }),
			subscriptionChange({ Recipient: "other@example.org" }),
		].map((record) => parse(record).events[0]?.id);
		expect(ids[0]).toBe(CHANGE_ID);
		expect(parse(subscriptionChange()).events[0]?.id).toBe(CHANGE_ID);
		expect(new Set(ids).size).toBe(4);
	});

	it("reports a record it cannot use as a problem", () => {
		const cases: Array<[unknown, string]> = [
			[bounce({ Email: undefined }), "Bounce without Email or Recipient"],
			[bounce({ ID: undefined }), "Bounce without ID"],
			[bounce({ ID: 1.5 }), "Bounce without ID"],
			[spamComplaint({ Email: "" }), "SpamComplaint without Email or Recipient"],
			[subscriptionChange({ Recipient: undefined }), "SubscriptionChange without Email or Recipient"],
			[subscriptionChange({ ChangedAt: undefined }), "SubscriptionChange without ChangedAt"],
			[subscriptionChange({ SuppressSending: "true" }), "SubscriptionChange without SuppressSending"],
			[{ Type: "HardBounce", Email: "dana@example.org", ID: 1 }, "record has no RecordType"],
		];
		for (const [record, error] of cases) {
			expect(parse(record)).toEqual({ events: [], ignored: 0, problems: [{ index: 0, error }] });
		}
	});

	it("takes Metadata only as an object of strings and dates only when they parse", () => {
		const [event] = parse(bounce({ Metadata: "businessUnit=de", BouncedAt: "yesterday" })).events;
		expect(event).toMatchObject({ businessUnit: null, campaign: null, occurredAt: null });
		const [other] = parse(bounce({ Metadata: { businessUnit: ["de"], campaign: 5 } })).events;
		expect(other).toMatchObject({ businessUnit: null, campaign: null });
	});

	it("rejects bodies that are not one JSON object", () => {
		for (const body of ["", "  ", "not json", "{", "[]", JSON.stringify([bounce()]), '"Bounce"', "1", "null"]) {
			expect(() => parse(body), body).toThrow(WebhookBodyError);
		}
		expect(() => postmark.parse(webhookRequest(Uint8Array.of(0xe2, 0x82)), env)).toThrow(WebhookBodyError);
	});
});
