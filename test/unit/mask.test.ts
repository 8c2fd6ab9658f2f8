import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePunycode, maskAddress, unicodeDomain } from "../../src/web/common/mask";

describe("maskAddress: the address a link is for, as its pages show it", () => {
	it.each([
		["an email", { email: "ann@example.de" }, "a•••@example.de"],
		["an IDN domain, shown in Unicode", { email: "ann@xn--bcher-kva.de" }, "a•••@bücher.de"],
		["an IDN subdomain and domain", { email: "jo@xn--mnchen-3ya.xn--bcher-kva.de" }, "j•••@münchen.bücher.de"],
		["a one-character local part: the same three dots", { email: "a@example.de" }, "a•••@example.de"],
		["a Unicode local part", { email: "émile@example.fr" }, "é•••@example.fr"],
		["a character outside the BMP stays whole", { email: "𝒜nna@example.com" }, "𝒜•••@example.com"],
		["a German mobile", { phone: "+4917612345678" }, "+49•••••78"],
		["a US number", { phone: "+12025550123" }, "+1•••••23"],
		["a Polish number", { phone: "+48601234512" }, "+48•••••12"],
		["a three-digit country code", { phone: "+352621123456" }, "+352•••••56"],
	])("%s", (_, address, expected) => {
		expect(maskAddress(address)).toBe(expected);
	});

	it("hides the length of what it hides", () => {
		expect(maskAddress({ email: "a@example.de" }).length).toBe(maskAddress({ email: "annabel@example.de" }).length);
		expect(maskAddress({ phone: "+4930123456" }).length).toBe(maskAddress({ phone: "+4917612345678" }).length);
	});

	it("never shows more of an email's local part than its first character", () => {
		fc.assert(
			fc.property(
				fc.string({ minLength: 2, maxLength: 30, unit: "grapheme-ascii" }).filter((local) => !local.includes("@")),
				(local) => {
					const masked = maskAddress({ email: `${local}@example.de` });
					expect(masked).toBe(`${local[0]}•••@example.de`);
				},
			),
		);
	});
});

describe("unicodeDomain: punycode (RFC 3492) decoded for display", () => {
	it("reads what the URL parser (UTS #46) writes, for any label", () => {
		const letters = [..."abcdefxyzäöüéèçñøåłśżźćńąęабвгдежзийклмн日本語中国한국어ελληνικά"];
		fc.assert(
			fc.property(fc.array(fc.constantFrom(...letters), { minLength: 1, maxLength: 20 }), (chars) => {
				const label = chars.join("");
				const ascii = new URL(`http://${label}.example/`).hostname;
				expect(unicodeDomain(ascii)).toBe(`${label.normalize("NFC")}.example`);
			}),
		);
	});

	it.each([
		["not punycode", "example.de", "example.de"],
		["an invalid digit", "xn--bcher-kv!.de", "xn--bcher-kv!.de"],
		["cut short", "xn--bcher-k.de", "xn--bcher-k.de"],
		["a right-to-left override it would decode to", "xn--ba-g4t.de", "xn--ba-g4t.de"],
	])("leaves a label that does not decode cleanly as it is: %s", (_, domain, expected) => {
		expect(unicodeDomain(domain)).toBe(expected);
	});

	it("decodes the RFC's own examples", () => {
		expect(decodePunycode("bcher-kva")).toBe("bücher");
		expect(decodePunycode("wgv71a119e")).toBe("日本語");
		expect(decodePunycode("")).toBe("");
	});
});
