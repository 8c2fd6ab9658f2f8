import { createApp } from "./app";
import type { Bindings } from "./env";

export { ContactActor } from "./contacts/contact-actor";

const app = createApp();

export default {
	fetch: app.fetch,
} satisfies ExportedHandler<Bindings>;
