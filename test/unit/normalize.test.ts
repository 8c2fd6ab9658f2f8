import { describe, expect, it } from "vitest";
import {
	canonicalEventName,
	DEFAULT_BUSINESS_UNIT,
	isSystemEvent,
	normalizeAddress,
	normalizeBusinessUnit,
	normalizeEmail,
	normalizePhone,
} from "../../src/consent/normalize";
import { SYSTEM_EVENTS } from "../../src/consent/types";

describe("normalizeEmail: Unicode", () => {
	it.each([
		["an IDN domain, as punycode", "ann@bücher.de", "ann@xn--bcher-kva.de"],
		["an IDN domain in capitals", "Ann@BÜCHER.de", "ann@xn--bcher-kva.de"],
		["fullwidth letters, folded (NFKC)", "ａｎｎ＠ｅｘａｍｐｌｅ．ｄｅ", "ann@example.de"],
		["a ligature, folded", "ﬁnn@example.de", "finn@example.de"],
		["a Unicode local part", "jörg@example.de", "jörg@example.de"],
	])("%s: %j -> %j", (_, input, expected) => {
		expect(normalizeEmail(input)).toBe(expected);
	});

	it.each([
		["zero-width space", "ann\u200b@example.de"],
		["zero-width joiner in the domain", "ann@exam\u200dple.de"],
		["right-to-left override", "\u202eed.elpmaxe@nna"],
		["left-to-right mark", "ann@example.de\u200e"],
		["bidi isolate", "ann\u2066@example.de"],
		["soft hyphen", "an\u00adn@example.de"],
		["a control character", "ann\u0007@example.de"],
		["an invalid IDN", "ann@exa mple.de"],
	])("refuses %s", (_, input) => {
		expect(normalizeEmail(input)).toBeNull();
	});

	it("makes look-alikes one address", () => {
		expect(normalizeEmail("ＡＮＮ@ＥＸＡＭＰＬＥ.ＤＥ")).toBe(normalizeEmail("ann@example.de"));
	});
});

describe("normalizePhone: Unicode", () => {
	it("folds fullwidth digits and refuses invisible characters", () => {
		expect(normalizePhone("＋４９ １７６ １２３４５６７８")).toBe("+4917612345678");
		expect(normalizePhone("+49176\u200b12345678")).toBeNull();
	});
});

describe("normalizeEmail", () => {
	it.each([
		["ann@example.de", "ann@example.de"],
		["  Ann@Example.DE  ", "ann@example.de"],
		["\tANN.SMITH@EXAMPLE.CO.UK\n", "ann.smith@example.co.uk"],
		["ann+news@example.de", "ann+news@example.de"],
		["o'brien@example.ie", "o'brien@example.ie"],
		["ann@mail-server.example.de", "ann@mail-server.example.de"],
		["ann@xn--mnchen-3ya.de", "ann@xn--mnchen-3ya.de"],
	])("%j -> %j", (input, expected) => {
		expect(normalizeEmail(input)).toBe(expected);
	});

	it.each([
		["no @", "ann.example.de"],
		["two @", "ann@b@example.de"],
		["empty", ""],
		["blank", "   "],
		["empty local part", "@example.de"],
		["empty domain", "ann@"],
		["space in the local part", "ann smith@example.de"],
		["space before the @", "ann @example.de"],
		["space in the domain", "ann@exa mple.de"],
		["no dot in the domain", "ann@localhost"],
		["double dot in the local part", "ann..smith@example.de"],
		["leading dot in the local part", ".ann@example.de"],
		["trailing dot in the local part", "ann.@example.de"],
		["double dot in the domain", "ann@example..de"],
		["trailing dot in the domain", "ann@example.de."],
		["domain label starting with a dash", "ann@-example.de"],
		["domain label ending with a dash", "ann@example-.de"],
		["underscore in the domain", "ann@exa_mple.de"],
		["angle brackets", "<ann@example.de>"],
		["display name", "Ann <ann@example.de>"],
		["quotes", '"ann"@example.de'],
		["comma", "ann,bob@example.de"],
	])("rejects %s", (_, input) => {
		expect(normalizeEmail(input)).toBeNull();
	});

	it("accepts a local part of 64 characters and rejects 65", () => {
		expect(normalizeEmail(`${"a".repeat(64)}@example.de`)).toBe(`${"a".repeat(64)}@example.de`);
		expect(normalizeEmail(`${"a".repeat(65)}@example.de`)).toBeNull();
	});

	it("accepts 254 characters and rejects 255", () => {
		const domain = (length: number) => `${"d".repeat(length - 3)}.de`;
		const at254 = `${"a".repeat(64)}@${domain(254 - 65)}`;
		const at255 = `${"a".repeat(64)}@${domain(255 - 65)}`;
		expect(at254).toHaveLength(254);
		expect(normalizeEmail(at254)).toBe(at254);
		expect(normalizeEmail(at255)).toBeNull();
	});

	it("checks the length after trimming", () => {
		const email = `${"a".repeat(64)}@${"d".repeat(254 - 65 - 3)}.de`;
		expect(normalizeEmail(`   ${email}   `)).toBe(email);
	});
});

