import { describe, expect, it } from "vitest";
import { WebhookBodyError } from "../../../src/webhooks/provider";
import { mailjet } from "../../../src/webhooks/providers/mailjet";
import { basicAuth, bindings, testDeps, webhookRequest } from "./webhook-helpers";

const CREDENTIALS = "mailjet-hook:s3cret-passw0rd";
const env = bindings({ MAILJET_WEBHOOK_BASIC_AUTH: CREDENTIALS });
const TIME = 1_794_999_000;
const MESSAGE_ID = 1_942_177_739_619;
const AT = new Date(TIME * 1000).toISOString();

const request = (body: unknown, authorization: string | null = basicAuth(CREDENTIALS)) =>
	webhookRequest(
		typeof body === "string" ? body : JSON.stringify(body),
		authorization === null ? {} : { authorization, "content-type": "application/json" },
	);

const parse = (body: unknown) => mailjet.parse(request(body), env);

const event = (fields: Record<string, unknown>) => ({
	time: TIME,
	MessageID: MESSAGE_ID,
	email: "Cleo@Example.org",
	mj_campaign_id: 7173,
	mj_contact_id: 320,
	customcampaign: "",
	CustomID: "",
	Payload: "",
	...fields,
});

const mapped = { channel: "email", recipient: "Cleo@Example.org", occurredAt: AT, businessUnit: null, campaign: null };

describe("mailjet: configured", () => {
	it("is configured only with non-empty credentials", () => {
		expect(mailjet.configured(env)).toBe(true);
		expect(mailjet.configured(bindings({ MAILJET_WEBHOOK_BASIC_AUTH: "" }))).toBe(false);
		expect(mailjet.configured(bindings({ MAILJET_WEBHOOK_BASIC_AUTH: undefined }))).toBe(false);
	});
});

describe("mailjet: verify", () => {
	const body = event({ event: "spam" });

	it("accepts the configured basic-auth credentials", async () => {
		expect(await mailjet.verify(request(body), env, testDeps())).toEqual({ ok: true });
		expect(await mailjet.verify(request(body, `basic ${btoa(CREDENTIALS)}`), env, testDeps())).toEqual({ ok: true });
	});

	it("refuses wrong, partial or missing credentials", async () => {
		for (const authorization of [
			null,
			"",
			basicAuth("mailjet-hook:wrong"),
			basicAuth("other:s3cret-passw0rd"),
			basicAuth("mailjet-hook"),
			basicAuth(`${CREDENTIALS}x`),
			`Bearer ${btoa(CREDENTIALS)}`,
			"Basic !!!notbase64",
			"Basic",
		]) {
			expect(await mailjet.verify(request(body, authorization), env, testDeps()), String(authorization)).toEqual({
				ok: false,
				reason: "basic-auth credentials missing or wrong",
			});
		}
	});

	it("refuses everything when no credentials are configured", async () => {
		const unset = bindings({ MAILJET_WEBHOOK_BASIC_AUTH: "" });
		expect((await mailjet.verify(request(body, basicAuth(":")), unset, testDeps())).ok).toBe(false);
		expect((await mailjet.verify(request(body, null), unset, testDeps())).ok).toBe(false);
	});
});

