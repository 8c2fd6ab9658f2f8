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
	"nav.preferences": "Manage all your subscriptions",
	"channel.email": "Email",
	"channel.sms": "SMS",
	"channel.whatsapp": "WhatsApp",
	"channel.push": "Push notifications",
	"channelMessages.email": "emails",
	"channelMessages.sms": "text messages (SMS)",
	"channelMessages.whatsapp": "WhatsApp messages",
	"channelMessages.push": "push notifications",
	"unsub.title": "Unsubscribe",
	"unsub.scope.topic": "You will no longer receive “{topic}”.",
	"unsub.scope.channel": "You will no longer receive any {messages} from us.",
	"unsub.scope.all": "You will no longer receive any messages from us, on any channel.",
	"unsub.already": "You are already unsubscribed.",
	"unsub.reason.legend": "Why are you unsubscribing? (optional)",
	"unsub.reason.too_many": "I get too many messages",
	"unsub.reason.not_relevant": "The content is not relevant to me",
	"unsub.reason.never_signed_up": "I never signed up",
	"unsub.reason.other": "Another reason",
	"unsub.comment": "Anything else you want to tell us? (optional)",
	"unsub.submit": "Unsubscribe",
	"unsub.done.title": "You are unsubscribed",
	"unsub.done.unchanged": "You were already unsubscribed, so nothing changed.",
	"unsub.undo.text": "Unsubscribed by mistake?",
	"unsub.undo.submit": "Undo and stay subscribed",
	"unsub.undone.title": "You are subscribed again",
	"unsub.undone.text": "Your unsubscribe has been undone.",
	"unsub.oneClick": "You have been unsubscribed.",
	"prefs.title": "Your subscriptions",
	"prefs.intro": "Choose what you want to receive from us.",
	"prefs.pending": "awaiting your confirmation",
	"prefs.channelPaused": "You currently receive no {messages}, so the topics below are paused.",
	"prefs.stopChannel": "Stop all {messages}",
	"prefs.save": "Save choices",
	"prefs.unsubscribeAll": "Unsubscribe from everything",
	"prefs.unsubscribeAllChannel": "Unsubscribe from all {messages}",
	"prefs.saved": "Your choices have been saved.",
	"prefs.savedOthers": "Your other choices have been saved.",
	"prefs.conflict":
		"You ticked {topics}, but “Stop all {messages}” is ticked too, so you would not receive it. To receive it, untick “Stop all {messages}” and save again.",
	"prefs.conflictNote": "not saved: all {messages} are stopped",
	"prefs.unsubscribedAll": "You have been unsubscribed from everything.",
	"prefs.unsubscribedAllChannel": "You have been unsubscribed from all {messages}.",
	"confirm.title": "Confirm your subscription",
	"confirm.text": "Please confirm that you want to receive:",
	"confirm.submit": "Confirm subscription",
	"confirm.ignore": "If you did not sign up, simply ignore this page: nothing happens without your confirmation.",
	"confirm.nothing": "There is nothing waiting for your confirmation.",
	"confirm.already": "Your subscription is already confirmed.",
	"confirm.done.title": "Your subscription is confirmed",
	"confirm.done.text": "Thank you! You will now receive:",
	"signup.accepted.title": "Please check your inbox",
	"signup.accepted.body":
		"Thank you for signing up. If your subscription needs to be confirmed, you will receive an email with a confirmation link in the next few minutes. Please open it to complete your sign-up.",
	"signup.accepted.hint":
		"Nothing arrived? Please look in your spam folder. The confirmation link is valid for {days} days.",
	"signup.invalid.title": "We could not sign you up",
	"signup.invalid.email": "Please check the email address and try again.",
	"signup.invalid.topicsMissing": "Please choose at least one subscription.",
	"signup.invalid.form":
		"This sign-up form is not set up correctly (it names a subscription or area that does not exist). Please let the website's operator know.",
	"signup.rateLimited.title": "Too many attempts",
	"signup.forbidden.title": "This form cannot be used here",
	"signup.forbidden.body":
		"This sign-up form is not allowed to send sign-ups to this service. Please let the website's operator know.",
	"signup.back": "Back to the website",
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
	"nav.preferences": "Alle Abonnements verwalten",
	"channel.email": "E-Mail",
	"channel.sms": "SMS",
	"channel.whatsapp": "WhatsApp",
	"channel.push": "Push-Benachrichtigungen",
	"channelMessages.email": "E-Mails",
	"channelMessages.sms": "SMS",
	"channelMessages.whatsapp": "WhatsApp-Nachrichten",
	"channelMessages.push": "Push-Benachrichtigungen",
	"unsub.title": "Abmelden",
	"unsub.scope.topic": "Sie erhalten „{topic}“ dann nicht mehr.",
	"unsub.scope.channel": "Sie erhalten dann keine {messages} mehr von uns.",
	"unsub.scope.all": "Sie erhalten dann keine Nachrichten mehr von uns, auf keinem Kanal.",
	"unsub.already": "Sie sind bereits abgemeldet.",
	"unsub.reason.legend": "Warum melden Sie sich ab? (optional)",
	"unsub.reason.too_many": "Ich bekomme zu viele Nachrichten",
	"unsub.reason.not_relevant": "Die Inhalte interessieren mich nicht",
	"unsub.reason.never_signed_up": "Ich habe mich nie angemeldet",
	"unsub.reason.other": "Ein anderer Grund",
	"unsub.comment": "Möchten Sie uns noch etwas mitteilen? (optional)",
	"unsub.submit": "Abmelden",
	"unsub.done.title": "Sie wurden abgemeldet",
	"unsub.done.unchanged": "Sie waren bereits abgemeldet, es hat sich nichts geändert.",
	"unsub.undo.text": "Versehentlich abgemeldet?",
	"unsub.undo.submit": "Rückgängig machen und angemeldet bleiben",
	"unsub.undone.title": "Sie sind wieder angemeldet",
	"unsub.undone.text": "Ihre Abmeldung wurde rückgängig gemacht.",
	"unsub.oneClick": "Sie wurden abgemeldet.",
	"prefs.title": "Ihre Abonnements",
	"prefs.intro": "Wählen Sie, was Sie von uns erhalten möchten.",
	"prefs.pending": "wartet auf Ihre Bestätigung",
	"prefs.channelPaused": "Sie erhalten derzeit keine {messages}, die Themen unten ruhen deshalb.",
	"prefs.stopChannel": "Keine {messages} mehr erhalten",
	"prefs.save": "Auswahl speichern",
	"prefs.unsubscribeAll": "Von allem abmelden",
	"prefs.unsubscribeAllChannel": "Von allen {messages} abmelden",
	"prefs.saved": "Ihre Auswahl wurde gespeichert.",
	"prefs.savedOthers": "Ihre übrige Auswahl wurde gespeichert.",
	"prefs.conflict":
		"Sie haben {topics} gewählt, aber „Keine {messages} mehr erhalten“ ist ebenfalls angekreuzt, daher würden Sie es nicht erhalten. Entfernen Sie dazu das Häkchen bei „Keine {messages} mehr erhalten“ und speichern Sie erneut.",
	"prefs.conflictNote": "nicht gespeichert: alle {messages} sind abbestellt",
	"prefs.unsubscribedAll": "Sie wurden von allem abgemeldet.",
	"prefs.unsubscribedAllChannel": "Sie wurden von allen {messages} abgemeldet.",
	"confirm.title": "Bestätigen Sie Ihr Abonnement",
	"confirm.text": "Bitte bestätigen Sie, dass Sie Folgendes erhalten möchten:",
	"confirm.submit": "Abonnement bestätigen",
	"confirm.ignore":
		"Wenn Sie sich nicht angemeldet haben, ignorieren Sie diese Seite einfach: Ohne Ihre Bestätigung passiert nichts.",
	"confirm.nothing": "Es wartet nichts auf Ihre Bestätigung.",
	"confirm.already": "Ihr Abonnement ist bereits bestätigt.",
	"confirm.done.title": "Ihr Abonnement ist bestätigt",
	"confirm.done.text": "Vielen Dank! Sie erhalten ab jetzt:",
	"signup.accepted.title": "Bitte sehen Sie in Ihr Postfach",
	"signup.accepted.body":
		"Vielen Dank für Ihre Anmeldung. Falls Ihr Abonnement bestätigt werden muss, erhalten Sie in den nächsten Minuten eine E-Mail mit einem Bestätigungslink. Bitte öffnen Sie ihn, um die Anmeldung abzuschließen.",
	"signup.accepted.hint":
		"Keine E-Mail erhalten? Bitte sehen Sie auch im Spam-Ordner nach. Der Bestätigungslink ist {days} Tage gültig.",
	"signup.invalid.title": "Die Anmeldung hat nicht geklappt",
	"signup.invalid.email": "Bitte prüfen Sie die E-Mail-Adresse und versuchen Sie es erneut.",
	"signup.invalid.topicsMissing": "Bitte wählen Sie mindestens ein Abonnement aus.",
	"signup.invalid.form":
		"Dieses Anmeldeformular ist nicht richtig eingerichtet (es nennt ein Abonnement oder einen Bereich, den es nicht gibt). Bitte informieren Sie den Betreiber der Website.",
	"signup.rateLimited.title": "Zu viele Versuche",
	"signup.forbidden.title": "Dieses Formular kann hier nicht verwendet werden",
	"signup.forbidden.body":
		"Dieses Anmeldeformular darf keine Anmeldungen an diesen Dienst senden. Bitte informieren Sie den Betreiber der Website.",
	"signup.back": "Zurück zur Website",
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
