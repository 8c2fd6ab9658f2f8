/**
 * The English catalogue: the source of the message keys. Every other locale is typed `Messages`,
 * so a key added here is a type error in each of them until it is translated there too, and a key
 * that exists only there is one as well. Group keys by page (`unsub.`, `prefs.`, …): a new page
 * adds its own prefix.
 *
 * `{name}` is a placeholder; every translation must use the same ones (test/unit/messages.test.ts).
 */
export const en = {
	"page.footer": "This page does not use cookies or tracking.",
	"page.for": "This link is for {address}.",
	"lang.label": "Language",
	quote: "“{text}”",
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
	"selfService.title": "Your data",
	"selfService.intro": "You can download a copy of the data we hold about you, or ask us to erase it.",
	"selfService.download": "Download my data",
	"selfService.erase": "Erase my data",
	"selfService.none": "We hold no personal data for this link.",
	"selfService.confirm.title": "Erase your data?",
	"selfService.confirm.what":
		"If you continue, we erase the personal data we hold about you: your email address, phone number and profile, your subscriptions, and the personal details in the record of your consent choices, such as IP addresses and comments.",
	"selfService.confirm.record":
		"The record of your choices itself stays as proof of what happened, without anything that identifies you.",
	"selfService.confirm.suppression":
		"If you have unsubscribed, your address stays on our suppression list, stored only as an irreversible code, so that we do not send you marketing messages again.",
	"selfService.confirm.final": "Erasure cannot be undone. If you want a copy of your data, download it first.",
	"selfService.confirm.submit": "Yes, erase my data",
	"selfService.confirm.cancel": "No, keep my data",
	"selfService.erased.title": "Your data has been erased",
	"selfService.erased.text": "We have erased the personal data we held for this link.",
	"selfService.erased.suppressed":
		"So that you do not receive marketing messages from us again, your address stays on our suppression list, stored only as an irreversible code.",
	"selfService.nothing.title": "Nothing to erase",
	"selfService.nothing.text": "If you asked for erasure before, it has already been carried out.",
	"selfService.refused.title": "This request was refused",
	"selfService.refused.text":
		"For your protection, your data can only be erased from the confirmation page on this site. Please open the link from your message again.",
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
	"signup.turnstile.title": "Please confirm you are human",
	"signup.turnstile.body":
		"The check that keeps bots away from this form did not succeed. Please go back, wait for the check to finish, and send the form again.",
	"signup.turnstile.unavailable":
		"The check that keeps bots away from this form is not available right now. Please try again in a few minutes.",
};

export type MessageKey = keyof typeof en;
/** A locale's catalogue: every key of the English one, and no other. */
export type Messages = Readonly<Record<MessageKey, string>>;
