/**
 * The address a link is for, as its pages show it: enough for the person to recognize it, too
 * little for anyone who sees the page to learn it. An email keeps the first character of its local
 * part and its domain (in Unicode: `ann@xn--bcher-kva.de` → `a•••@bücher.de`); a phone keeps its
 * country calling code and last two digits (`+4917612345678` → `+49•••••78`). The number of dots
 * is fixed, so the length of what is hidden shows nowhere.
 */
import { parsePhoneNumberFromString } from "libphonenumber-js/min";
import type { LinkTarget } from "../../contacts/link-target";

const HIDDEN_EMAIL = "•••";
const HIDDEN_PHONE = "•••••";

export type Address = { email: string } | { phone: string };

export function maskAddress(address: Address): string {
	return "email" in address ? maskEmail(address.email) : maskPhone(address.phone);
}

/**
 * The address the link is for, masked: the one its channel reaches (the phone for SMS and
 * WhatsApp, else the email), or the contact's other one. Never the externalId.
 */
export function maskedAddressOf(target: LinkTarget): string | null {
	const holder = target.contact ?? target.leadSubject;
	if (!holder) return null;
	const email = "email" in holder && holder.email ? { email: holder.email } : null;
	const phone = "phone" in holder && holder.phone ? { phone: holder.phone } : null;
	const channel = target.channel ?? target.topic?.channel ?? null;
	const address = channel === "sms" || channel === "whatsapp" ? (phone ?? email) : (email ?? phone);
	return address ? maskAddress(address) : null;
}

function maskEmail(email: string): string {
	const at = email.lastIndexOf("@");
	if (at < 1) return HIDDEN_EMAIL;
	const [first = ""] = Array.from(email.slice(0, at));
	return `${first}${HIDDEN_EMAIL}@${unicodeDomain(email.slice(at + 1))}`;
}

function maskPhone(phone: string): string {
	const digits = phone.replace(/\D/g, "");
	const countryCode = parsePhoneNumberFromString(phone)?.countryCallingCode ?? "";
	return `+${countryCode}${HIDDEN_PHONE}${digits.slice(-2)}`;
}

/** Control and format characters (bidirectional overrides among them) are never shown decoded. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** A domain as people write it: each `xn--` label decoded; a label that does not decode cleanly stays as it is. */
export function unicodeDomain(domain: string): string {
	return domain
		.split(".")
		.map((label) => {
			if (!/^xn--/i.test(label)) return label;
			const decoded = decodePunycode(label.slice(4).toLowerCase());
			return decoded && !UNSAFE.test(decoded) ? decoded : label;
		})
		.join(".");
}

// RFC 3492 (Punycode), decoding only: the parameters of section 5.
const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 0x80;
const MAX_CODE_POINT = 0x10ffff;

/** RFC 3492 section 6.1. */
function adapt(delta: number, points: number, first: boolean): number {
	let d = first ? Math.floor(delta / DAMP) : Math.floor(delta / 2);
	d += Math.floor(d / points);
	let k = 0;
	while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
		d = Math.floor(d / (BASE - T_MIN));
		k += BASE;
	}
	return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

function digitOf(code: number): number {
	if (code >= 0x30 && code <= 0x39) return code - 22; // 0-9 → 26-35
	if (code >= 0x61 && code <= 0x7a) return code - 0x61; // a-z → 0-25
	return -1;
}

/** RFC 3492 section 6.2: a label's Punycode (without `xn--`) as Unicode; null when it is not valid Punycode. */
export function decodePunycode(input: string): string | null {
	const output: number[] = [];
	const delimiter = input.lastIndexOf("-");
	for (let j = 0; j < Math.max(delimiter, 0); j++) {
		const code = input.charCodeAt(j);
		if (code >= 0x80) return null;
		output.push(code);
	}
	let n = INITIAL_N;
	let bias = INITIAL_BIAS;
	let i = 0;
	for (let index = delimiter > 0 ? delimiter + 1 : 0; index < input.length; ) {
		const before = i;
		let weight = 1;
		for (let k = BASE; ; k += BASE) {
			if (index >= input.length) return null;
			const digit = digitOf(input.charCodeAt(index++));
			if (digit < 0) return null;
			i += digit * weight;
			if (i > MAX_CODE_POINT * (output.length + 1)) return null;
			const threshold = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
			if (digit < threshold) break;
			weight *= BASE - threshold;
		}
		bias = adapt(i - before, output.length + 1, before === 0);
		n += Math.floor(i / (output.length + 1));
		if (n > MAX_CODE_POINT) return null;
		i %= output.length + 1;
		output.splice(i, 0, n);
		i++;
	}
	return String.fromCodePoint(...output);
}
