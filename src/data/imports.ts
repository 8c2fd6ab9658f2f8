import { ConsentError, type ConsentErrorCode } from "../consent/errors";
import { planIdentity } from "../consent/identity";
import { importLineEvents } from "../consent/import-lines";
import { normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import {
	CHANNELS,
	type Channel,
	type ConsentEvent,
	type ConsentState,
	emptyConsentState,
	TOPIC_STATUSES,
	type TopicDefinition,
	type TopicStatus,
} from "../consent/types";
import type { EventContext } from "../contacts/contact-actor";
import { type IncomingEvent, type LinkBase, recordEvents } from "../contacts/record-events";
import { upsertLead, upsertUser } from "../contacts/upsert";
import { type Contact, findContactsNamedBy, findOrCreateLead, insertContact } from "../db/contacts";
import { findSuppressed } from "../db/suppressions";
import { loadTopics } from "../db/topics";
import { type Bindings, getConfig } from "../env";
import { sha256Hex } from "../http/auth";
import { ApiError } from "../http/errors";

import { unneutralizeFormula } from "./csv";
import { BodyTooLargeError, readCsv, readLines } from "./csv-reader";

export const MAX_IMPORT_BYTES = 50 * 1024 * 1024;
export const MAX_IMPORT_LINES = 100_000;
export const MAX_REPORTED_ERRORS = 1000;
/** Lines per batch: one round of lookups, then the writes of up to this many contacts. */
const BATCH_LINES = 250;
/** Contacts written at the same time (a Worker has 6 simultaneous connections). */
const WRITE_CONCURRENCY = 6;

export interface ImportOptions {
	format: "csv" | "ndjson";
	/** For lines without a businessUnit. */
	businessUnit: string;
	/** The channel the plain `optedOut` column means; null: every channel (an opt-out without channel). */
	channel: Channel | null;
	/** For lines without an optedOut value (e.g. a suppression list with only an email column). */
	optedOut: boolean | null;
	unknownColumns: "reject" | "ignore";
	/** The key's business units; null: all. */
	businessUnits: readonly string[] | null;
	context: EventContext;
	/** Origin of confirmation links (a `pending` double-opt-in topic is a Subscribe, which makes one). */
	linkBase: LinkBase;
	maxBytes?: number;
	maxLines?: number;
}

export interface LineError {
	line: number;
	error: string;
	message: string;
}

export interface ImportReport {
	/** Data lines read (blank lines are not counted). */
	processed: number;
	/** Lines that created a contact. */
	created: number;
	/** Lines that changed an existing contact (profile or consent). */
	updated: number;
	/** Lines whose contact already was as the line says. */
	unchanged: number;
	failed: number;
	/** The first MAX_REPORTED_ERRORS failed lines. */
	errors: LineError[];
	errorsTruncated: boolean;
}

/** The import ended early at a limit; the lines before `line` were applied (`report`). */
export class ImportLimitError extends Error {
	constructor(
		readonly limit: "bytes" | "lines",
		readonly line: number,
		readonly report: ImportReport,
	) {
		super(`import stopped at line ${line}: ${limit} limit`);
	}
}

// ---------------------------------------------------------------------------------------------
// Columns

export type Column =
	| { kind: "externalId" | "email" | "phone" | "businessUnit" | "timestamp" | "blocked" | "ignored" }
	| { kind: "optedOut"; channel: Channel | null }
	| { kind: "bounced"; channel: Channel }
	| { kind: "topic"; key: string };

const PLAIN_COLUMNS: Record<string, Column> = {
	externalid: { kind: "externalId" },
	email: { kind: "email" },
	// Mailchimp's audience exports call it so.
	"email address": { kind: "email" },
	phone: { kind: "phone" },
	businessunit: { kind: "businessUnit" },
	optedout: { kind: "optedOut", channel: null },
	blocked: { kind: "blocked" },
	timestamp: { kind: "timestamp" },
	// Columns of our own contacts.csv that an import does not set.
	id: { kind: "ignored" },
	createdat: { kind: "ignored" },
	updatedat: { kind: "ignored" },
};

const TOPIC_KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The column a header (or NDJSON key) names, matched ignoring case; null when unknown. */
export function columnFor(name: string): Column | null {
	const lower = name.trim().toLowerCase();
	const plain = PLAIN_COLUMNS[lower];
	if (plain) return plain;
	const match = /^(optedout|bounced|topic):(.+)$/.exec(lower);
	if (!match) return null;
	const [, kind, rest] = match as unknown as [string, string, string];
	if (kind === "topic") return TOPIC_KEY.test(rest) ? { kind: "topic", key: rest } : null;
	if (!(CHANNELS as readonly string[]).includes(rest)) return null;
	return kind === "optedout"
		? { kind: "optedOut", channel: rest as Channel }
		: { kind: "bounced", channel: rest as Channel };
}

const columnId = (column: Column): string =>
	"channel" in column
		? `${column.kind}:${column.channel ?? "*"}`
		: "key" in column
			? `topic:${column.key}`
			: column.kind;

// ---------------------------------------------------------------------------------------------
// Lines

interface ParsedLine {
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

class LineFailure extends Error {
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message);
	}
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
function parseLine(
	line: number,
	cells: ReadonlyArray<readonly [Column, unknown]>,
	countryOf: (businessUnit: string | null) => string | undefined = () => undefined,
): ParsedLine {
	let phoneText: string | null = null;
	const parsed: ParsedLine = {
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
function ndjsonCells(text: string, unknownColumns: "reject" | "ignore"): Array<readonly [Column, unknown]> {
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

/** The CSV header as columns (null: an unknown column to skip); a bad header is a 400 for the whole request. */
function headerColumns(
	fields: readonly string[],
	topics: ReadonlyMap<string, TopicDefinition>,
	unknownColumns: "reject" | "ignore",
): Array<Column | null> {
	const columns = fields.map(columnFor);
	const problems: Array<{ path: string; message: string }> = [];
	const seen = new Set<string>();
	columns.forEach((column, index) => {
		const name = fields[index] as string;
		const path = `header.${index + 1}`;
		if (!column) {
			if (unknownColumns === "reject") {
				problems.push({ path, message: name.trim() === "" ? "a column without a name" : `unknown column "${name}"` });
			}
			return;
		}
		const id = column.kind === "ignored" ? `ignored:${name.trim().toLowerCase()}` : columnId(column);
		if (seen.has(id)) problems.push({ path, message: `column "${name}" appears twice` });
		seen.add(id);
		if (column.kind === "topic" && !topics.has(column.key)) {
			problems.push({ path, message: `"${name}": there is no topic "${column.key}"` });
		}
	});
	if (!columns.some((column) => column && ["externalId", "email", "phone"].includes(column.kind))) {
		problems.push({ path: "header", message: "the header names none of externalId, email, phone" });
	}
	if (problems.length > 0) {
		const hint = problems.some((p) => p.message.startsWith("unknown column"))
			? " Known columns: externalId, email, phone, businessUnit, optedOut, optedOut:<channel>, bounced:<channel>, blocked, timestamp, topic:<key>; pass ?unknownColumns=ignore to skip others."
			: "";
		throw new ApiError(400, "VALIDATION_FAILED", `${problems[0]?.path}: ${problems[0]?.message}.${hint}`, problems);
	}
	return columns;
}

// ---------------------------------------------------------------------------------------------
// The import

interface LineWork {
	parsed: ParsedLine;
	/** A profile change through the upsert functions, before the events. */
	profile: (() => Promise<Contact>) | null;
	events: ConsentEvent[];
	failure: LineFailure | null;
}

interface ContactWork {
	/** null: created by the first line's `create`. */
	contact: Contact | null;
	create: (() => Promise<{ contact: Contact; created: boolean }>) | null;
	created: boolean;
	/** The consent state the lines' events were computed against. */
	state: ConsentState;
	lines: LineWork[];
}

type Lookup = Map<string, Contact>;
const byExternalId = (id: string) => `x:${id}`;
const byEmail = (businessUnit: string, email: string) => `e:${businessUnit}\n${email}`;
const byPhone = (businessUnit: string, phone: string) => `p:${businessUnit}\n${phone}`;

class Importer {
	readonly report: ImportReport = {
		processed: 0,
		created: 0,
		updated: 0,
		unchanged: 0,
		failed: 0,
		errors: [],
		errorsTruncated: false,
	};
	#batch: ParsedLine[] = [];
	#batchKeys = new Set<string>();

	constructor(
		private readonly env: Bindings,
		private readonly options: ImportOptions,
		private readonly topics: Map<string, TopicDefinition>,
	) {}

	/** The report, errors by line (a batch finds parse errors before it finds contact errors). */
	finish(): ImportReport {
		this.report.errors.sort((a, b) => a.line - b.line);
		return this.report;
	}

	fail(line: number, failure: LineFailure) {
		this.report.failed++;
		if (this.report.errors.length < MAX_REPORTED_ERRORS) {
			this.report.errors.push({ line, error: failure.code, message: failure.message });
		} else this.report.errorsTruncated = true;
	}

	/** Adds a parsed line; the batch is written first when full or when it names one of the line's contacts. */
	async add(parsed: ParsedLine) {
		const businessUnit = parsed.businessUnit ?? this.options.businessUnit;
		const keys = [
			...(parsed.externalId ? [byExternalId(parsed.externalId)] : []),
			...(parsed.email ? [byEmail(businessUnit, parsed.email)] : []),
			...(parsed.phone ? [byPhone(businessUnit, parsed.phone)] : []),
		];
		// Lines of one batch are resolved against the same lookup: a second line for a contact the
		// batch creates or changes waits for the next batch, which sees the first one's result.
		if (this.#batch.length >= BATCH_LINES || keys.some((key) => this.#batchKeys.has(key))) await this.flush();
		this.#batch.push(parsed);
		for (const key of keys) this.#batchKeys.add(key);
	}

	async flush() {
		const batch = this.#batch;
		this.#batch = [];
		this.#batchKeys = new Set();
		if (batch.length === 0) return;
		const lookup = await this.lookup(batch);
		const suppressed = await this.suppressedAmong(batch, lookup);
		const work = new Map<string, ContactWork>();
		for (const parsed of batch) {
			try {
				this.plan(parsed, lookup, suppressed, work);
			} catch (error) {
				if (!(error instanceof LineFailure)) throw error;
				this.fail(parsed.line, error);
			}
		}
		await inParallel([...work.values()], WRITE_CONCURRENCY, (contactWork) => this.write(contactWork));
	}

	/** The contacts the batch names, by externalId, email+BU and phone+BU: one D1 batch of three reads. */
	private async lookup(batch: ParsedLine[]): Promise<Lookup> {
		const externalIds = new Set<string>();
		const emails = new Map<string, [string, string]>();
		const phones = new Map<string, [string, string]>();
		for (const line of batch) {
			const businessUnit = line.businessUnit ?? this.options.businessUnit;
			if (line.externalId) externalIds.add(line.externalId);
			if (line.email) emails.set(byEmail(businessUnit, line.email), [businessUnit, line.email]);
			if (line.phone) phones.set(byPhone(businessUnit, line.phone), [businessUnit, line.phone]);
		}
		const found = await findContactsNamedBy(this.env, {
			externalIds: [...externalIds],
			emails: [...emails.values()],
			phones: [...phones.values()],
		});
		const lookup: Lookup = new Map();
		for (const contact of found) {
			if (contact.externalId) lookup.set(byExternalId(contact.externalId), contact);
			if (contact.email) lookup.set(byEmail(contact.businessUnit, contact.email), contact);
			if (contact.phone) lookup.set(byPhone(contact.businessUnit, contact.phone), contact);
		}
		return lookup;
	}

	/** Suppressed addresses among the lines that would create a contact: one statement. */
	private async suppressedAmong(batch: ParsedLine[], lookup: Lookup): Promise<Set<string>> {
		const addresses: string[] = [];
		for (const line of batch) {
			const businessUnit = line.businessUnit ?? this.options.businessUnit;
			const known =
				(line.externalId && lookup.has(byExternalId(line.externalId))) ||
				(line.email && lookup.has(byEmail(businessUnit, line.email))) ||
				(line.phone && lookup.has(byPhone(businessUnit, line.phone)));
			if (known) continue;
			if (line.email) addresses.push(line.email);
			if (line.phone) addresses.push(line.phone);
		}
		return findSuppressed(this.env, addresses);
	}

	private allowed(businessUnit: string) {
		const units = this.options.businessUnits;
		if (units && !units.includes(businessUnit)) {
			throw new LineFailure("forbidden_business_unit", `this key may not use business unit "${businessUnit}"`);
		}
	}

	private refuseSuppressed(line: ParsedLine, suppressed: Set<string>) {
		if ((line.email && suppressed.has(line.email)) || (line.phone && suppressed.has(line.phone))) {
			throw new LineFailure(
				"suppressed",
				"the address belongs to an erased contact that had opted out, been blocked or bounced; it is not imported",
			);
		}
	}

	/** Decides the line's contact, profile change and events (no writes yet). */
	private plan(line: ParsedLine, lookup: Lookup, suppressed: Set<string>, work: Map<string, ContactWork>) {
		const env = this.env;
		const businessUnit = line.businessUnit ?? this.options.businessUnit;
		const emailOwner = (line.email && lookup.get(byEmail(businessUnit, line.email))) || null;
		const phoneOwner = (line.phone && lookup.get(byPhone(businessUnit, line.phone))) || null;
		const user = (line.externalId && lookup.get(byExternalId(line.externalId))) || null;
		let contact: Contact | undefined;
		let profile: (() => Promise<Contact>) | null = null;
		let create: ContactWork["create"] = null;
		let targetUnit = businessUnit;

		const plan = planIdentity(line, { user, emailOwner, phoneOwner });
		if (plan.kind === "existing" && line.externalId) {
			// The user the line names: the unit it is in, and the one the line moves it to, must be allowed.
			const externalId = line.externalId;
			this.allowed(plan.contact.businessUnit);
			if (line.businessUnit) this.allowed(line.businessUnit);
			const patch: { email?: string; phone?: string; businessUnit?: string } = {};
			if (line.email && line.email !== plan.contact.email) patch.email = line.email;
			if (line.phone && line.phone !== plan.contact.phone) patch.phone = line.phone;
			if (line.businessUnit && line.businessUnit !== plan.contact.businessUnit) patch.businessUnit = line.businessUnit;
			if (Object.keys(patch).length > 0) profile = async () => (await upsertUser(env, externalId, patch)).contact;
			contact = plan.contact;
			targetUnit = patch.businessUnit ?? plan.contact.businessUnit;
		} else {
			this.allowed(businessUnit);
			if (plan.kind === "refused") throw lineFailureOf(plan.error);
			const { email, phone, externalId } = line;
			if (plan.kind === "existing") {
				// Named by its address: a new phone on the line is the only profile change an address line makes.
				const owner = plan.contact;
				if (email && phone && phone !== owner.phone) {
					profile = async () =>
						owner.externalId
							? (await upsertUser(env, owner.externalId, { phone })).contact
							: (await upsertLead(env, { email, phone, businessUnit })).contact;
				}
				contact = owner;
			} else if (plan.kind === "adopt" && externalId) {
				// The lead becomes this user, same contact id, ledger kept.
				profile = async () => (await upsertUser(env, externalId, { email, phone, businessUnit })).contact;
				contact = plan.contact;
			} else {
				this.refuseSuppressed(line, suppressed);
				create = async () => {
					const inserted = await insertContact(env, { externalId, email, phone, businessUnit, traits: {} });
					if (inserted) return { contact: inserted, created: true };
					// Created meanwhile by someone else: as an update of that contact.
					if (externalId) return upsertUser(env, externalId, { email, phone, businessUnit });
					if (email)
						return { contact: (await upsertLead(env, { email, phone, businessUnit })).contact, created: false };
					return { contact: await findOrCreateLead(env, { phone: phone as string, businessUnit }), created: false };
				};
			}
		}

		// Lines of one batch name different contacts, except an existing contact named two ways
		// (by externalId on one line, by email on another): its lines share one write, in order.
		const key = contact ? contact.id : `new:${line.line}`;
		const existing = work.get(key);
		const { events, state } = this.eventsFor(
			line,
			existing?.state ?? contact?.consent ?? emptyConsentState(),
			targetUnit,
		);
		const entry: LineWork = { parsed: line, profile, events, failure: null };
		if (existing) {
			existing.state = state;
			existing.lines.push(entry);
		} else work.set(key, { contact: contact ?? null, create, created: false, state, lines: [entry] });
	}

	/** The events that make the contact what the line says (the rules: importLineEvents). */
	private eventsFor(line: ParsedLine, start: ConsentState, businessUnit: string) {
		const result = importLineEvents(
			line,
			start,
			{ businessUnit, topics: this.topics },
			{
				channel: this.options.channel,
				optedOut: this.options.optedOut,
				receivedAt: this.options.context.receivedAt,
			},
		);
		if ("problem" in result) throw new LineFailure(result.problem.code, result.problem.message);
		return result;
	}

	/** One contact: create or update its profile, then record the lines' events in one call. */
	private async write(work: ContactWork) {
		const version = work.contact?.updatedAt ?? "new";
		let contact = work.contact;
		for (const entry of work.lines) {
			try {
				if (!contact && work.create) {
					const result = await work.create();
					contact = result.contact;
					work.created = result.created;
				} else if (entry.profile) contact = await entry.profile();
			} catch (error) {
				entry.failure = lineFailureOf(error);
			}
		}
		const applied = work.lines.filter((entry) => entry.failure === null);
		const events: IncomingEvent[] = [];
		if (contact) {
			for (const entry of applied) {
				for (const event of entry.events) {
					const key = [contact.id, version, entry.parsed.line, event.event, event.channel, event.topic].join("\n");
					events.push({
						event: event.event,
						channel: event.channel,
						topic: event.topic,
						properties: event.properties,
						timestamp: entry.parsed.timestamp ?? undefined,
						idempotencyKey: `import:${await sha256Hex(key)}`,
					});
				}
			}
		}
		if (contact && events.length > 0) {
			const target = contact;
			try {
				await recordEvents(
					this.env,
					{ businessUnit: target.businessUnit, contact: async () => target },
					events,
					this.options.context,
					this.options.linkBase,
					this.topics,
				);
			} catch (error) {
				const failure = lineFailureOf(error);
				for (const entry of applied) if (entry.events.length > 0) entry.failure = failure;
			}
		}
		for (const [index, entry] of work.lines.entries()) {
			if (entry.failure) this.fail(entry.parsed.line, entry.failure);
			else if (index === 0 && work.created) this.report.created++;
			else if (entry.profile || entry.events.length > 0 || (index === 0 && work.create)) this.report.updated++;
			else this.report.unchanged++;
		}
	}
}

/** The line error for each refusal of the domain. */
const LINE_CODES: Record<ConsentErrorCode, string> = {
	invalid_event: "invalid",
	external_ids_mismatch: "external_ids_mismatch",
	identity_conflict: "conflict",
	contact_changed: "conflict",
};

function lineFailureOf(error: unknown): LineFailure {
	if (error instanceof LineFailure) return error;
	if (error instanceof ConsentError) return new LineFailure(LINE_CODES[error.code], error.detail);
	if (error instanceof ApiError) {
		const code =
			error.code === "EXTERNAL_IDS_MISMATCH"
				? "external_ids_mismatch"
				: error.code === "CONFLICT"
					? "conflict"
					: error.code === "FORBIDDEN"
						? "forbidden_business_unit"
						: "invalid";
		return new LineFailure(code, error.detail);
	}
	console.error("import: a line failed:", String(error));
	return new LineFailure("failed", "the line could not be applied; send it again");
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
	let next = 0;
	const worker = async () => {
		while (next < items.length) await work(items[next++] as T);
	};
	await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Reads the body (CSV with a header row, or NDJSON) and applies it. A bad header answers 400 before
 * anything is written; bad lines are reported and never stop good ones. Past `maxBytes` or
 * `maxLines` the lines read so far are applied and ImportLimitError is thrown.
 */
export async function importContacts(
	env: Bindings,
	body: ReadableStream<Uint8Array>,
	options: ImportOptions,
): Promise<ImportReport> {
	const topics = await loadTopics(env);
	const importer = new Importer(env, options, topics);
	const maxLines = options.maxLines ?? MAX_IMPORT_LINES;
	const maxBytes = options.maxBytes ?? MAX_IMPORT_BYTES;
	let lastLine = 1;
	const countries = getConfig(env).businessUnitCountries;
	const countryOf = (businessUnit: string | null) => countries[businessUnit ?? options.businessUnit];
	const take = async (line: number, cells: () => Array<readonly [Column, unknown]>) => {
		lastLine = line;
		if (importer.report.processed >= maxLines) {
			await importer.flush();
			throw new ImportLimitError("lines", line, importer.report);
		}
		importer.report.processed++;
		try {
			await importer.add(parseLine(line, cells(), countryOf));
		} catch (error) {
			if (!(error instanceof LineFailure)) throw error;
			importer.fail(line, error);
		}
	};
	try {
		if (options.format === "csv") {
			let columns: Array<Column | null> | null = null;
			for await (const record of readCsv(body, maxBytes)) {
				if (columns === null) {
					if ("error" in record)
						throw new ApiError(400, "VALIDATION_FAILED", `The header row is malformed: ${record.error}.`);
					columns = headerColumns(record.fields, topics, options.unknownColumns);
					continue;
				}
				if ("fields" in record && record.fields.every((field) => field.trim() === "")) continue;
				const header = columns;
				await take(record.line, () => {
					if ("error" in record) throw new LineFailure("malformed_csv", record.error);
					if (record.fields.length !== header.length) {
						throw new LineFailure(
							"field_count",
							`${record.fields.length} fields where the header has ${header.length}`,
						);
					}
					const cells: Array<readonly [Column, unknown]> = [];
					header.forEach((column, index) => {
						if (column) cells.push([column, record.fields[index]]);
					});
					return cells;
				});
			}
			if (columns === null) throw new ApiError(400, "VALIDATION_FAILED", "The CSV is empty: it needs a header row.");
		} else {
			for await (const record of readLines(body, maxBytes)) {
				await take(record.line, () => {
					if ("error" in record) throw new LineFailure("malformed_json", record.error);
					return ndjsonCells(record.text, options.unknownColumns);
				});
			}
		}
		await importer.flush();
	} catch (error) {
		if (error instanceof BodyTooLargeError) {
			await importer.flush();
			throw new ImportLimitError("bytes", lastLine + 1, importer.finish());
		}
		if (error instanceof ImportLimitError) importer.finish();
		throw error;
	}
	return importer.finish();
}
