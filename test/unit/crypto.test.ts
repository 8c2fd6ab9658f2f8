/** The encodings and secret comparisons of src/crypto.ts, against independent definitions. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { digestMatches, hexEncode, secretsEqual, sha256, sha256Hex } from "../../src/crypto";

describe("crypto helpers", () => {
	it("hexEncode writes every byte as two lower-case hex digits, in order", () => {
		fc.assert(
			fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
				const expected = [...bytes].map((byte) => (byte < 16 ? "0" : "") + byte.toString(16)).join("");
				expect(hexEncode(bytes)).toBe(expected);
			}),
		);
		expect(hexEncode(new Uint8Array([0, 9, 10, 15, 16, 255]))).toBe("00090a0f10ff");
	});

	it("sha256Hex is the SHA-256 known answer; digestMatches and secretsEqual tell equal secrets from others", async () => {
		expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		await fc.assert(
			fc.asyncProperty(fc.string(), fc.string(), async (given, expected) => {
				const equal = given === expected;
				expect(await secretsEqual(given, expected)).toBe(equal);
				expect(await digestMatches(await sha256(given), expected)).toBe(equal);
				expect(await secretsEqual(expected, expected)).toBe(true);
			}),
			{ numRuns: 200 },
		);
	});
});