describe("normalizePhone", () => {
	it.each([
		["+4917612345678", "+4917612345678"],
		["+49 176 12345678", "+4917612345678"],
		["  +49 176 12345678  ", "+4917612345678"],
		["+49-176-123-456-78", "+4917612345678"],
		["+49 (176) 12345678", "+4917612345678"],
		["+49 (0)176 12345678", "+4917612345678"],
		["+44 (0) 20 7946 0958", "+442079460958"],
		["+49.176.12345678", "+4917612345678"],
		["0049 176 12345678", "+4917612345678"],
		["0043-660-1234567", "+436601234567"],
		["+1 (415) 555-0100", "+14155550100"],
		["+41 44 668 18 00", "+41446681800"],
		["+49 30 1234567", "+49301234567"],
	])("%j -> %j", (input, expected) => {
		expect(normalizePhone(input)).toBe(expected);
		// International numbers do not depend on the business unit's country.
		expect(normalizePhone(input, "AT")).toBe(expected);
	});

	it.each([
		["national number without country code", "0176 12345678"],
		["no plus", "4917612345678"],
		["country code starting with 0", "+049176123456"],
		["letters", "+49 176 CALLME"],
		["an extension", "+49 176 12345678 ext. 12"],
		["two plus signs", "++4917612345678"],
		["plus in the middle", "49+17612345678"],
		["too short for its country", "+1234567"],
		["too long for its country", "+123456789012345"],
		["a country calling code that does not exist", "+999123456789"],
		["too long for any country (16 digits)", "+1234567890123456"],
		["empty", ""],
		["only a plus", "+"],
		["slash", "+49 176/12345678"],
	])("rejects %s", (_, input) => {
		expect(normalizePhone(input)).toBeNull();
	});

	it.each([
		["0176 12345678", "DE", "+4917612345678"],
		["(0176) 123 456 78", "de", "+4917612345678"],
		["030 1234567", "DE", "+49301234567"],
		["0660 1234567", "AT", "+436601234567"],
		["044 668 18 00", "CH", "+41446681800"],
		["(415) 555-0100", "US", "+14155550100"],
		// The national trunk prefix of the US is 1: written so, it is the same number either way.
		["1 415 555 0100", "US", "+14155550100"],
		["０１７６ １２３４５６７８", "DE", "+4917612345678"],
	])("reads the national number %j of %s", (input, country, expected) => {
		expect(normalizePhone(input, country)).toBe(expected);
	});

	it.each([
		["an international number without its plus: refused, not guessed", "4917612345678", "DE"],
		["too long for that country", "0176 1234567890123", "DE"],
		["too short for that country", "0123", "DE"],
		["an unknown country: international only", "0176 12345678", "XX"],
		["no country", "0176 12345678", null],
		["an invisible character", "0176\u200b12345678", "DE"],
	])("refuses %s", (_, input, country) => {
		expect(normalizePhone(input, country)).toBeNull();
	});
});

describe("normalizeBusinessUnit", () => {
	it.each([undefined, null, ""])("%j is the default unit", (input) => {
		expect(normalizeBusinessUnit(input)).toBe(DEFAULT_BUSINESS_UNIT);
		expect(DEFAULT_BUSINESS_UNIT).toBe("default");
	});

	it.each([
		["de", "de"],
		[" DE ", "de"],
		["shop_at-2", "shop_at-2"],
		["1shop", "1shop"],
		["a".repeat(64), "a".repeat(64)],
	])("%j -> %j", (input, expected) => {
		expect(normalizeBusinessUnit(input)).toBe(expected);
	});

	it.each([
		["a leading dash", "-de"],
		["a leading underscore", "_de"],
		["a space inside", "d e"],
		["a dot", "de.at"],
		["a slash", "de/at"],
		["an umlaut", "österreich"],
		["65 characters", "a".repeat(65)],
		["only blanks", "   "],
	])("rejects %s", (_, input) => {
		expect(normalizeBusinessUnit(input)).toBeNull();
	});
});

describe("normalizeAddress", () => {
	it("takes an address with @ as an email", () => {
		expect(normalizeAddress(" Ann@Example.DE ")).toEqual({ kind: "email", value: "ann@example.de" });
	});

	it("takes an address without @ as a phone", () => {
		expect(normalizeAddress("0049 176 12345678")).toEqual({ kind: "phone", value: "+4917612345678" });
	});

	it.each(["ann@example", "ann@", "@example.de", "12345", "ann", ""])("rejects %j", (input) => {
		expect(normalizeAddress(input)).toBeNull();
	});
});

describe("canonicalEventName", () => {
	it.each([
		["opt out", "Opt Out"],
		["OPT  OUT", "Opt Out"],
		["  Opt Out  ", "Opt Out"],
		["opt\tout", "Opt Out"],
		["opt in", "Opt In"],
		["SUBSCRIBE", "Subscribe"],
		["confirm   subscription", "Confirm Subscription"],
		["unsubscribe", "Unsubscribe"],
		["bLoCk", "Block"],
		["unblock", "Unblock"],
		["bounce", "Bounce"],
		["complaint", "Complaint"],
	])("%j -> %j", (input, expected) => {
		expect(canonicalEventName(input)).toBe(expected);
	});

	it("maps every system name to itself", () => {
		expect(SYSTEM_EVENTS.map(canonicalEventName)).toEqual([...SYSTEM_EVENTS]);
	});

	it.each([
		["optout", "optout"],
		["Opt-Out", "Opt-Out"],
		["order placed", "order placed"],
		["Order Placed", "Order Placed"],
		["  Order   Placed ", "Order Placed"],
		["Unsubscribed", "Unsubscribed"],
	])("keeps the custom name %j as %j", (input, expected) => {
		expect(canonicalEventName(input)).toBe(expected);
	});
});

describe("isSystemEvent", () => {
	it("is true for the canonical names only", () => {
		for (const name of SYSTEM_EVENTS) expect(isSystemEvent(name)).toBe(true);
		expect(isSystemEvent("opt out")).toBe(false);
		expect(isSystemEvent("OPT OUT")).toBe(false);
		expect(isSystemEvent("Order Placed")).toBe(false);
	});
});
