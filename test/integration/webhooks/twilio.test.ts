import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64Encode, hmac, utf8 } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import { type VerifyDeps, WebhookBodyError, type WebhookRequest } from "../../../src/webhooks/provider";
import { escapeXml, HELP_TEXT, twilio, twiml } from "../../../src/webhooks/providers/twilio";

const TOKEN = "twilio-auth-token-0123456789abcdef";
const URL_CALLED = "https://consent.example.test/webhooks/twilio?bu=de";
const bindings = (token: string | undefined) => ({ ...env, TWILIO_AUTH_TOKEN: token }) as Bindings;
const ENV = bindings(TOKEN);

const deps: VerifyDeps = {
	fetchCertificate: () => Promise.reject(new Error("not used by Twilio")),
	confirmSubscription: () => Promise.reject(new Error("not used by Twilio")),
	now: () => 1_795_000_000,
	rememberToken: async () => true,
};

type Fields = Array<[string, string]>;

/** Twilio's scheme, written out: url + names sorted, each value of a name sorted, as name+value. */
async function signature(fields: Fields, url = URL_CALLED, token = TOKEN): Promise<string> {
	const sorted = [...fields].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));
	return base64Encode(await hmac("SHA-1", token, utf8(sorted.reduce((text, [n, v]) => text + n + v, url))));
}

function request(fields: Fields | string, headers: Record<string, string> = {}, url = URL_CALLED): WebhookRequest {
	const body = typeof fields === "string" ? fields : new URLSearchParams(fields).toString();
	return {
		url,
		method: "POST",
		headers: new Headers({ "content-type": "application/x-www-form-urlencoded; charset=UTF-8", ...headers }),
		body: utf8(body),
	};
}

const sms = (body: string, extra: Fields = []): Fields => [
	["ToCountry", "DE"],
	["SmsMessageSid", "SM0123456789abcdef0123456789abcdef"],
	["NumMedia", "0"],
	["SmsSid", "SM0123456789abcdef0123456789abcdef"],
	["SmsStatus", "received"],
	["Body", body],
	["To", "+4930123456"],
	["NumSegments", "1"],
	["MessageSid", "SM0123456789abcdef0123456789abcdef"],
	["AccountSid", "AC0123456789abcdef0123456789abcdef"],
	["From", "+4917612345678"],
	["ApiVersion", "2010-04-01"],
	...extra,
];

const signed = async (fields: Fields, url = URL_CALLED) =>
	request(fields, { "x-twilio-signature": await signature(fields, url) }, url);

const refused = { ok: false, reason: "signature does not match" };

