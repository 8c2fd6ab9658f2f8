import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeTraits } from "../../src/consent/traits";

const key = fc.constantFrom("a", "b", "c", "newsletterKids", "newsletterPets", "__proto__x", "tier");
const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.dictionary(fc.string(), fc.string()));
const traits = fc.dictionary(key, value);
const update = fc.dictionary(key, fc.option(value, { nil: null }));

describe("mergeTraits", () => {
	it("sets the keys given, removes those given as null, keeps the rest, and never changes its inputs", () => {
		fc.assert(
			fc.property(traits, update, (current, changes) => {
				const before = structuredClone(current);
				const merged = mergeTraits(current, changes);
				expect(current).toEqual(before);
				for (const [k, v] of Object.entries(changes)) {
					if (v === null) expect(k in merged).toBe(false);
					else expect(merged[k]).toEqual(v);
				}
				for (const [k, v] of Object.entries(current)) {
					if (!(k in changes)) expect(merged[k]).toEqual(v);
				}
				const expectedKeys = new Set([
					...Object.keys(current).filter((k) => changes[k] !== null),
					...Object.entries(changes)
						.filter(([, v]) => v !== null)
						.map(([k]) => k),
				]);
				expect(new Set(Object.keys(merged))).toEqual(expectedKeys);
			}),
		);
	});

	it("is idempotent: the same update twice is the update once", () => {
		fc.assert(
			fc.property(traits, update, (current, changes) => {
				const once = mergeTraits(current, changes);
				expect(mergeTraits(once, changes)).toEqual(once);
			}),
		);
	});
});
