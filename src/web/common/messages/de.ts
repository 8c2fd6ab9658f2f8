import type { Messages } from "./en";

/** German, addressing the reader with "Sie". */
export const de: Messages = {
	"page.footer": "Diese Seite verwendet keine Cookies und kein Tracking.",
	"page.for": "Dieser Link gilt für {address}.",
	"lang.label": "Sprache",
	quote: "„{text}“",
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
	"selfService.title": "Ihre Daten",
	"selfService.intro":
		"Sie können eine Kopie der Daten herunterladen, die wir über Sie gespeichert haben, oder deren Löschung verlangen.",
	"selfService.download": "Meine Daten herunterladen",
	"selfService.erase": "Meine Daten löschen",
	"selfService.none": "Zu diesem Link haben wir keine personenbezogenen Daten gespeichert.",
	"selfService.confirm.title": "Ihre Daten löschen?",
	"selfService.confirm.what":
		"Wenn Sie fortfahren, löschen wir die personenbezogenen Daten, die wir über Sie gespeichert haben: Ihre E-Mail-Adresse, Telefonnummer und Ihr Profil, Ihre Abonnements sowie die persönlichen Angaben im Protokoll Ihrer Einwilligungen, etwa IP-Adressen und Kommentare.",
	"selfService.confirm.record":
		"Das Protokoll Ihrer Entscheidungen selbst bleibt als Nachweis erhalten, aber ohne Angaben, an denen man Sie erkennen kann.",
	"selfService.confirm.suppression":
		"Wenn Sie sich abgemeldet haben, bleibt Ihre Adresse auf unserer Sperrliste, nur als nicht umkehrbarer Code gespeichert, damit wir Ihnen keine Werbung mehr senden.",
	"selfService.confirm.final":
		"Die Löschung kann nicht rückgängig gemacht werden. Wenn Sie eine Kopie Ihrer Daten möchten, laden Sie sie vorher herunter.",
	"selfService.confirm.submit": "Ja, meine Daten löschen",
	"selfService.confirm.cancel": "Nein, meine Daten behalten",
	"selfService.erased.title": "Ihre Daten wurden gelöscht",
	"selfService.erased.text":
		"Wir haben die personenbezogenen Daten gelöscht, die wir zu diesem Link gespeichert hatten.",
	"selfService.erased.suppressed":
		"Damit Sie keine Werbung mehr von uns erhalten, bleibt Ihre Adresse auf unserer Sperrliste, nur als nicht umkehrbarer Code gespeichert.",
	"selfService.nothing.title": "Nichts zu löschen",
	"selfService.nothing.text": "Falls Sie die Löschung schon einmal verlangt haben, wurde sie bereits durchgeführt.",
	"selfService.refused.title": "Diese Anfrage wurde abgelehnt",
	"selfService.refused.text":
		"Zu Ihrem Schutz können Ihre Daten nur über die Bestätigungsseite auf dieser Website gelöscht werden. Bitte öffnen Sie den Link aus Ihrer Nachricht erneut.",
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
	"signup.turnstile.title": "Bitte bestätigen Sie, dass Sie ein Mensch sind",
	"signup.turnstile.body":
		"Die Prüfung, die Bots von diesem Formular fernhält, ist nicht gelungen. Bitte gehen Sie zurück, warten Sie, bis die Prüfung abgeschlossen ist, und senden Sie das Formular erneut.",
	"signup.turnstile.unavailable":
		"Die Prüfung, die Bots von diesem Formular fernhält, ist gerade nicht erreichbar. Bitte versuchen Sie es in ein paar Minuten erneut.",
};
