/** Import receipt hashes (src/imports/receipts.ts) tell lines, units and import settings apart. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blankLine, type ParsedLine } from "../../src/imports/lines";
import { lineReceipt, receiptPrefix } from "../../src/imports/receipts";
import { importLineFacts } from "../consent-arbitraries";
import { TEST_TOPICS } from "../topics";

const topics = new Map(TEST_TOPICS.map((topic) => [topic.key, topic]));
const prefix = receiptPrefix({ channel: null, optedOut: null, topics });

const parsed: fc.Arbitrary<ParsedLine> = fc
	.tuple(
		fc.nat(),
		fc.option(fc.string({ maxLength: 6 })),
		fc.option(fc.string({ maxLength: 6 })),
		fc.option(fc.string({ maxLength: 6 })),
		importLineFacts,
	)
	// The unit is hashed as resolved (the line's own or the import's default): given apart.
	.map(([line, externalId, email, phone, facts]) => ({ line, externalId, email, phone, businessUnit: null, ...facts }));

/** What a line says, without its number. */
const content = (line: ParsedLine) => JSON.stringify({ ...line, line: 0 });

describe("property: receipt hashes", () => {
	it("a line hashes alike whatever its line number, and lines that say something else differently", () => {
		fc.assert(
			fc.property(parsed, parsed, fc.nat(), (a, b, number) => {
				expect(lineReceipt(prefix, { ...a, line: number }, "de")).toBe(lineReceipt(prefix, a, "de"));
				expect(lineReceipt(prefix, a, "at")).not.toBe(lineReceipt(prefix, a, "de"));
				if (content(a) !== content(b)) expect(lineReceipt(prefix, a, "de")).not.toBe(lineReceipt(prefix, b, "de"));
			}),
			{ numRuns: 3000 },
		);
	});

	it("texts that run into each other hash apart", () => {
		const line = (email: string, phone: string): ParsedLine => ({ ...blankLine(1), email, phone });
		expect(lineReceipt(prefix, line("ab", "c"), "de")).not.toBe(lineReceipt(prefix, line("a", "bc"), "de"));
	});

	it("the import's settings and topic definitions are part of every hash", () => {
		const others = [
			receiptPrefix({ channel: "email", optedOut: null, topics }),
			receiptPrefix({ channel: null, optedOut: true, topics }),
			receiptPrefix({ channel: null, optedOut: false, topics }),
			receiptPrefix({
				channel: null,
				optedOut: null,
				topics: new Map([...topics].map(([key, topic]) => [key, { ...topic, doubleOptIn: !topic.doubleOptIn }])),
			}),
		];
		fc.assert(
			fc.property(parsed, (line) => {
				for (const other of others) expect(lineReceipt(other, line, "de")).not.toBe(lineReceipt(prefix, line, "de"));
			}),
			{ numRuns: 200 },
		);
	});
});
