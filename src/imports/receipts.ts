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
 * contact at the same version with equal 53-bit hashes, and the sender writes both lines.
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
export function receiptPrefix(settings: ReceiptSettings): number {
	const topics = [...settings.topics.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
	const hash = new Hash64();
	hash.text(JSON.stringify([settings.channel, settings.optedOut, topics]));
	return hash.value();
}

/** The receipt hash of a line in its business unit (the line's own or the import's default). */
export function lineReceipt(prefix: number, line: ParsedLine, businessUnit: string): number {
	// Every text goes in with its length first (null as -1): no two different lines read the same.
	const hash = new Hash64();
	hash.number(prefix % 2 ** 26);
	hash.number(Math.floor(prefix / 2 ** 26));
	hash.text(businessUnit);
	hash.text(line.externalId);
	hash.text(line.email);
	hash.text(line.phone);
	hash.text(line.timestamp);
	for (const { channel, value } of line.optedOut) {
		hash.text(channel);
		hash.number(value ? 1 : 0);
	}
	hash.number(-2);
	for (const channel of line.bounced) hash.text(channel);
	hash.number(-2);
	hash.number(line.blocked === null ? -1 : line.blocked ? 1 : 0);
	for (const { key, status } of line.topics) {
		hash.text(key);
		hash.text(status);
	}
	return hash.value();
}

/**
 * 53 bits: two 32-bit multiplicative lanes over the UTF-16 code units and the numbers given, each
 * finished by an avalanche step so that every input bit reaches every output bit.
 */
class Hash64 {
	#a = 0x811c9dc5;
	#b = 0x9e3779b9;
	#length = 0;

	number(value: number) {
		this.#a = Math.imul(this.#a ^ (value & 0xffff), 0x01000193);
		this.#b = Math.imul(this.#b ^ (value >>> 16), 0x5bd1e995);
		this.#b ^= this.#b >>> 15;
		this.#length++;
	}

	text(text: string | null) {
		if (text === null) {
			this.number(-1);
			return;
		}
		this.number(text.length);
		let a = this.#a;
		let b = this.#b;
		for (let i = 0; i < text.length; i++) {
			const unit = text.charCodeAt(i);
			a = Math.imul(a ^ unit, 0x01000193);
			b = Math.imul(b ^ unit, 0x5bd1e995);
			b ^= b >>> 15;
		}
		this.#a = a;
		this.#b = b;
		this.#length += text.length;
	}

	/** The two lanes' 53 bits as one safe integer (exact in JSON and as an SQLite integer). */
	value(): number {
		const a = this.#a;
		const high = avalanche(a ^ Math.imul(this.#length, 0x27d4eb2d));
		const low = avalanche(this.#b + a);
		return high * 2 ** 21 + (low >>> 11);
	}
}

function avalanche(value: number): number {
	let h = value;
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
	return (h ^ (h >>> 16)) >>> 0;
}
