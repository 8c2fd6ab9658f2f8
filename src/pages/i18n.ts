/**
 * Page strings in English and German. The locale comes from the business unit's setting
 * (BUSINESS_UNIT_LOCALES, e.g. {"de": "de", "at": "de"}) or else from Accept-Language.
 * Add a key to both languages at once: the `Messages` type makes a missing translation a type error.
 */
export const LOCALES = ["en", "de"] as const;
export type Locale = (typeof LOCALES)[number];

const en = {
	"page.title": "Subscription settings",
	"page.footer": "This page does not use cookies or tracking.",
	"error.title": "This link does not work",
	"error.invalid": "The link is incomplete or was changed. Please use the link from your most recent message.",
	"error.expired": "This link has expired. Please sign up again to get a new confirmation link.",
	"error.notFound": "We could not find what this link points to.",
	"error.rateLimited": "Too many requests. Please try again in a few minutes.",
	"error.generic": "Something went wrong on our side. Nothing was changed; please try again later.",
};

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

const de: Messages = {
	"page.title": "Abonnement-Einstellungen",
	"page.footer": "Diese Seite verwendet keine Cookies und kein Tracking.",
	"error.title": "Dieser Link funktioniert nicht",
	"error.invalid":
		"Der Link ist unvollständig oder wurde verändert. Bitte verwenden Sie den Link aus Ihrer neuesten Nachricht.",
	"error.expired":
		"Dieser Link ist abgelaufen. Bitte melden Sie sich erneut an, um einen neuen Bestätigungslink zu erhalten.",
	"error.notFound": "Wir konnten nicht finden, worauf dieser Link verweist.",
	"error.rateLimited": "Zu viele Anfragen. Bitte versuchen Sie es in einigen Minuten erneut.",
	"error.generic": "Bei uns ist etwas schiefgelaufen. Es wurde nichts geändert; bitte versuchen Sie es später erneut.",
};

const MESSAGES: Record<Locale, Messages> = { en, de };

export type Translate = (key: MessageKey, values?: Record<string, string>) => string;

/** `t("key", {name: "x"})` replaces `{name}` in the message. */
export function translator(locale: Locale): Translate {
	const messages = MESSAGES[locale];
	return (key, values) => messages[key].replace(/\{(\w+)\}/g, (_, name: string) => values?.[name] ?? `{${name}}`);
}

/** Picks the locale: the business unit's setting first, then the best Accept-Language match, then English. */
export function pickLocale(
	businessUnit: string | null,
	acceptLanguage: string | null | undefined,
	businessUnitLocales: Record<string, string>,
): Locale {
	const configured = businessUnit ? businessUnitLocales[businessUnit] : undefined;
	if (configured && (LOCALES as readonly string[]).includes(configured)) return configured as Locale;
	const ranked = (acceptLanguage ?? "")
		.split(",")
		.map((part) => {
			const [tag = "", ...params] = part.trim().split(";");
			const q = params.find((p) => p.trim().startsWith("q="));
			return { language: tag.trim().toLowerCase().split("-")[0] ?? "", q: q ? Number(q.trim().slice(2)) || 0 : 1 };
		})
		.filter((entry) => entry.language && entry.q > 0)
		.sort((a, b) => b.q - a.q);
	const match = ranked.find((entry) => (LOCALES as readonly string[]).includes(entry.language));
	return (match?.language as Locale | undefined) ?? "en";
}
