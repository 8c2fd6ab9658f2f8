import { createApp } from "./app";
import type { Bindings } from "./env";
import { receiveUnsubscribeMail } from "./mail/unsubscribe-mail";
import { handleQueue, type QueueMessage } from "./queues";

export { ContactActor } from "./contacts/contact-actor";
export { ExportWorkflow } from "./jobs/export-job";
export { ImportWorkflow } from "./jobs/import-job";
export { RateLimiter } from "./web/common/rate-limiter";

const app = createApp();

export default {
	fetch: app.fetch,
	queue: (batch, env) => handleQueue(batch, env),
	// Cloudflare Email Routing: mail to the LIST_UNSUBSCRIBE_MAILTO address (src/mail/unsubscribe-mail.ts).
	async email(message, env) {
		await receiveUnsubscribeMail(message, env);
	},
} satisfies ExportedHandler<Bindings, QueueMessage>;
