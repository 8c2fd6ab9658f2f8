/**
 * Email, phone and business-unit normalization: the service's rules (src/consent/normalize.ts
 * re-exports these), so a link made offline names a recipient exactly as the service stores it.
 *
 * No dependencies, no number-plan knowledge: phones are only tidied up (blanks, brackets, a "(0)",
 * a leading 00) and checked to be E.164. The service may parse phones more strictly on top of this
 * (isE164Phone is the check it keeps sharing); the package must stay dependency-free.
 */

export const DEFAULT_BUSINESS_UNIT = "default";

// Deliberately simple: one @, no spaces, a dot in the domain. Full RFC 5322 accepts addresses
// no mailbox provider delivers to; stricter checks belong to the sender's own validation.
const EMAIL_PATTERN = /^[^\s@"(),:;<>[\]\\]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

/**
 * Characters that do not show, or that turn text around (zero-width spaces and joiners, bidi
 * overrides and isolates, soft hyphens): an address with one looks like another one. Refused,
 * never silently removed.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** An IDN domain in its ASCII (punycode) form; null when it is not a valid host name. */
function asciiDomain(domain: string): string | null {
	if (/^[\x21-\x7e]*$/.test(domain)) return domain;
	try {
		// The URL parser applies IDNA (UTS #46): the same mapping browsers and mail servers use.
		return new URL(`http://${domain}/`).hostname;
	} catch {
		return null;
	}
}

/**
 * Trimmed, Unicode compatibility forms folded (NFKC: fullwidth letters become ASCII), lower-cased,
 * and the domain in ASCII (an IDN as punycode), so that look-alike spellings of one address are
 * one contact. Null when it is not an email address.
 */
export function normalizeEmail(input: string): string | null {
	const trimmed = input.trim();
	if (INVISIBLE.test(trimmed)) return null;
	const folded = trimmed.normalize("NFKC").toLowerCase();
	const at = folded.lastIndexOf("@");
	if (at < 1) return null;
	const local = folded.slice(0, at);
	const domain = asciiDomain(folded.slice(at + 1));
	if (!domain) return null;
	const email = `${local}@${domain}`;
	if (email.length > 254 || !EMAIL_PATTERN.test(email)) return null;
	if (local.length > 64 || local.startsWith(".") || local.endsWith(".") || local.includes("..")) return null;
	return email;
}

/** E.164 as stored: a plus, no leading zero, 7 to 15 digits (`+4917612345678`). */
export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

/** Whether the text already is a phone number in E.164, as the service stores it (no tidying up). */
export function isE164Phone(phone: string): boolean {
	return E164_PATTERN.test(phone);
}

/** E.164 (`+4917612345678`); spaces, dots, dashes, brackets, a "(0)" after the country code and a leading 00 are accepted. */
export function normalizePhone(input: string): string | null {
	// "+49 (0)176 …" writes the national trunk 0 next to the country code; E.164 drops it.
	if (INVISIBLE.test(input.trim())) return null;
	let phone = input
		.trim()
		.normalize("NFKC")
		.replace(/^(\+\d{1,3})\s*\(0\)/, "$1")
		.replace(/[\s().-]/g, "");
	if (phone.startsWith("00")) phone = `+${phone.slice(2)}`;
	return isE164Phone(phone) ? phone : null;
}

export const BUSINESS_UNIT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function normalizeBusinessUnit(input: string | null | undefined): string | null {
	if (input === undefined || input === null || input === "") return DEFAULT_BUSINESS_UNIT;
	const unit = input.trim().toLowerCase();
	return BUSINESS_UNIT_PATTERN.test(unit) ? unit : null;
}