const EMPTY = { contentType: "application/xml", body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' };

const parse = (fields: Fields) => twilio.parse(request(fields), ENV);

describe("twilio: configured", () => {
	it("is configured with an auth token", () => {
		expect(twilio.configured(ENV)).toBe(true);
		expect(twilio.configured(bindings(""))).toBe(false);
		expect(twilio.configured(bindings(undefined))).toBe(false);
	});
});

describe("twilio: verify", () => {
	it("accepts a request signed by Twilio (twilio-ruby's recorded SMS request)", async () => {
		// Recorded from Twilio by its Ruby library's tests (spec/util/request_validator_spec.rb).
		const fields: Fields = [
			["ToState", "CA"],
			["FromState", "CA"],
			["AccountSid", "ACba8bc05eacf94afdae398e642c9cc32d"],
			["SmsMessageSid", "SM2003cbd5e6a3701999aa3e5f20ff2787"],
			["Body", "Orly"],
			["From", "+14159354345"],
			["FromCity", "SAN FRANCISCO"],
			["SmsStatus", "received"],
			["FromZip", "94107"],
			["FromCountry", "US"],
			["To", "+14158141819"],
			["ToCity", "SAN FRANCISCO"],
			["ToZip", "94105"],
			["ToCountry", "US"],
			["ApiVersion", "2010-04-01"],
			["SmsSid", "SM2003cbd5e6a3701999aa3e5f20ff2787"],
		];
		const recorded = request(
			fields,
			{ "x-twilio-signature": "mxeiv65lEe0b8L6LdVw2jgJi8yw=" },
			"http://twiliotests.heroku.com/validate/sms",
		);
		const result = await twilio.verify(recorded, bindings("2bd9e9638872de601313dc77410d3b23"), deps);
		expect(result).toEqual({ ok: true });
	});

	it("accepts signed messages with and without OptOutType, and with parameters it does not know", async () => {
		expect(await twilio.verify(await signed(sms("STOP")), ENV, deps)).toEqual({ ok: true });
		expect(await twilio.verify(await signed(sms("STOP", [["OptOutType", "STOP"]])), ENV, deps)).toEqual({ ok: true });
		const unknown = sms("hello", [
			["MessagingServiceSid", "MG0123"],
			["FromCity", "BERLIN"],
			["AddOns", '{"status":"successful"}'],
			["Empty", ""],
		]);
		expect(await twilio.verify(await signed(unknown), ENV, deps)).toEqual({ ok: true });
	});

	it("signs a repeated parameter with all its values sorted, with or without repeated equal values", async () => {
		const fields = sms("hi", [
			["MediaUrl", "https://b.example/2"],
			["MediaUrl", "https://a.example/1"],
			["MediaUrl", "https://b.example/2"],
		]);
		// twilio-python: every value, sorted.
		expect(await twilio.verify(await signed(fields), ENV, deps)).toEqual({ ok: true });
		// twilio-node: distinct values, sorted.
		const distinct = await signature(fields.slice(0, -1));
		expect(await twilio.verify(request(fields, { "x-twilio-signature": distinct }), ENV, deps)).toEqual({ ok: true });
		// Names sorted but values in the order received (a stable sort by name only) sign something else.
		const byNameOnly = [...fields].sort(([a], [b]) => (a === b ? 0 : a < b ? -1 : 1));
		const text = byNameOnly.reduce((all, [name, value]) => all + name + value, URL_CALLED);
		const wrongOrder = base64Encode(await hmac("SHA-1", TOKEN, utf8(text)));
		expect(await twilio.verify(request(fields, { "x-twilio-signature": wrongOrder }), ENV, deps)).toEqual(refused);
	});

	it("accepts the URL signed with the default port spelled out", async () => {
		const fields = sms("START");
		const withPort = await signature(fields, "https://consent.example.test:443/webhooks/twilio?bu=de");
		expect(await twilio.verify(request(fields, { "x-twilio-signature": withPort }), ENV, deps)).toEqual({ ok: true });
	});

	it("refuses a wrong token, a tampered parameter, another URL and a missing signature", async () => {
		const fields = sms("STOP");
		const otherToken = await signature(fields, URL_CALLED, "another-token");
		expect(await twilio.verify(request(fields, { "x-twilio-signature": otherToken }), ENV, deps)).toEqual(refused);
		const genuine = await signature(fields);
		const tampered = sms("START");
		expect(await twilio.verify(request(tampered, { "x-twilio-signature": genuine }), ENV, deps)).toEqual(refused);
		const added = sms("STOP", [["OptOutType", "STOP"]]);
		expect(await twilio.verify(request(added, { "x-twilio-signature": genuine }), ENV, deps)).toEqual(refused);
		const otherQuery = request(fields, { "x-twilio-signature": genuine }, URL_CALLED.replace("bu=de", "bu=at"));
		expect(await twilio.verify(otherQuery, ENV, deps)).toEqual(refused);
		const withoutQuery = request(fields, { "x-twilio-signature": genuine }, URL_CALLED.replace("?bu=de", ""));
		expect(await twilio.verify(withoutQuery, ENV, deps)).toEqual(refused);
		expect(await twilio.verify(request(fields), ENV, deps)).toEqual({
			ok: false,
			reason: "no X-Twilio-Signature header",
		});
		const latin1 = { ...request(fields, { "x-twilio-signature": genuine }), body: Uint8Array.of(0x42, 0x3d, 0xe9) };
		expect(await twilio.verify(latin1, ENV, deps)).toEqual({ ok: false, reason: "body is not UTF-8" });
		expect(await twilio.verify(await signed(fields), bindings(""), deps)).toEqual({
			ok: false,
			reason: "TWILIO_AUTH_TOKEN is not set",
		});
	});
});

describe("twilio: parse", () => {
	const event = (kind: "opt_out" | "opt_in", keyword: string, extra: Record<string, string> = {}) => ({
		id: "SM0123456789abcdef0123456789abcdef",
		channel: "sms",
		recipient: "+4917612345678",
		action: { kind },
		occurredAt: null,
		businessUnit: null,
		campaign: null,
		properties: { keyword, to: "+4930123456", ...extra },
	});

	it.each(["STOP", "stop", "  Stop \n", "STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "OptOut"])(
		"maps %j to an SMS opt-out",
		(body) => {
			expect(parse(sms(body))).toEqual({
				events: [event("opt_out", body.trim().toLowerCase())],
				ignored: 0,
				problems: [],
				reply: EMPTY,
			});
		},
	);

	it.each(["START", "start", " Yes ", "UNSTOP", "\tunstop"])("maps %j to an SMS opt-in", (body) => {
		expect(parse(sms(body))).toEqual({
			events: [event("opt_in", body.trim().toLowerCase())],
			ignored: 0,
			problems: [],
			reply: EMPTY,
		});
	});

	it("lets Twilio's OptOutType win over the body", () => {
		// A custom Advanced Opt-Out keyword in another language.
		expect(parse(sms("ARRET", [["OptOutType", "STOP"]])).events).toEqual([
			event("opt_out", "arret", { optOutType: "STOP" }),
		]);
		expect(parse(sms("stop", [["OptOutType", "START"]])).events).toEqual([
			event("opt_in", "stop", { optOutType: "START" }),
		]);
		// An unknown OptOutType leaves the decision to the body.
		expect(parse(sms("stop", [["OptOutType", "SOMETHING"]])).events).toEqual([
			event("opt_out", "stop", { optOutType: "SOMETHING" }),
		]);
	});

	it("answers HELP and INFO with a help message and no event", () => {
		const help = {
			events: [],
			ignored: 1,
			problems: [],
			reply: {
				contentType: "application/xml",
				body: '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Reply STOP to unsubscribe or START to resubscribe. Msg&amp;data rates may apply.</Message></Response>',
			},
		};
		expect(parse(sms("HELP"))).toEqual(help);
		expect(parse(sms(" info "))).toEqual(help);
		// Advanced Opt-Out has answered already.
		expect(parse(sms("HILFE", [["OptOutType", "HELP"]]))).toEqual({ ...help, reply: EMPTY });
	});

	it.each(["hello", "stop please", "STOP!", "", "S T O P", "helpme"])("ignores %j", (body) => {
		expect(parse(sms(body))).toEqual({ events: [], ignored: 1, problems: [], reply: EMPTY });
	});

	it("ignores status callbacks and unknown channels, takes RCS as SMS and WhatsApp as its own channel", () => {
		const status: Fields = [
			["MessageSid", "SM1"],
			["MessageStatus", "delivered"],
			["From", "+4930123456"],
			["To", "+4917612345678"],
		];
		expect(parse(status)).toEqual({ events: [], ignored: 1, problems: [], reply: EMPTY });
		const whatsapp = sms("STOP").map(([name, value]): [string, string] =>
			name === "From" ? [name, "whatsapp:+4917612345678"] : [name, value],
		);
		expect(parse(whatsapp).events).toEqual([{ ...event("opt_out", "stop"), channel: "whatsapp" }]);
		const messenger = sms("STOP").map(([name, value]): [string, string] =>
			name === "From" ? [name, "messenger:123456"] : [name, value],
		);
		expect(parse(messenger)).toEqual({ events: [], ignored: 1, problems: [], reply: EMPTY });
		const rcs = sms("STOP").map(([name, value]): [string, string] =>
			name === "From" ? [name, "rcs:+4917612345678"] : [name, value],
		);
		expect(parse(rcs).events).toEqual([event("opt_out", "stop")]);
	});

	it("falls back to SmsSid and reports a keyword message without sender or id", () => {
		const legacy = sms("STOP").filter(([name]) => name !== "MessageSid" && name !== "SmsMessageSid");
		expect(parse(legacy).events[0]?.id).toBe("SM0123456789abcdef0123456789abcdef");
		const problem = { events: [], ignored: 0, problems: [{ index: 0, error: "message without From or MessageSid" }] };
		expect(parse(sms("STOP").filter(([name]) => name !== "From"))).toEqual({ ...problem, reply: EMPTY });
		const noId = sms("STOP").filter(([name]) => !name.endsWith("Sid") || name === "AccountSid");
		expect(parse(noId)).toEqual({ ...problem, reply: EMPTY });
	});

	it("throws WebhookBodyError for bodies that are not a Twilio form", () => {
		const json = request(JSON.stringify({ Body: "STOP" }), { "content-type": "application/json" });
		expect(() => twilio.parse(json, ENV)).toThrow(WebhookBodyError);
		expect(() => twilio.parse(request(""), ENV)).toThrow(WebhookBodyError);
		expect(() => twilio.parse({ ...request(""), body: Uint8Array.of(0x42, 0x3d, 0xe9) }, ENV)).toThrow(
			WebhookBodyError,
		);
	});
});

describe("twilio: TwiML", () => {
	it("escapes everything put into a message", () => {
		expect(escapeXml(`<b>"Tom" & 'Jerry'</b>`)).toBe("&lt;b&gt;&quot;Tom&quot; &amp; &apos;Jerry&apos;&lt;/b&gt;");
		expect(twiml("a < b & c")).toEqual({
			contentType: "application/xml",
			body: '<?xml version="1.0" encoding="UTF-8"?><Response><Message>a &lt; b &amp; c</Message></Response>',
		});
		expect(twiml()).toEqual(EMPTY);
		expect(HELP_TEXT).toContain("STOP");
	});
});
