import type { Messages } from "./en";

/**
 * Polish, addressing the reader as "Państwo" (the courteous form a company uses for a customer
 * whose gender it does not know) or impersonally. `{messages}` is in the genitive plural: every
 * sentence that takes it asks for that case (after a negation, "z", "wysyłka").
 */
export const pl: Messages = {
	"page.footer": "Ta strona nie używa plików cookie ani narzędzi śledzących.",
	"page.for": "Link przeznaczony dla {address}.",
	"lang.label": "Język",
	quote: "„{text}”",
	"error.title": "Ten link nie działa",
	"error.invalid": "Link jest niekompletny lub został zmieniony. Prosimy skorzystać z linku z najnowszej wiadomości.",
	"error.expired": "Ten link wygasł. Prosimy zapisać się ponownie, aby otrzymać nowy link potwierdzający.",
	"error.notFound": "Nie udało się znaleźć tego, do czego prowadzi ten link.",
	"error.rateLimited": "Zbyt wiele żądań. Prosimy spróbować ponownie za kilka minut.",
	"error.generic": "Wystąpił błąd po naszej stronie. Nic nie zostało zmienione; prosimy spróbować ponownie później.",
	"nav.preferences": "Zarządzaj wszystkimi subskrypcjami",
	"channel.email": "E-mail",
	"channel.sms": "SMS",
	"channel.whatsapp": "WhatsApp",
	"channel.push": "Powiadomienia push",
	"channelMessages.email": "e-maili",
	"channelMessages.sms": "SMS-ów",
	"channelMessages.whatsapp": "wiadomości WhatsApp",
	"channelMessages.push": "powiadomień push",
	"unsub.title": "Rezygnacja z subskrypcji",
	"unsub.scope.topic": "Wysyłka „{topic}” zostanie zatrzymana.",
	"unsub.scope.channel": "Nie będą Państwo już otrzymywać od nas {messages}.",
	"unsub.scope.all": "Nie będą Państwo już otrzymywać od nas żadnych wiadomości, żadnym kanałem.",
	"unsub.already": "Subskrypcja została już wcześniej anulowana.",
	"unsub.reason.legend": "Dlaczego rezygnują Państwo z subskrypcji? (opcjonalnie)",
	"unsub.reason.too_many": "Dostaję zbyt wiele wiadomości",
	"unsub.reason.not_relevant": "Te treści mnie nie interesują",
	"unsub.reason.never_signed_up": "Nigdy się nie zapisywałem/zapisywałam",
	"unsub.reason.other": "Inny powód",
	"unsub.comment": "Czy chcą nam Państwo coś jeszcze przekazać? (opcjonalnie)",
	"unsub.submit": "Zrezygnuj z subskrypcji",
	"unsub.done.title": "Subskrypcja została anulowana",
	"unsub.done.unchanged": "Subskrypcja była już anulowana, więc nic się nie zmieniło.",
	"unsub.undo.text": "Rezygnacja przez pomyłkę?",
	"unsub.undo.submit": "Cofnij i zachowaj subskrypcję",
	"unsub.undone.title": "Subskrypcja została przywrócona",
	"unsub.undone.text": "Rezygnacja z subskrypcji została cofnięta.",
	"prefs.title": "Państwa subskrypcje",
	"prefs.intro": "Prosimy wybrać, co chcą Państwo od nas otrzymywać.",
	"prefs.pending": "oczekuje na Państwa potwierdzenie",
	"prefs.channelPaused": "Obecnie nie otrzymują Państwo {messages}, dlatego poniższe tematy są wstrzymane.",
	"prefs.stopChannel": "Rezygnuję ze wszystkich {messages}",
	"prefs.save": "Zapisz wybór",
	"prefs.unsubscribeAll": "Zrezygnuj ze wszystkiego",
	"prefs.unsubscribeAllChannel": "Zrezygnuj ze wszystkich {messages}",
	"prefs.saved": "Państwa wybór został zapisany.",
	"prefs.savedOthers": "Pozostałe ustawienia zostały zapisane.",
	"prefs.conflict":
		"Zaznaczono {topics}, ale zaznaczone jest też pole „Rezygnuję ze wszystkich {messages}”, więc ta wysyłka i tak by do Państwa nie docierała. Aby ją otrzymywać, prosimy odznaczyć pole „Rezygnuję ze wszystkich {messages}” i zapisać ponownie.",
	"prefs.conflictNote": "nie zapisano: wysyłka {messages} jest wstrzymana",
	"prefs.unsubscribedAll": "Zrezygnowali Państwo ze wszystkich subskrypcji.",
	"prefs.unsubscribedAllChannel": "Zrezygnowali Państwo ze wszystkich {messages}.",
	"selfService.title": "Państwa dane",
	"selfService.intro":
		"Mogą Państwo pobrać kopię danych, które o Państwu przechowujemy, lub poprosić nas o ich usunięcie.",
	"selfService.download": "Pobierz moje dane",
	"selfService.erase": "Usuń moje dane",
	"selfService.none": "Nie przechowujemy żadnych danych osobowych powiązanych z tym linkiem.",
	"selfService.confirm.title": "Usunąć Państwa dane?",
	"selfService.confirm.what":
		"Jeśli Państwo kontynuują, usuniemy dane osobowe, które o Państwu przechowujemy: adres e-mail, numer telefonu i profil, subskrypcje oraz dane osobowe w rejestrze Państwa decyzji dotyczących zgód, takie jak adresy IP i komentarze.",
	"selfService.confirm.record":
		"Sam rejestr Państwa decyzji pozostaje jako dowód tego, co się wydarzyło, bez niczego, co pozwalałoby Państwa zidentyfikować.",
	"selfService.confirm.suppression":
		"Jeśli zrezygnowali Państwo z subskrypcji, Państwa adres pozostaje na naszej liście wykluczeń, zapisany wyłącznie jako nieodwracalny kod, abyśmy nie wysyłali Państwu więcej wiadomości marketingowych.",
	"selfService.confirm.final":
		"Usunięcia nie można cofnąć. Jeśli chcą Państwo otrzymać kopię swoich danych, prosimy najpierw ją pobrać.",
	"selfService.confirm.submit": "Tak, usuń moje dane",
	"selfService.confirm.cancel": "Nie, zachowaj moje dane",
	"selfService.erased.title": "Państwa dane zostały usunięte",
	"selfService.erased.text": "Usunęliśmy dane osobowe, które przechowywaliśmy w związku z tym linkiem.",
	"selfService.erased.suppressed":
		"Aby nie otrzymywali Państwo od nas więcej wiadomości marketingowych, Państwa adres pozostaje na naszej liście wykluczeń, zapisany wyłącznie jako nieodwracalny kod.",
	"selfService.nothing.title": "Nie ma nic do usunięcia",
	"selfService.nothing.text": "Jeśli prosili Państwo wcześniej o usunięcie danych, zostało ono już wykonane.",
	"selfService.refused.title": "To żądanie zostało odrzucone",
	"selfService.refused.text":
		"Dla Państwa bezpieczeństwa dane można usunąć wyłącznie na stronie potwierdzenia w tym serwisie. Prosimy ponownie otworzyć link z wiadomości.",
	"confirm.title": "Prosimy potwierdzić subskrypcję",
	"confirm.text": "Prosimy potwierdzić, że chcą Państwo otrzymywać:",
	"confirm.submit": "Potwierdź subskrypcję",
	"confirm.ignore":
		"Jeśli nie zapisywali się Państwo, prosimy zignorować tę stronę: bez Państwa potwierdzenia nic się nie wydarzy.",
	"confirm.nothing": "Nic nie oczekuje na Państwa potwierdzenie.",
	"confirm.already": "Subskrypcja jest już potwierdzona.",
	"confirm.done.title": "Subskrypcja została potwierdzona",
	"confirm.done.text": "Dziękujemy! Od teraz będą Państwo otrzymywać:",
	"signup.accepted.title": "Prosimy sprawdzić skrzynkę odbiorczą",
	"signup.accepted.body":
		"Dziękujemy za zapisanie się. Jeśli subskrypcja wymaga potwierdzenia, w ciągu kilku minut otrzymają Państwo e-mail z linkiem potwierdzającym. Prosimy go otworzyć, aby dokończyć zapis.",
	"signup.accepted.hint":
		"Nic nie dotarło? Prosimy sprawdzić folder spamu. Link potwierdzający jest ważny przez {days} dni.",
	"signup.invalid.title": "Nie udało się zapisać",
	"signup.invalid.email": "Prosimy sprawdzić adres e-mail i spróbować ponownie.",
	"signup.invalid.topicsMissing": "Prosimy wybrać co najmniej jedną subskrypcję.",
	"signup.invalid.form":
		"Ten formularz zapisu jest nieprawidłowo skonfigurowany (wskazuje subskrypcję lub obszar, który nie istnieje). Prosimy poinformować o tym operatora strony.",
	"signup.rateLimited.title": "Zbyt wiele prób",
	"signup.forbidden.title": "Tego formularza nie można tu użyć",
	"signup.forbidden.body":
		"Ten formularz zapisu nie może wysyłać zgłoszeń do tej usługi. Prosimy poinformować o tym operatora strony.",
	"signup.back": "Wróć do strony",
	"signup.turnstile.title": "Potwierdź, że jesteś człowiekiem",
	"signup.turnstile.body":
		"Weryfikacja, która chroni ten formularz przed botami, nie powiodła się. Wróć, poczekaj na zakończenie weryfikacji i wyślij formularz ponownie.",
	"signup.turnstile.unavailable":
		"Weryfikacja, która chroni ten formularz przed botami, jest teraz niedostępna. Spróbuj ponownie za kilka minut.",
};