describe("mailjet: parse", () => {
	it("reads a single event object (Version 1)", () => {
		expect(parse(event({ event: "spam", source: "JMRPP" }))).toEqual({
			ignored: 0,
			problems: [],
			events: [
				{
					...mapped,
					id: `spam:${MESSAGE_ID}:Cleo@Example.org:${TIME}`,
					action: { kind: "complaint" },
					properties: { event: "spam", source: "JMRPP" },
				},
			],
		});
	});

	it("maps unsubscribes with and without a list, hard bounces and complaints in a Version 2 array", () => {
		const result = parse([
			event({ event: "unsub", mj_list_id: 1234 }),
			event({ event: "unsub", mj_list_id: "77", MessageID: 1 }),
			event({ event: "unsub", mj_list_id: 0, MessageID: 2 }),
			event({ event: "unsub", mj_list_id: "", MessageID: 3 }),
			event({ event: "unsub", MessageID: 4 }),
			event({ event: "unsub", mj_list_id: "0", MessageID: 5 }),
			event({
				event: "bounce",
				hard_bounce: true,
				blocked: true,
				error_related_to: "recipient",
				error: "user unknown",
			}),
			event({ event: "spam", source: "JMRPP" }),
		]);
		expect(result.problems).toEqual([]);
		expect(result.ignored).toBe(0);
		expect(result.events).toEqual([
			{
				...mapped,
				id: `unsub:${MESSAGE_ID}:Cleo@Example.org:${TIME}`,
				action: { kind: "unsubscribe", list: "1234" },
				properties: { event: "unsub" },
			},
			{
				...mapped,
				id: `unsub:1:Cleo@Example.org:${TIME}`,
				action: { kind: "unsubscribe", list: "77" },
				properties: { event: "unsub" },
			},
			{
				...mapped,
				id: `unsub:2:Cleo@Example.org:${TIME}`,
				action: { kind: "unsubscribe", list: null },
				properties: { event: "unsub" },
			},
			{
				...mapped,
				id: `unsub:3:Cleo@Example.org:${TIME}`,
				action: { kind: "unsubscribe", list: null },
				properties: { event: "unsub" },
			},
			{
				...mapped,
				id: `unsub:4:Cleo@Example.org:${TIME}`,
				action: { kind: "unsubscribe", list: null },
				properties: { event: "unsub" },
			},
			{
				...mapped,
				id: `unsub:5:Cleo@Example.org:${TIME}`,
				action: { kind: "unsubscribe", list: null },
				properties: { event: "unsub" },
			},
			{
				...mapped,
				id: `bounce:${MESSAGE_ID}:Cleo@Example.org:${TIME}`,
				action: { kind: "hard_bounce" },
				properties: { event: "bounce", errorRelatedTo: "recipient", error: "user unknown" },
			},
			{
				...mapped,
				id: `spam:${MESSAGE_ID}:Cleo@Example.org:${TIME}`,
				action: { kind: "complaint" },
				properties: { event: "spam", source: "JMRPP" },
			},
		]);
	});

	it("builds the same id for a redelivered event and different ids for different events", () => {
		const body = [event({ event: "unsub" })];
		expect(parse(body).events[0]?.id).toBe(parse(body).events[0]?.id);
		const ids = parse([
			event({ event: "unsub" }),
			event({ event: "spam" }),
			event({ event: "unsub", time: TIME + 1 }),
			event({ event: "unsub", email: "other@example.org" }),
			event({ event: "unsub", MessageID: 5 }),
		]).events.map((e) => e.id);
		expect(new Set(ids).size).toBe(5);
	});

	it("keeps every digit of a MessageID beyond 2^53 and prefers mj_message_id", () => {
		const raw = `[{"event":"unsub","time":${TIME},"email":"Cleo@Example.org","MessageID":19421777396190491}]`;
		expect(parse(raw).events[0]?.id).toBe(`unsub:19421777396190491:Cleo@Example.org:${TIME}`);
		const [mapped] = parse([event({ event: "unsub", mj_message_id: "18858825588804172", MessageID: 1 })]).events;
		expect(mapped?.id).toBe(`unsub:18858825588804172:Cleo@Example.org:${TIME}`);
	});

	it("takes businessUnit and campaign from a JSON Payload, else campaign from customcampaign", () => {
		const [fromPayload, fromCustomCampaign, payloadWins, notJson, camelCase] = parse([
			event({ event: "spam", Payload: JSON.stringify({ businessUnit: "de", campaign: "newsletter-12" }) }),
			event({ event: "spam", customcampaign: "mj-campaign" }),
			event({ event: "spam", Payload: JSON.stringify({ campaign: "from-payload" }), customcampaign: "mj-campaign" }),
			event({ event: "spam", Payload: "free text {", customcampaign: "" }),
			event({ event: "spam", Payload: JSON.stringify({ businessUnit: 5 }), CustomCampaign: "Camel" }),
		]).events;
		expect(fromPayload).toMatchObject({ businessUnit: "de", campaign: "newsletter-12" });
		expect(fromCustomCampaign).toMatchObject({ businessUnit: null, campaign: "mj-campaign" });
		expect(payloadWins).toMatchObject({ businessUnit: null, campaign: "from-payload" });
		expect(notJson).toMatchObject({ businessUnit: null, campaign: null });
		expect(camelCase).toMatchObject({ businessUnit: null, campaign: "Camel" });
	});

	it("ignores soft bounces, blocked, sent, open and click events", () => {
		const ignored = [
			event({ event: "bounce", hard_bounce: false, error_related_to: "recipient", error: "quota exceeded" }),
			event({ event: "bounce" }),
			event({ event: "blocked", error_related_to: "mailjet", error: "preblocked" }),
			event({ event: "sent", mj_message_id: "1", smtp_reply: "250 OK" }),
			event({ event: "open", ip: "127.0.0.1" }),
			event({ event: "click", url: "https://example.org" }),
		];
		expect(parse(ignored)).toEqual({ events: [], ignored: ignored.length, problems: [] });
	});

	it("keeps the good events of a batch and reports the bad ones", () => {
		const result = parse([
			event({ event: "unsub" }),
			event({ event: "unsub", email: undefined }),
			event({ event: "spam", time: undefined }),
			42,
			{ email: "x@example.org", time: TIME },
			event({ event: "spam", email: ["Cleo@Example.org"] }),
			event({ event: "open" }),
			event({ event: "spam" }),
		]);
		expect(result.events.map((e) => e.action.kind)).toEqual(["unsubscribe", "complaint"]);
		expect(result.ignored).toBe(1);
		expect(result.problems).toEqual([
			{ index: 1, error: "unsub without email" },
			{ index: 2, error: "spam without time" },
			{ index: 3, error: "event is not an object" },
			{ index: 4, error: "event has no event name" },
			{ index: 5, error: "spam without email" },
		]);
	});

	it("rejects bodies that are neither an event nor an array of events", () => {
		for (const body of ["", "   ", "not json", "{", '"unsub"', "12", "null", "true"]) {
			expect(() => parse(body), body).toThrow(WebhookBodyError);
		}
		expect(() => mailjet.parse(webhookRequest(Uint8Array.of(0xc3, 0x28)), env)).toThrow(WebhookBodyError);
	});
});
