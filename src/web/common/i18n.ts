/**
 * The pages' languages. One catalogue per locale in ./messages/ (English is the source of the
 * keys; the `Messages` type makes a missing or extra key a type error, test/unit/messages.test.ts
 * checks placeholders and untranslated values). A new language: a file in ./messages/, an entry
 * in LOCALES, MESSAGES and LOCALE_NAMES, and its allowed English words in the test.
 */
import { de } from "./messages/de";
import { en, type MessageKey, type Messages } from "./messages/en";
import { es } from "./messages/es";
import { fr } from "./messages/fr";
import { it } from "./messages/it";
import { nl } from "./messages/nl";
import { pl } from "./messages/pl";

export type { MessageKey, Messages } from "./messages/en";

export const LOCALES = ["en", "de", "fr", "es", "it", "nl", "pl"] as const;
export type Locale = (typeof LOCALES)[number];

export const MESSAGES: Readonly<Record<Locale, Messages>> = { en, de, fr, es, it, nl, pl };

/** Each language's name in itself: what the language switch offers. */
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = {
	en: "English",
	de: "Deutsch",
	fr: "Français",
	es: "Español",
	it: "Italiano",
	nl: "Nederlands",
	pl: "Polski",
};

/** The locale a language tag names (`de-AT` → `de`), or null when the pages do not speak it. */
export function localeOf(tag: string | null | undefined): Locale | null {
	const language = (tag ?? "").trim().toLowerCase().split(/[-_]/)[0] ?? "";
	return (LOCALES as readonly string[]).includes(language) ? (language as Locale) : null;
}

export type Translate = (key: MessageKey, values?: Record<string, string>) => string;

/** `t("key", {name: "x"})` replaces `{name}` in the message. */
export function translator(locale: Locale): Translate {
	const messages = MESSAGES[locale];
	return (key, values) => messages[key].replace(/\{(\w+)\}/g, (_, name: string) => values?.[name] ?? `{${name}}`);
}

/** "a, b and c" as the language writes a list. */
export const formatList = (locale: Locale, items: string[]): string =>
	new Intl.ListFormat(locale, { style: "long", type: "conjunction" }).format(items);

export const formatNumber = (locale: Locale, value: number): string => new Intl.NumberFormat(locale).format(value);

/** Accept-Language's languages, best first: q-values respected, `q=0` and `*` left out, ties in header order. */
function acceptedLocales(header: string | null | undefined): Locale[] {
	return (header ?? "")
		.split(",")
		.map((part, index) => {
			const [tag = "", ...params] = part.trim().split(";");
			const q = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
			const weight = q === undefined ? 1 : Number(q.slice(2));
			return { locale: localeOf(tag), weight: Number.isFinite(weight) ? weight : 0, index };
		})
		.filter(
			(entry): entry is { locale: Locale; weight: number; index: number } => entry.locale !== null && entry.weight > 0,
		)
		.sort((a, b) => b.weight - a.weight || a.index - b.index)
		.map((entry) => entry.locale);
}

/**
 * Picks the locale: the one the person chose with the language switch (`?lang=`), then the
 * business unit's setting (BUSINESS_UNIT_LOCALES), then the best Accept-Language match, then English.
 */
export function pickLocale(
	businessUnit: string | null,
	acceptLanguage: string | null | undefined,
	businessUnitLocales: Record<string, string>,
	chosen?: string | null,
): Locale {
	return (
		localeOf(chosen) ??
		(businessUnit ? localeOf(businessUnitLocales[businessUnit]) : null) ??
		acceptedLocales(acceptLanguage)[0] ??
		"en"
	);
}
