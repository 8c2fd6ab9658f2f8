/**
 * One line of an import, read: its cells as a contact's identity and consent facts, or the reason
 * it cannot be (a line error, reported by line number; it never stops the other lines).
 */
import { normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import { type Channel, TOPIC_STATUSES, type TopicStatus } from "../consent/types";
import { unneutralizeFormula } from "../exports/csv";
import { type Column, columnFor, columnId, TOPIC_KEY } from "./columns";

export interface ParsedLine {
	line: number;
	externalId: string | null;
	email: string | null;
	phone: string | null;
	/** As the line gives it; null: the import's default. */
	businessUnit: string | null;
	timestamp: string | null;
	optedOut: Array<{ channel: Channel | null; value: boolean }>;
	bounced: Channel[];
	blocked: boolean | null;
	topics: Array<{ key: string; status: TopicStatus }>;
}

export class LineFailure extends Error {
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message);
	}
}

/** A line that names no one and says nothing yet. */
export function blankLine(line: number): ParsedLine {
	return {
		line,
		externalId: null,
		email: null,
		phone: null,
		businessUnit: null,
		timestamp: null,
		optedOut: [],
		bounced: [],
		blocked: null,
		topics: [],
	};
}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, "1": true, "0": false, yes: true, no: false };

/** A cell or JSON value as text; null for empty. Undoes the export's formula neutralization. */
function textOf(value: unknown, name: string): string | null {
	if (value === null || value === undefined) return null;
	if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
	if (typeof value === "boolean") return String(value);
	if (typeof value !== "string") throw new LineFailure("invalid_value", `${name}: expected a string`);
	const text = unneutralizeFormula(value.trim());
	if (text.includes("\uFFFD")) throw new LineFailure("invalid_encoding", `${name}: not UTF-8 (save the file as UTF-8)`);
	return text === "" ? null : text;
}

function booleanOf(value: unknown, name: string): boolean | null {
	if (typeof value === "boolean") return value;
	const text = textOf(value, name);
	if (text === null) return null;
	const parsed = BOOLEANS[text.toLowerCase()];
	if (parsed === undefined) throw new LineFailure("invalid_boolean", `${name}: "${text}" is not true or false`);
	return parsed;
}

/** ISO 8601 with offset, a date-time without one (UTC), a date, or Unix seconds. */
export function parseTimestamp(text: string): string | null {
	let time: number;
	if (/^\d{9,11}$/.test(text)) time = Number(text) * 1000;
	else if (/^\d{4}-\d{2}-\d{2}$/.test(text)) time = Date.parse(`${text}T00:00:00Z`);
	else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/i.test(text))
		time = Date.parse(`${text.replace(" ", "T")}Z`);
	else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.test(text)) {
		time = Date.parse(text.replace(" ", "T"));
	} else return null;
	if (Number.isNaN(time) || time < Date.UTC(1990, 0, 1)) return null;
	return new Date(time).toISOString();
}

