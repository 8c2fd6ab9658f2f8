import { describe, expect, it } from "vitest";
import {
	LOCALE_NAMES,
	LOCALES,
	type Locale,
	localeOf,
	MESSAGES,
	type MessageKey,
	pickLocale,
	translator,
} from "../../src/web/common/i18n";

const english = MESSAGES.en;
const keys = Object.keys(english).sort() as MessageKey[];
const translated = LOCALES.filter((locale) => locale !== "en");

/**
 * The values each language may share with English, and no others: names of services and
 * abbreviations every one of these languages writes the same way. Exact: a key listed here that
 * is translated after all fails too, so the list stays short and true.
 */
const SAME_AS_ENGLISH: Record<Exclude<Locale, "en">, MessageKey[]> = {
	de: ["channel.sms", "channel.whatsapp"],
	fr: ["channel.sms", "channel.whatsapp"],
	es: ["channel.sms", "channel.whatsapp"],
	it: ["channel.sms", "channel.whatsapp"],
	// Dutch writes "sms" as a word ("Sms").
	nl: ["channel.whatsapp"],
	pl: ["channel.sms", "channel.whatsapp"],
};

const placeholders = (text: string) => [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]))].sort();

describe("the message catalogue", () => {
	it.each(translated)("%s has every key of the English catalogue, and no other", (locale) => {
		expect(Object.keys(MESSAGES[locale]).sort()).toEqual(keys);
	});

	it.each(translated)("%s translates every message (but for its short list of shared words)", (locale) => {
		const same = keys.filter((key) => MESSAGES[locale][key] === english[key]);
		expect(same).toEqual([...SAME_AS_ENGLISH[locale as Exclude<Locale, "en">]].sort());
	});

	it.each(LOCALES)("%s uses the same placeholders as English in every message", (locale) => {
		for (const key of keys) {
			expect(placeholders(MESSAGES[locale][key]), `${locale} ${key}`).toEqual(placeholders(english[key]));
		}
	});

	it.each(LOCALES)("%s has no empty message and no stray whitespace", (locale) => {
		for (const key of keys) {
			const value = MESSAGES[locale][key];
			expect(value.trim(), `${locale} ${key}`).toBe(value);
			expect(value.length, `${locale} ${key}`).toBeGreaterThan(0);
			expect(value, `${locale} ${key}`).not.toMatch(/ {2}/);
		}
	});

	it("names every language in itself, for the switch", () => {
		expect(Object.keys(LOCALE_NAMES).sort()).toEqual([...LOCALES].sort());
		expect(new Set(Object.values(LOCALE_NAMES)).size).toBe(LOCALES.length);
	});

	it("fills placeholders, and leaves an unknown one visible", () => {
		const t = translator("fr");
		expect(t("unsub.scope.channel", { messages: "e-mails" })).toBe("Vous ne recevrez plus nos e-mails.");
		expect(t("page.for")).toBe("Ce lien concerne l’adresse {address}.");
	});
});

describe("pickLocale", () => {
	const units = { de: "de", at: "de-AT", be: "nl", broken: "xx" };

	it.each([
		["the switch's choice first", "de", "fr-FR", "pl", "pl"],
		["then the business unit's locale", "de", "fr-FR", null, "de"],
		["a regional tag in the setting", "at", "fr", null, "de"],
		["an unknown language in the setting falls through", "broken", "es", null, "es"],
		["an unknown choice is ignored", "be", "fr", "xx", "nl"],
		["Accept-Language by q-value", null, "en;q=0.5, it;q=0.9, fr;q=0.7", null, "it"],
		["a region's language", null, "pl-PL,pl;q=0.9", null, "pl"],
		["languages the pages do not speak are skipped", null, "ja, zh-CN;q=0.9, nl;q=0.1", null, "nl"],
		["q=0 means not this language", null, "fr;q=0, es;q=0.2", null, "es"],
		["equal q-values keep the header's order", null, "it;q=0.8, es;q=0.8", null, "it"],
		["a wildcard is no language", null, "*", null, "en"],
		["a malformed q-value counts as none", null, "de;q=abc, fr", null, "fr"],
		["nothing at all: English", null, undefined, null, "en"],
	])("%s", (_, unit, header, chosen, expected) => {
		expect(pickLocale(unit, header, units, chosen)).toBe(expected);
	});

	it("reads a language tag's primary subtag", () => {
		expect(localeOf("DE-ch")).toBe("de");
		expect(localeOf("nl_BE")).toBe("nl");
		expect(localeOf("english")).toBeNull();
		expect(localeOf(null)).toBeNull();
	});
});
