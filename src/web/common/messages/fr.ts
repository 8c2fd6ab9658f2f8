import type { Messages } from "./en";

/**
 * French, addressing the reader with "vous". `\u00a0` is the no-break space French typography puts
 * before « : ; ? ! » and inside guillemets.
 */
export const fr: Messages = {
	"page.footer": "Cette page n’utilise ni cookies ni outils de suivi.",
	"page.for": "Ce lien concerne l’adresse {address}.",
	"lang.label": "Langue",
	quote: "«\u00a0{text}\u00a0»",
	"error.title": "Ce lien ne fonctionne pas",
	"error.invalid":
		"Le lien est incomplet ou a été modifié. Veuillez utiliser le lien figurant dans votre message le plus récent.",
	"error.expired": "Ce lien a expiré. Veuillez vous inscrire à nouveau pour recevoir un nouveau lien de confirmation.",
	"error.notFound": "Nous n’avons pas trouvé ce vers quoi pointe ce lien.",
	"error.rateLimited": "Trop de demandes. Veuillez réessayer dans quelques minutes.",
	"error.generic": "Un problème est survenu de notre côté. Rien n’a été modifié\u00a0; veuillez réessayer plus tard.",
	"nav.preferences": "Gérer tous vos abonnements",
	"channel.email": "E-mail",
	"channel.sms": "SMS",
	"channel.whatsapp": "WhatsApp",
	"channel.push": "Notifications push",
	"channelMessages.email": "e-mails",
	"channelMessages.sms": "SMS",
	"channelMessages.whatsapp": "messages WhatsApp",
	"channelMessages.push": "notifications push",
	"unsub.title": "Se désabonner",
	"unsub.scope.topic": "Vous ne recevrez plus «\u00a0{topic}\u00a0».",
	"unsub.scope.channel": "Vous ne recevrez plus nos {messages}.",
	"unsub.scope.all": "Vous ne recevrez plus aucun message de notre part, quel que soit le canal.",
	"unsub.already": "Votre désabonnement est déjà enregistré.",
	"unsub.reason.legend": "Pourquoi vous désabonnez-vous\u00a0? (facultatif)",
	"unsub.reason.too_many": "Je reçois trop de messages",
	"unsub.reason.not_relevant": "Le contenu ne m’intéresse pas",
	"unsub.reason.never_signed_up": "Je n’ai jamais demandé à m’inscrire",
	"unsub.reason.other": "Une autre raison",
	"unsub.comment": "Souhaitez-vous nous dire autre chose\u00a0? (facultatif)",
	"unsub.submit": "Se désabonner",
	"unsub.done.title": "Votre désabonnement est enregistré",
	"unsub.done.unchanged": "Votre désabonnement était déjà enregistré\u00a0: rien n’a changé.",
	"unsub.undo.text": "Désabonnement par erreur\u00a0?",
	"unsub.undo.submit": "Annuler le désabonnement",
	"unsub.undone.title": "Votre abonnement est rétabli",
	"unsub.undone.text": "Votre désabonnement a été annulé.",
	"prefs.title": "Vos abonnements",
	"prefs.intro": "Choisissez ce que vous souhaitez recevoir de notre part.",
	"prefs.pending": "en attente de votre confirmation",
	"prefs.channelPaused":
		"Vous ne recevez actuellement pas nos {messages}\u00a0: les thèmes ci-dessous sont donc en pause.",
	"prefs.stopChannel": "Ne plus recevoir nos {messages}",
	"prefs.save": "Enregistrer mes choix",
	"prefs.unsubscribeAll": "Se désabonner de tout",
	"prefs.unsubscribeAllChannel": "Se désabonner de nos {messages}",
	"prefs.saved": "Vos choix ont été enregistrés.",
	"prefs.savedOthers": "Vos autres choix ont été enregistrés.",
	"prefs.conflict":
		"Vous avez coché {topics}, mais «\u00a0Ne plus recevoir nos {messages}\u00a0» est également coché\u00a0: vous ne le recevriez donc pas. Pour le recevoir, décochez «\u00a0Ne plus recevoir nos {messages}\u00a0» et enregistrez à nouveau.",
	"prefs.conflictNote": "non enregistré\u00a0: vous ne recevez plus nos {messages}",
	"prefs.unsubscribedAll": "Votre désabonnement de tous nos envois est enregistré.",
	"prefs.unsubscribedAllChannel": "Vous ne recevrez plus nos {messages}.",
	"selfService.title": "Vos données",
	"selfService.intro":
		"Vous pouvez télécharger une copie des données que nous conservons à votre sujet, ou nous demander de les effacer.",
	"selfService.download": "Télécharger mes données",
	"selfService.erase": "Effacer mes données",
	"selfService.none": "Nous ne conservons aucune donnée personnelle pour ce lien.",
	"selfService.confirm.title": "Effacer vos données\u00a0?",
	"selfService.confirm.what":
		"Si vous continuez, nous effaçons les données personnelles que nous conservons à votre sujet\u00a0: votre adresse e-mail, votre numéro de téléphone et votre profil, vos abonnements, ainsi que les informations personnelles du registre de vos choix de consentement, comme les adresses IP et les commentaires.",
	"selfService.confirm.record":
		"Le registre de vos choix est conservé comme preuve de ce qui s’est passé, sans rien qui permette de vous identifier.",
	"selfService.confirm.suppression":
		"Si vous avez demandé à ne plus recevoir nos messages, votre adresse reste sur notre liste d’exclusion, conservée uniquement sous forme de code irréversible, afin que nous ne vous envoyions plus de messages marketing.",
	"selfService.confirm.final":
		"L’effacement est définitif. Si vous souhaitez une copie de vos données, téléchargez-la d’abord.",
	"selfService.confirm.submit": "Oui, effacer mes données",
	"selfService.confirm.cancel": "Non, conserver mes données",
	"selfService.erased.title": "Vos données ont été effacées",
	"selfService.erased.text": "Nous avons effacé les données personnelles que nous conservions pour ce lien.",
	"selfService.erased.suppressed":
		"Afin que vous ne receviez plus de messages marketing de notre part, votre adresse reste sur notre liste d’exclusion, conservée uniquement sous forme de code irréversible.",
	"selfService.nothing.title": "Rien à effacer",
	"selfService.nothing.text": "Si vous avez déjà demandé l’effacement, il a déjà été effectué.",
	"selfService.refused.title": "Cette demande a été refusée",
	"selfService.refused.text":
		"Pour votre protection, vos données ne peuvent être effacées que depuis la page de confirmation de ce site. Veuillez rouvrir le lien de votre message.",
	"confirm.title": "Confirmez votre abonnement",
	"confirm.text": "Veuillez confirmer que vous souhaitez recevoir\u00a0:",
	"confirm.submit": "Confirmer l’abonnement",
	"confirm.ignore":
		"Si vous n’avez pas demandé cette inscription, ignorez simplement cette page\u00a0: rien ne se passe sans votre confirmation.",
	"confirm.nothing": "Rien n’attend votre confirmation.",
	"confirm.already": "Votre abonnement est déjà confirmé.",
	"confirm.done.title": "Votre abonnement est confirmé",
	"confirm.done.text": "Merci\u00a0! Vous recevrez désormais\u00a0:",
	"signup.accepted.title": "Veuillez consulter votre boîte de réception",
	"signup.accepted.body":
		"Merci pour votre inscription. Si votre abonnement doit être confirmé, vous recevrez dans les prochaines minutes un e-mail contenant un lien de confirmation. Veuillez l’ouvrir pour finaliser votre inscription.",
	"signup.accepted.hint":
		"Vous n’avez rien reçu\u00a0? Pensez à vérifier votre dossier de courrier indésirable. Le lien de confirmation est valable {days}\u00a0jours.",
	"signup.invalid.title": "Votre inscription n’a pas pu aboutir",
	"signup.invalid.email": "Veuillez vérifier l’adresse e-mail et réessayer.",
	"signup.invalid.topicsMissing": "Veuillez choisir au moins un abonnement.",
	"signup.invalid.form":
		"Ce formulaire d’inscription n’est pas correctement configuré (il mentionne un abonnement ou un domaine qui n’existe pas). Veuillez en informer l’exploitant du site.",
	"signup.rateLimited.title": "Trop de tentatives",
	"signup.forbidden.title": "Ce formulaire ne peut pas être utilisé ici",
	"signup.forbidden.body":
		"Ce formulaire d’inscription n’est pas autorisé à envoyer des inscriptions à ce service. Veuillez en informer l’exploitant du site.",
	"signup.back": "Retour au site",
	"signup.turnstile.title": "Veuillez confirmer que vous êtes humain",
	"signup.turnstile.body":
		"La vérification qui protège ce formulaire des robots a échoué. Revenez en arrière, attendez la fin de la vérification, puis renvoyez le formulaire.",
	"signup.turnstile.unavailable":
		"La vérification qui protège ce formulaire des robots est indisponible pour le moment. Veuillez réessayer dans quelques minutes.",
};