/** `countryOf`: the ISO country of the line's business unit (null: the import's), for national phone numbers. */
export function parseLine(
	line: number,
	cells: ReadonlyArray<readonly [Column, unknown]>,
	countryOf: (businessUnit: string | null) => string | undefined = () => undefined,
): ParsedLine {
	let phoneText: string | null = null;
	const parsed = blankLine(line);
	for (const [column, value] of cells) {
		switch (column.kind) {
			case "ignored":
				break;
			case "externalId": {
				const text = textOf(value, "externalId");
				if (text !== null && (text.length > 256 || /[\p{Cc}\p{Cf}]/u.test(text))) {
					throw new LineFailure("invalid_external_id", "externalId: at most 256 characters, no control characters");
				}
				parsed.externalId = text;
				break;
			}
			case "email": {
				const text = textOf(value, "email");
				if (text === null) break;
				parsed.email = normalizeEmail(text);
				if (!parsed.email) throw new LineFailure("invalid_email", `email: "${text}" is not a valid email address`);
				break;
			}
			case "phone":
				// Read once the line's business unit is known (its column may come later).
				phoneText = textOf(value, "phone");
				break;
			case "businessUnit": {
				const text = textOf(value, "businessUnit");
				if (text === null) break;
				parsed.businessUnit = normalizeBusinessUnit(text);
				if (!parsed.businessUnit) {
					throw new LineFailure(
						"invalid_business_unit",
						`businessUnit: "${text}" (letters, digits, _ and -, at most 64)`,
					);
				}
				break;
			}
			case "timestamp": {
				const text = textOf(value, "timestamp");
				if (text === null) break;
				parsed.timestamp = parseTimestamp(text);
				if (!parsed.timestamp) {
					throw new LineFailure("invalid_timestamp", `timestamp: "${text}" is not ISO 8601 or Unix seconds`);
				}
				break;
			}
			case "blocked":
				parsed.blocked = booleanOf(value, "blocked");
				break;
			case "optedOut": {
				const name = column.channel ? `optedOut:${column.channel}` : "optedOut";
				const flag = booleanOf(value, name);
				if (flag !== null) parsed.optedOut.push({ channel: column.channel, value: flag });
				break;
			}
			case "bounced": {
				// true records a hard bounce; false leaves the flag alone (clearing a bounce is an
				// explicit Opt In with clearBounce through POST /v1/events).
				if (booleanOf(value, `bounced:${column.channel}`)) parsed.bounced.push(column.channel);
				break;
			}
			case "topic": {
				const text = textOf(value, `topic:${column.key}`);
				if (text === null) break;
				const status = text.toLowerCase() as TopicStatus;
				if (!TOPIC_STATUSES.includes(status)) {
					throw new LineFailure(
						"invalid_topic_status",
						`topic:${column.key}: "${text}" is not subscribed, unsubscribed or pending`,
					);
				}
				parsed.topics.push({ key: column.key, status });
				break;
			}
		}
	}
	if (phoneText !== null) {
		const country = countryOf(parsed.businessUnit);
		parsed.phone = normalizePhone(phoneText, country);
		if (!parsed.phone) {
			const national = country ? `, or national for ${country}` : "";
			throw new LineFailure("invalid_phone", `phone: "${phoneText}" is not a valid phone number (E.164${national})`);
		}
	}
	if (!parsed.externalId && !parsed.email && !parsed.phone) {
		throw new LineFailure("missing_identity", "the line names no externalId, email or phone");
	}
	return parsed;
}

/** One NDJSON line as column/value pairs; `topics: {key: status}` is the same as `topic:<key>` fields. */
export function ndjsonCells(text: string, unknownColumns: "reject" | "ignore"): Array<readonly [Column, unknown]> {
	let object: unknown;
	try {
		object = JSON.parse(text);
	} catch {
		throw new LineFailure("malformed_json", "the line is not valid JSON");
	}
	if (typeof object !== "object" || object === null || Array.isArray(object)) {
		throw new LineFailure("malformed_json", "the line is not a JSON object");
	}
	const cells: Array<readonly [Column, unknown]> = [];
	for (const [name, value] of Object.entries(object)) {
		if (name === "topics" && value !== null) {
			if (typeof value !== "object" || Array.isArray(value)) {
				throw new LineFailure("invalid_value", "topics: expected an object of topic key to status");
			}
			for (const [key, status] of Object.entries(value)) {
				if (!TOPIC_KEY.test(key)) throw new LineFailure("unknown_topic", `topics: "${key}" is not a topic key`);
				cells.push([{ kind: "topic", key }, status]);
			}
			continue;
		}
		const column = columnFor(name);
		if (column) cells.push([column, value]);
		else if (unknownColumns === "reject") throw new LineFailure("unknown_field", `unknown field "${name}"`);
	}
	const seen = new Set<string>();
	for (const [column] of cells) {
		const id = columnId(column);
		if (seen.has(id)) throw new LineFailure("duplicate_field", `the line gives ${id} twice`);
		seen.add(id);
	}
	return cells;
}
