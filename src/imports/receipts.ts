/**
 * Import receipts: what lets a file be imported again without reading its contacts.
 *
 * When a line leaves an existing contact as it was (or creates it), and the reducer says the line
 * is `settled` (importLineEvents: no event, and none left out for being older), the import keeps a
 * receipt for the contact: a hash of the line with the import's settings, and the contact's
 * version. The next time the same line comes, in the same unit, under the same settings and topic
 * definitions, and the contact still has that version and every identifier the line names, the
 * line is unchanged without a lookup or a reducer run: the contact row is exactly the one the line
 * was settled against (every update raises the version by one), the identifiers are unique, so the
 * line names no other contact, and a settled line stays settled at any later time.
 *
 * The hash is not a secret and need not be: a collision needs two different lines for the same
 * contact at the same version with equal 64-bit hashes, and the sender writes both lines.
 */
import type { TopicDefinition } from "../consent/types";
import type { ParsedLine } from "./lines";

/** The settings a line's outcome depends on besides the line and the contact. */
export interface ReceiptSettings {
	channel: string | null;
	optedOut: boolean | null;
	topics: ReadonlyMap<string, TopicDefinition>;
}

/** The part of every line's hash that is the import's: its settings and the topic definitions, hashed once. */
export function receiptPrefix(settings: ReceiptSettings): string {
	const topics = [...settings.topics.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
	return hash64(JSON.stringify([settings.channel, settings.optedOut, topics]));
}

/** The receipt hash of a line in its business unit (the line's own or the import's default). */
export function lineReceipt(prefix: string, line: ParsedLine, businessUnit: string): string {
	// Every text with its length before it: no two different lines read the same.
	const field = (text: string | null) => (text === null ? "-" : `${text.length}:${text}`);
	let text = `${prefix}${field(businessUnit)}${field(line.externalId)}${field(line.email)}${field(line.phone)}${field(line.timestamp)}`;
	for (const { channel, value } of line.optedOut) text += `o${channel ?? "*"}${value ? 1 : 0}`;
	for (const channel of line.bounced) text += `b${channel}`;
	text += line.blocked === null ? "k-" : line.blocked ? "k1" : "k0";
	for (const { key, status } of line.topics) text += `t${field(key)}${status}`;
	return hash64(text);
}

/**
 * 64 bits as 16 hex digits: two 32-bit multiplicative lanes over the UTF-16 code units, each
 * finished by an avalanche step so that every input bit reaches every output bit.
 */
function hash64(text: string): string {
	let a = 0x811c9dc5;
	let b = 0x9e3779b9;
	for (let i = 0; i < text.length; i++) {
		const unit = text.charCodeAt(i);
		a = Math.imul(a ^ unit, 0x01000193);
		b = Math.imul(b ^ unit, 0x5bd1e995);
		b ^= b >>> 15;
	}
	return hex32(avalanche(a ^ Math.imul(text.length, 0x27d4eb2d))) + hex32(avalanche(b + a));
}

function avalanche(value: number): number {
	let h = value;
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
	return (h ^ (h >>> 16)) >>> 0;
}

const hex32 = (value: number) => value.toString(16).padStart(8, "0");
