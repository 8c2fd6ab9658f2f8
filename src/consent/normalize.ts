import { SYSTEM_EVENTS, type SystemEventName } from "./types";

export const DEFAULT_BUSINESS_UNIT = "default";

// Deliberately simple: one @, no spaces, a dot in the domain. Full RFC 5322 accepts addresses
// no mailbox provider delivers to; stricter checks belong to the sender's own validation.
const EMAIL_PATTERN = /^[^\s@"(),:;<>[\]\\]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

/** Trimmed and lower-cased, or null when it is not an email address. */
export function normalizeEmail(input: string): string | null {
	const email = input.trim().toLowerCase();
	if (email.length > 254 || !EMAIL_PATTERN.test(email)) return null;
	const local = email.slice(0, email.lastIndexOf("@"));
	if (local.length > 64 || local.startsWith(".") || local.endsWith(".") || local.includes("..")) return null;
	return email;
}

/** E.164 (`+4917612345678`); spaces, dots, dashes, brackets, a "(0)" after the country code and a leading 00 are accepted. */
export function normalizePhone(input: string): string | null {
	// "+49 (0)176 …" writes the national trunk 0 next to the country code; E.164 drops it.
	let phone = input
		.trim()
		.replace(/^(\+\d{1,3})\s*\(0\)/, "$1")
		.replace(/[\s().-]/g, "");
	if (phone.startsWith("00")) phone = `+${phone.slice(2)}`;
	return /^\+[1-9]\d{6,14}$/.test(phone) ? phone : null;
}

export const BUSINESS_UNIT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function normalizeBusinessUnit(input: string | null | undefined): string | null {
	if (input === undefined || input === null || input === "") return DEFAULT_BUSINESS_UNIT;
	const unit = input.trim().toLowerCase();
	return BUSINESS_UNIT_PATTERN.test(unit) ? unit : null;
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

/** SPEC §2: system event names match ignoring case (and surrounding blanks); others are custom. */
export function canonicalEventName(input: string): string {
	const name = input.trim().replace(/\s+/g, " ");
	return systemEventsByLowerName.get(name.toLowerCase()) ?? name;
}

export function isSystemEvent(name: string): name is SystemEventName {
	return systemEventsByLowerName.has(name.toLowerCase()) && systemEventsByLowerName.get(name.toLowerCase()) === name;
}
