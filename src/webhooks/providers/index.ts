import type { Provider, ProviderName } from "../provider";
import { mailgun } from "./mailgun";
import { mailjet } from "./mailjet";
import { mandrill } from "./mandrill";
import { postmark } from "./postmark";
import { sendgrid } from "./sendgrid";
import { ses } from "./ses";
import { twilio } from "./twilio";

/** Every provider by its path segment in /webhooks/{provider}. */
export const PROVIDERS: Record<ProviderName, Provider> = {
	sendgrid,
	mailgun,
	mailjet,
	mandrill,
	postmark,
	ses,
	twilio,
};
