import { createApp } from "./app";
import type { Bindings } from "./env";
import { handleQueue, type QueueMessage } from "./queues";

export { ContactActor } from "./contacts/contact-actor";
export { ExportWorkflow } from "./jobs/export-job";
export { ImportWorkflow } from "./jobs/import-job";
export { RateLimiter } from "./web/common/rate-limiter";

const app = createApp();

export default {
	fetch: app.fetch,
	queue: (batch, env) => handleQueue(batch, env),
} satisfies ExportedHandler<Bindings, QueueMessage>;
