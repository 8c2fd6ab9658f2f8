/**
 * Properties of an import line's events (importLineEvents): a line imported a second time changes
 * nothing, and a line `settled` on a state stays settled on it however much later it comes again
 * (what import receipts rest on, src/imports/receipts.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { importLineEvents } from "../../src/consent/import-lines";
import { CHANNELS, type Channel, type ConsentState } from "../../src/consent/types";
import {
	arrive,
	blockEvent,
	bounceEvent,
	contradictsItself,
	importLineFacts,
	minutes,
	preferenceEvent,
} from "../consent-arbitraries";
import { TEST_TOPICS } from "../topics";

const topics = new Map(TEST_TOPICS.map((topic) => [topic.key, topic]));

/** A contact's state: events of any kind at times within the first 100 minutes, in any arrival order. */
const state: fc.Arbitrary<ConsentState> = fc
	.array(fc.tuple(fc.oneof(preferenceEvent, preferenceEvent, bounceEvent, blockEvent), fc.nat(100)), { maxLength: 10 })
	.map((drawn) => arrive(drawn.map(([event, minute]) => ({ ...event, occurredAt: minutes(minute) }))));

const defaults = fc.record({
	channel: fc.option(fc.constantFrom<Channel>(...CHANNELS)),
	optedOut: fc.option(fc.boolean()),
});

describe("property: a settled line stays settled", () => {
	it("a line settled on a state at one time changes nothing on that state at any later time", () => {
		let settledCases = 0;
		fc.assert(
			fc.property(
				state,
				importLineFacts,
				defaults,
				fc.integer({ min: 100, max: 200 }),
				fc.nat(1000),
				(start, line, settings, first, later) => {
					const scope = { businessUnit: "de", topics };
					const at = (minute: number) => ({ ...settings, receivedAt: minutes(minute) });
					const applied = importLineEvents(line, start, scope, at(first));
					if ("problem" in applied) return;
					// On the state as it was, and on the state the line made (settled more often).
					for (const on of [start, applied.state]) {
						const now = importLineEvents(line, on, scope, at(first));
						if ("problem" in now || !now.settled) continue;
						settledCases++;
						const again = importLineEvents(line, on, scope, at(first + later));
						expect("problem" in again ? again.problem : again.events).toEqual([]);
					}
				},
			),
			{ numRuns: 3000 },
		);
		// The property must have been tried on a good share of settled lines.
		expect(settledCases).toBeGreaterThan(1000);
	});

	// Lines newer than the contact's state (no timestamp: they happen as they arrive). An older line
	// is planned without the contact's history; its actor replays it in time order.
	it("a line imported a second time changes nothing, unless it subscribes to a topic of a channel it opts out of", () => {
		let tried = 0;
		fc.assert(
			fc.property(state, importLineFacts, defaults, (start, drawn, settings) => {
				const line = { ...drawn, timestamp: null };
				if (contradictsItself(line, settings)) return;
				tried++;
				const scope = { businessUnit: "de", topics };
				const options = { ...settings, receivedAt: minutes(200) };
				const applied = importLineEvents(line, start, scope, options);
				if ("problem" in applied) return;
				const again = importLineEvents(line, applied.state, scope, options);
				if ("problem" in again) throw new Error(again.problem.message);
				expect(again.events).toEqual([]);
			}),
			{ numRuns: 1000 },
		);
		expect(tried).toBeGreaterThan(500);
	});
});
