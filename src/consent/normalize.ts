// Email and business-unit normalization is the offline link signer's code (packages/links),
// so links senders make offline name recipients as the service stores them. One source: re-exported.
// Phones are the worker's own (libphonenumber-js, below); the package keeps its dependency-free
// E.164 check.
import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from "libphonenumber-js/min";
import { normalizeEmail } from "../../packages/links/src/normalize";
import { type Channel, SYSTEM_EVENTS, type SystemEventName } from "./types";

export {
	BUSINESS_UNIT_PATTERN,
	DEFAULT_BUSINESS_UNIT,
	normalizeBusinessUnit,
	normalizeEmail,
} from "../../packages/links/src/normalize";

/**
 * Characters that do not show, or that turn text around (zero-width spaces and joiners, bidi
 * overrides and isolates, soft hyphens): a number with one looks like another one. Refused.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
/** What a written phone number may hold: digits, blanks, brackets, dots, dashes, one leading plus. */
const PHONE_CHARACTERS = /^\+?[0-9\s().-]+$/;

/** E.164 of a number libphonenumber-js finds valid, else null. */
function validE164(text: string, country?: CountryCode): string | null {
	const phone = parsePhoneNumberFromString(text, country ? { defaultCountry: country } : undefined);
	return phone?.isValid() ? phone.number : null;
}

/**
 * E.164 (`+4917612345678`), checked against the numbering plan of its country with
 * libphonenumber-js's `min` metadata: the country calling code must exist and the length be one the
 * plan allows. (`max` would also check the digits against each plan's number ranges: about 65 kB
 * more, and it refuses numbers of ranges its metadata does not know yet; a consent service must
 * not drop the opt-out of a real number for that.)
 *
 * Written internationally: a leading + or 00; blanks, dots, dashes, brackets and a "(0)" after the
 * country code are accepted. Written nationally ("0176 12345678"): only with `country` (ISO 3166-1
 * alpha-2, the business unit's from BUSINESS_UNIT_COUNTRIES); digits that also read as another
 * valid international number without its plus ("4917612345678" for DE) are refused, not guessed.
 * Fullwidth digits are folded (NFKC); letters (vanity numbers, "ext.") and invisible characters
 * are refused.
 */
export function normalizePhone(input: string, country?: string | null): string | null {
	const trimmed = input.trim();
	if (INVISIBLE.test(trimmed)) return null;
	const text = trimmed.normalize("NFKC");
	if (!PHONE_CHARACTERS.test(text)) return null;
	if (text.startsWith("+")) return validE164(text);
	if (text.startsWith("00")) return validE164(`+${text.slice(2)}`);
	const region = country?.toUpperCase();
	if (!region || !isSupportedCountry(region)) return null;
	const national = validE164(text, region);
	if (!national) return null;
	const international = validE164(`+${text.replace(/\D/g, "")}`);
	return international === null || international === national ? national : null;
}

/** Email or phone, told apart by the @. Used where a path takes either (the blocklist). */
export function normalizeAddress(input: string): { kind: "email" | "phone"; value: string } | null {
	if (input.includes("@")) {
		const value = normalizeEmail(input);
		return value ? { kind: "email", value } : null;
	}
	const value = normalizePhone(input);
	return value ? { kind: "phone", value } : null;
}

const systemEventsByLowerName = new Map<string, SystemEventName>(
	SYSTEM_EVENTS.map((name) => [name.toLowerCase(), name]),
);

/** System event names match ignoring case (and surrounding blanks); others are custom. */
export function canonicalEventName(input: string): string {
	const name = input.trim().replace(/\s+/g, " ");
	return systemEventsByLowerName.get(name.toLowerCase()) ?? name;
}

/**
 * Names other tools give a system event. `mail.unsubscribe` is what an ESP reports when a person
 * used its own unsubscribe link or the mailbox's unsubscribe button, and what marketing platforms
 * pass on under that name: an opt-out of email. Kept as a custom event it would be recorded and
 * change nothing, and the person would be mailed again.
 */
const EVENT_ALIASES = new Map<string, { event: SystemEventName; channel: Channel }>([
	["mail.unsubscribe", { event: "Opt Out", channel: "email" }],
]);

/** An incoming event's canonical name, and its channel: an alias names its own. */
export function canonicalEvent(name: string, channel: Channel | null): { event: string; channel: Channel | null } {
	const alias = EVENT_ALIASES.get(name.trim().toLowerCase());
	return alias ? { ...alias } : { event: canonicalEventName(name), channel };
}

export function isSystemEvent(name: string): name is SystemEventName {
	return systemEventsByLowerName.has(name.toLowerCase()) && systemEventsByLowerName.get(name.toLowerCase()) === name;
}
