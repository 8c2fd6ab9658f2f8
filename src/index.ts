import { createApp } from "./app";
import type { Bindings } from "./env";

export { ContactActor } from "./contacts/contact-actor";
export { RateLimiter } from "./public/rate-limiter";

const app = createApp();

export default {
	fetch: app.fetch,
} satisfies ExportedHandler<Bindings>;
