/** Recipients and link scopes the package's tests and the service's test/node share. */
import type * as Package from "../src/index";
import type { LinkClaims } from "../src/token";

/** Recipients as senders name them, and the subject the token must carry. */
export const CASES: Array<[Package.Recipient, LinkClaims["subject"]]> = [
	[
		{ email: " Ann@Example.DE ", businessUnit: "DE" },
		{ email: "ann@example.de", businessUnit: "de" },
	],
	[{ email: "bob@example.com" }, { email: "bob@example.com", businessUnit: "default" }],
	[
		{ email: "jörg.müller@example.de", businessUnit: "at" },
		{ email: "jörg.müller@example.de", businessUnit: "at" },
	],
	[
		{ phone: "+49 (0)176 1234-5678", businessUnit: "de" },
		{ phone: "+4917612345678", businessUnit: "de" },
	],
	[{ externalId: "customer-4711" }, { externalId: "customer-4711" }],
	[{ externalId: 'quote " back \\ kündin ✓ 𝄞' }, { externalId: 'quote " back \\ kündin ✓ 𝄞' }],
	[{ contactId: "01JD5Z6Y8Q3W2E1R0T9Y8U7I6O" }, { contactId: "01JD5Z6Y8Q3W2E1R0T9Y8U7I6O" }],
];
export const SCOPES: Array<Omit<Package.LinkOptions, "issuedAt">> = [
	{},
	{ channel: "email" },
	{ topic: "newsletter-kids" },
	{ channel: "sms", topic: "alerts.v2", campaign: 'Sommer ✓ 2026 "quoted"' },
	{ campaign: "nov-2026" },
];
