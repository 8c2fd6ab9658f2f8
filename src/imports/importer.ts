/**
 * Bulk import of contacts and their consent, from CSV or NDJSON, streamed.
 *
 * Lines are read in chunks (columns.ts, lines.ts). Per chunk: the contacts the lines name are
 * found with one D1 batch (by externalId, email+BU, phone+BU), the addresses of contacts to be
 * created are checked against the suppressions with one more; then each line is planned: which
 * contact (planIdentity) and which events change it (importLineEvents; equal and older values
 * change nothing). A line the import saw before, whose contact is unchanged since (an import receipt,
 * src/imports/receipts.ts), is unchanged without a lookup: such lines are found first, by one
 * statement per business unit of the chunk. New contacts are created set-based: their state reduced from the line's events
 * (applyToNewContact, the reducer every path uses), rows, ledger rows and idempotency keys in one D1 batch
 * for the whole chunk (src/db/contact-creates.ts says why writing around the actors is safe for
 * them). Existing contacts that change go through their actors (profile through the upsert
 * functions, events through `recordEvents`, source `import`), six at a time. A line that changes
 * nothing costs no contact write: importing a file again adds no ledger row (only receipts).
 *
 * Every event carries an idempotency key `import:<sha-256 of contact id, the contact's updatedAt as
 * read, line number, event, channel, topic>`: two imports of one file running at the same time
 * apply each fact once. The contact's version is part of the key so that a value that comes back
 * (opted out, then in, then out again by three imports) applies each time.
 *
 * One invocation may make at most INVOCATION_BUDGET D1 queries plus Durable Object calls. Before a
 * chunk is written, its worst-case cost is added up; when it would not fit, the import stops there
 * (ImportLimitError "budget", at the chunk's first line, nothing of it written) and the caller goes
 * on from that line in a new invocation (an import job). As an import job, each chunk records what
 * it did (`job`), in the same batch as its new contacts, so a retried step skips it and reports the
 * same counts.
 */

import { applyToNewContact } from "../consent/apply";
import { ConsentError, type ConsentErrorCode } from "../consent/errors";
import { planIdentity } from "../consent/identity";
import { importLineEvents } from "../consent/import-lines";
import {
	type Channel,
	type ConsentEvent,
	type ConsentState,
	emptyConsentState,
	type TopicDefinition,
} from "../consent/types";
import type { EventContext } from "../contacts/contact-actor";
import { createContacts } from "../contacts/create";
import {
	attachConfirmationLinks,
	type IncomingEvent,
	type LinkBase,
	recordEvents,
	resolveIncoming,
} from "../contacts/record-events";
import { upsertLead, upsertUser } from "../contacts/upsert";
import { type NewContact, recordChunk, recordedChunks } from "../db/contact-creates";
import { type Contact, findContactsNamedBy, findOrCreateLead, insertContact } from "../db/contacts";
import { keepReceipts, type Receipt, settledLines } from "../db/import-receipts";
import { findSuppressed } from "../db/suppressions";
import { loadTopics } from "../db/topics";
import { type Bindings, getConfig } from "../env";
import { sha256Hex } from "../http/auth";
import { ApiError } from "../http/errors";
import { CONNECTIONS, inParallel, yieldToEventLoop } from "../parallel";
import { BodyTooLargeError, readCsv, readLines } from "./csv-reader";
import { lineReceipt, receiptPrefix } from "./receipts";

export const MAX_IMPORT_BYTES = 50 * 1024 * 1024;
export const MAX_IMPORT_LINES = 100_000;
export const MAX_REPORTED_ERRORS = 1000;
/** Lines per chunk: one round of lookups, one batch for the new contacts, the existing ones' writes. */
const BATCH_LINES = 1000;
/** Business units of a chunk whose lines are checked against their receipts (one statement each). */
const RECEIPT_UNITS = 3;
/** D1 queries plus Durable Object calls one invocation may make (Cloudflare's limit on Workers Paid). */
export const INVOCATION_BUDGET = 1000;
/** Kept back from the budget for the caller's own queries (the key, the topics, a job's progress). */
const BUDGET_RESERVE = 20;
/**
 * Worst cases, in queries plus calls: a profile change through the upsert functions; an actor
 * write (and the suppression lookup a Subscribe needs first).
 */
const PROFILE_COST = 4;
const EVENTS_COST = 1;
const SUBSCRIBE_COST = 1;

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
	/** Added to every reported line number: the body is a part of a larger file (an import job). */
	lineOffset?: number;
	/** Lines (numbered with the offset) before this one are skipped: an earlier invocation did them. */
	fromLine?: number;
	/** Queries plus calls this import may make; INVOCATION_BUDGET less a reserve by default. */
	budget?: number;
	/**
	 * The import job this body is a part of: each chunk records what it did in the same D1 batch as
	 * its new contacts, so a retried part reports the same counts and adds no ledger rows.
	 */
	job?: { id: string };
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

/**
 * The import ended early at a limit; the lines before `line` were applied (`report`). At the
 * "budget" limit nothing from `line` on was written or counted: go on from there (`fromLine`).
 */
export class ImportLimitError extends Error {
	constructor(
		readonly limit: "bytes" | "lines" | "budget",
		readonly line: number,
		readonly report: ImportReport,
	) {
		super(`import stopped at line ${line}: ${limit} limit`);
	}
}

import { type Column, headerColumns } from "./columns";
import { LineFailure, ndjsonCells, type ParsedLine, parseLine } from "./lines";

// ---------------------------------------------------------------------------------------------
// The import

interface LineWork {
	parsed: ParsedLine;
	/** The line's receipt hash (src/imports/receipts.ts); null for a line of a unit the key may not write. */
	receipt: number | null;
	/** The contact already is what the line says, whenever it comes again (importLineEvents). */
	settled: boolean;
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

const emptyReport = (): ImportReport => ({
	processed: 0,
	created: 0,
	updated: 0,
	unchanged: 0,
	failed: 0,
	errors: [],
	errorsTruncated: false,
});

/**
 * What a chunk did, kept with an import job's chunk (processed is counted as lines are read).
 * `until`: the chunk alone was over the budget, and only its lines before this one were written.
 */
type ChunkReport = Omit<ImportReport, "processed"> & { until?: number };

/** The worst-case queries plus calls of writing one existing contact's lines (new ones cost nothing more). */
function writeCost(work: ContactWork): number {
	if (work.contact === null) return 0;
	const events = work.lines.flatMap((entry) => entry.events);
	return (
		work.lines.filter((entry) => entry.profile).length * PROFILE_COST +
		(events.length > 0 ? EVENTS_COST : 0) +
		(events.some((event) => event.event === "Subscribe") ? SUBSCRIBE_COST : 0)
	);
}

/**
 * The first line not to write when a chunk's writes cost more than `budget`: contacts in the order
 * of their first line, as many as fit; a contact with a line past the cut waits as well.
 */
function cutLine(works: ContactWork[], budget: number): number {
	const firstLineOf = (work: ContactWork) => Math.min(...work.lines.map((entry) => entry.parsed.line));
	let cut = Number.POSITIVE_INFINITY;
	let spent = 0;
	for (const work of [...works].sort((a, b) => firstLineOf(a) - firstLineOf(b))) {
		spent += writeCost(work);
		if (spent > budget) {
			cut = firstLineOf(work);
			break;
		}
	}
	for (let changed = true; changed; ) {
		changed = false;
		for (const work of works) {
			if (firstLineOf(work) < cut && work.lines.some((entry) => entry.parsed.line >= cut)) {
				cut = firstLineOf(work);
				changed = true;
			}
		}
	}
	return cut;
}

class Importer {
	readonly report = emptyReport();
	#batch: ParsedLine[] = [];
	#batchKeys = new Set<string>();
	/** Lines of parse failures since the current chunk began: undone when the import stops before it. */
	#failedSinceChunk: number[] = [];
	/** Queries plus calls made so far (worst cases for the upsert functions' writes). */
	#spent = 0;
	/** Chunks written by this invocation. */
	#written = 0;
	/** An import job's chunks recorded by an earlier attempt, by first line. */
	#recorded = new Map<number, ChunkReport>();
	/** The import's part of every line's receipt hash. */
	readonly #receiptPrefix: number;

	constructor(
		private readonly env: Bindings,
		private readonly options: ImportOptions,
		private readonly topics: Map<string, TopicDefinition>,
		private readonly budget: number,
	) {
		this.#receiptPrefix = receiptPrefix({ channel: options.channel, optedOut: options.optedOut, topics });
	}

	/** A job's chunks recorded from the first line of this invocation on: one query. */
	async loadRecorded() {
		const job = this.options.job;
		if (!job) return;
		this.#spent++;
		const recorded = await recordedChunks(this.env, job.id, this.options.fromLine ?? 0);
		this.#recorded = recorded as Map<number, ChunkReport>;
	}

	/** The report, errors by line (a batch finds parse errors before it finds contact errors). */
	finish(): ImportReport {
		this.report.errors.sort((a, b) => a.line - b.line);
		return this.report;
	}

	fail(line: number, failure: LineFailure, report: ChunkReport = this.report) {
		report.failed++;
		if (report.errors.length < MAX_REPORTED_ERRORS) {
			report.errors.push({ line, error: failure.code, message: failure.message });
		} else report.errorsTruncated = true;
	}

	/** A line that failed before it joined a chunk (it cannot be read). */
	failRead(line: number, failure: LineFailure) {
		this.#failedSinceChunk.push(line);
		this.fail(line, failure);
	}

	/** Adds a parsed line; the batch is written first when full or when it names one of the line's contacts. */
	async add(parsed: ParsedLine) {
		const businessUnit = this.unitOf(parsed);
		const keys = [
			...(parsed.externalId ? [byExternalId(parsed.externalId)] : []),
			...(parsed.email ? [byEmail(businessUnit, parsed.email)] : []),
			...(parsed.phone ? [byPhone(businessUnit, parsed.phone)] : []),
		];
		// Lines of one batch are resolved against the same lookup: a second line for a contact the
		// batch creates or changes waits for the next batch, which sees the first one's result.
		if (this.#batch.length >= BATCH_LINES || keys.some((key) => this.#batchKeys.has(key))) await this.flush(1);
		if (this.#batch.length === 0) this.#failedSinceChunk = [];
		this.#batch.push(parsed);
		for (const key of keys) this.#batchKeys.add(key);
	}

	/** Writes the chunk; `waiting`: lines already counted that wait for the next chunk (the one being added). */
	async flush(waiting = 0) {
		const batch = this.#batch;
		const firstLine = batch[0]?.line;
		if (firstLine === undefined) return;
		const recorded = this.#recorded.get(firstLine);
		if (recorded) {
			// Done by an earlier attempt of this job step: counted as it was then, stopped where it stopped.
			this.merge(recorded);
			if (recorded.until !== undefined) this.stop(recorded.until, waiting);
			this.clearBatch();
			return;
		}
		if (this.#spent + RECEIPT_UNITS + 4 > this.budget) this.stop(firstLine, waiting);
		// Other requests (an import job's own progress report too) get their turn between chunks.
		await yieldToEventLoop();
		const chunk: ChunkReport = emptyReport();
		const receipts = this.receiptsOf(batch);
		const settled = await this.settled(receipts);
		chunk.unchanged += settled.size;
		const rest = settled.size > 0 ? batch.filter((parsed) => !settled.has(parsed)) : batch;
		this.#spent += rest.length > 0 ? 4 : 0;
		const lookup = rest.length > 0 ? await this.lookup(rest) : new Map<string, Contact>();
		const suppressed = rest.length > 0 ? await this.suppressedAmong(rest, lookup) : new Set<string>();
		const work = new Map<string, ContactWork>();
		for (const parsed of rest) {
			try {
				this.plan(parsed, receipts.get(parsed) ?? null, lookup, suppressed, work);
			} catch (error) {
				if (!(error instanceof LineFailure)) throw error;
				this.fail(parsed.line, error, chunk);
			}
		}
		// The new contacts' batch (five statements, a job's chunk record among them, and their
		// receipts), and the receipts of the lines found unchanged.
		const fixed = 7;
		let works = [...work.values()];
		const cost = (list: ContactWork[]) => fixed + list.reduce((sum, contactWork) => sum + writeCost(contactWork), 0);
		let until: number | undefined;
		if (this.#spent + cost(works) > this.budget) {
			// A later invocation starts with this chunk, unless it is the first one here: then the
			// chunk alone is over the budget, and the lines that fit are written now.
			if (this.#written > 0) this.stop(firstLine, waiting);
			until = cutLine(works, this.budget - this.#spent - fixed);
			const cut = until;
			works = works.filter((contactWork) => contactWork.lines.every((entry) => entry.parsed.line < cut));
			chunk.failed -= chunk.errors.filter((error) => error.line >= cut).length;
			chunk.errors = chunk.errors.filter((error) => error.line < cut);
		}
		this.#spent += cost(works);
		this.#written++;
		const created = works.filter((contactWork) => contactWork.contact === null);
		const existing = works.filter((contactWork) => contactWork.contact !== null);
		await inParallel(existing, CONNECTIONS, (contactWork) => this.write(contactWork, chunk));
		await keepReceipts(
			this.env,
			existing.flatMap((contactWork) => receiptOfUnchanged(contactWork, (line) => this.unitOf(line))),
		);
		await this.create(created, chunk, firstLine, until);
		this.merge(chunk);
		if (until !== undefined) this.stop(until, waiting);
		this.clearBatch();
	}

	private clearBatch() {
		this.#batch = [];
		this.#batchKeys = new Set();
		this.#failedSinceChunk = [];
	}

	/**
	 * Ends the import at `line`: the chunk's lines from it on, and lines that failed to be read since
	 * the chunk began from it on, are uncounted (the next invocation goes on from there).
	 */
	private stop(line: number, waiting: number): never {
		const lines = this.#batch.filter((parsed) => parsed.line >= line).length;
		const failed = this.#failedSinceChunk.filter((failedLine) => failedLine >= line).length;
		this.report.processed -= lines + failed + waiting;
		this.report.failed -= failed;
		this.report.errors = this.report.errors.filter((error) => error.line < line);
		this.clearBatch();
		throw new ImportLimitError("budget", line, this.finish());
	}

	private merge(chunk: ChunkReport) {
		this.report.created += chunk.created;
		this.report.updated += chunk.updated;
		this.report.unchanged += chunk.unchanged;
		for (const error of chunk.errors) this.fail(error.line, new LineFailure(error.error, error.message));
		this.report.failed += chunk.failed - chunk.errors.length;
		this.report.errorsTruncated ||= chunk.errorsTruncated;
	}

	/** The business unit a line is in: its own, or the import's. */
	private unitOf(line: ParsedLine): string {
		return line.businessUnit ?? this.options.businessUnit;
	}

	/** Each line's receipt hash, for lines of units this import may write (the others fail in `plan`). */
	private receiptsOf(batch: ParsedLine[]): Map<ParsedLine, number> {
		const receipts = new Map<ParsedLine, number>();
		for (const line of batch) {
			const businessUnit = this.unitOf(line);
			if (!this.mayWrite(businessUnit)) continue;
			receipts.set(line, lineReceipt(this.#receiptPrefix, line, businessUnit));
		}
		return receipts;
	}

	/**
	 * The lines whose receipt still holds: unchanged, with nothing to look up. One statement per
	 * business unit the lines are in (nearly always one), for the RECEIPT_UNITS units with the most
	 * lines; the lines of any others are looked up as usual.
	 */
	private async settled(receipts: Map<ParsedLine, number>): Promise<Set<ParsedLine>> {
		const byUnit = new Map<string, ParsedLine[]>();
		for (const line of receipts.keys()) {
			const businessUnit = this.unitOf(line);
			const lines = byUnit.get(businessUnit);
			if (lines) lines.push(line);
			else byUnit.set(businessUnit, [line]);
		}
		const found = new Set<ParsedLine>();
		const largest = [...byUnit].sort((a, b) => b[1].length - a[1].length).slice(0, RECEIPT_UNITS);
		for (const [businessUnit, lines] of largest) {
			this.#spent++;
			const hashes = lines.map((line) => receipts.get(line) as number);
			for (const position of await settledLines(this.env, businessUnit, hashes)) {
				const line = lines[position];
				if (line) found.add(line);
			}
		}
		return found;
	}

	/** The contacts the batch names, by externalId, email+BU and phone+BU: one D1 batch of three reads. */
	private async lookup(batch: ParsedLine[]): Promise<Lookup> {
		const externalIds = new Set<string>();
		const emails = new Map<string, [string, string]>();
		const phones = new Map<string, [string, string]>();
		for (const line of batch) {
			const businessUnit = this.unitOf(line);
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
			const businessUnit = this.unitOf(line);
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

	/** Whether the import's key may write in the unit. */
	private mayWrite(businessUnit: string): boolean {
		const units = this.options.businessUnits;
		return !units || units.includes(businessUnit);
	}

	private allowed(businessUnit: string) {
		if (!this.mayWrite(businessUnit)) {
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
	private plan(
		line: ParsedLine,
		receipt: number | null,
		lookup: Lookup,
		suppressed: Set<string>,
		work: Map<string, ContactWork>,
	) {
		const env = this.env;
		const businessUnit = this.unitOf(line);
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
		const { events, state, settled } = this.eventsFor(
			line,
			existing?.state ?? contact?.consent ?? emptyConsentState(),
			targetUnit,
		);
		const entry: LineWork = { parsed: line, receipt, settled, profile, events, failure: null };
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
	private async write(work: ContactWork, chunk: ChunkReport) {
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
		const events = contact ? await incomingEvents(contact.id, version, applied) : [];
		// Whether the actor recorded any of the events (with the contact's history it may find none a change).
		let recorded = false;
		if (contact && events.length > 0) {
			const target = contact;
			try {
				const result = await recordEvents(
					this.env,
					{ businessUnit: target.businessUnit, contact: async () => target },
					events,
					this.options.context,
					this.options.linkBase,
					this.topics,
				);
				recorded = result.ledgerIds.length > 0 || result.duplicates > 0;
			} catch (error) {
				const failure = lineFailureOf(error);
				for (const entry of applied) if (entry.events.length > 0) entry.failure = failure;
			}
		}
		for (const [index, entry] of work.lines.entries()) {
			if (entry.failure) this.fail(entry.parsed.line, entry.failure, chunk);
			else if (index === 0 && work.created) chunk.created++;
			else if (entry.profile || (entry.events.length > 0 && recorded) || (index === 0 && work.create)) chunk.updated++;
			else chunk.unchanged++;
		}
	}

	/**
	 * The chunk's new contacts, created set-based: each one's events reduced to its state from
	 * nothing, then all of them in one D1 batch (with the job's chunk record). One taken meanwhile
	 * by someone else goes through the actor path as an update.
	 */
	private async create(works: ContactWork[], chunk: ChunkReport, firstLine: number, until: number | undefined) {
		const topicOf = (key: string) => this.topics.get(key);
		const planned: Array<{ work: ContactWork; contact: NewContact }> = [];
		for (const work of works) {
			const [entry] = work.lines;
			if (!entry) continue;
			const { parsed } = entry;
			const businessUnit = this.unitOf(parsed);
			const id = crypto.randomUUID();
			try {
				const events = resolveIncoming(
					await incomingEvents(id, "new", [entry]),
					this.options.context,
					this.topics,
					businessUnit,
				);
				if (events.some((event) => event.event === "Subscribe")) {
					await attachConfirmationLinks(this.env, id, events, this.topics, this.options.linkBase());
				}
				const outcome = applyToNewContact(events, { topicOf, origin: this.options.context });
				// The line again against the state it made: settled (nearly always), it gets a receipt.
				const settled = entry.receipt !== null && this.eventsFor(parsed, outcome.state, businessUnit).settled;
				planned.push({
					work,
					contact: {
						id,
						externalId: parsed.externalId,
						email: parsed.email,
						phone: parsed.phone,
						businessUnit,
						state: outcome.state,
						rows: outcome.rows,
						receipt: settled ? entry.receipt : null,
					},
				});
			} catch (error) {
				this.fail(parsed.line, lineFailureOf(error), chunk);
			}
		}
		const job = this.options.job;
		if (until !== undefined) chunk.until = until;
		if (planned.length === 0) {
			if (job) await recordChunk(this.env, { jobId: job.id, firstLine, report: chunk });
			return;
		}
		// The chunk's record goes in the same batch and counts its new contacts as created; when one
		// was taken meanwhile, the record is written again once that one is done.
		const expected: ChunkReport = { ...chunk, created: chunk.created + planned.length, errors: [...chunk.errors] };
		const created = await createContacts(
			this.env,
			planned.map((p) => p.contact),
			job ? { jobId: job.id, firstLine, report: expected } : null,
		);
		const taken: ContactWork[] = [];
		for (const { work, contact } of planned) {
			if (created.has(contact.id)) chunk.created++;
			else taken.push(work);
		}
		// Rare (two imports of the same new people at once): these cost their upsert and actor calls.
		if (taken.length === 0) return;
		this.#spent += taken.length * (PROFILE_COST + EVENTS_COST + SUBSCRIBE_COST) + 1;
		await inParallel(taken, CONNECTIONS, (work) => this.write(work, chunk));
		if (job) await recordChunk(this.env, { jobId: job.id, firstLine, report: chunk });
	}
}

/** The events of a contact's lines as the write path takes them, each with its idempotency key. */
async function incomingEvents(
	contactId: string,
	version: string,
	lines: readonly LineWork[],
): Promise<IncomingEvent[]> {
	const events: IncomingEvent[] = [];
	for (const entry of lines) {
		for (const event of entry.events) {
			const key = [contactId, version, entry.parsed.line, event.event, event.channel, event.topic].join("\n");
			events.push({
				event: event.event,
				channel: event.channel,
				topic: event.topic,
				properties: event.properties,
				timestamp: entry.parsed.timestamp ?? undefined,
				idempotencyKey: `import:${await sha256Hex(key)}`,
				// Chosen as a change without the contact's history: its actor, which has it, decides.
				onlyIfItChanges: true,
			});
		}
	}
	return events;
}

/**
 * The receipt of an existing contact whose lines changed nothing and are settled: its version as
 * read, and its last line. (A contact some line changed has a new version: no receipt.) Only for a
 * contact in the line's unit that carries every identifier the line names: while its version
 * stays, no other contact can have them (they are unique), so the line can name no one else.
 */
function receiptOfUnchanged(work: ContactWork, businessUnitOf: (line: ParsedLine) => string): Receipt[] {
	const last = work.lines.at(-1);
	const contact = work.contact;
	if (!contact || !last || last.receipt === null) return [];
	const unchanged = work.lines.every((entry) => entry.settled && !entry.profile && entry.failure === null);
	const line = last.parsed;
	const named =
		contact.businessUnit === businessUnitOf(line) &&
		(line.externalId === null || line.externalId === contact.externalId) &&
		(line.email === null || line.email === contact.email) &&
		(line.phone === null || line.phone === contact.phone);
	return unchanged && named ? [{ contactId: contact.id, hash: last.receipt, version: contact.version }] : [];
}

/** The line error for each refusal of the domain. */
const LINE_CODES: Record<ConsentErrorCode, string> = {
	invalid_event: "invalid",
	invalid_traits: "invalid",
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
	const importer = new Importer(env, options, topics, options.budget ?? INVOCATION_BUDGET - BUDGET_RESERVE);
	await importer.loadRecorded();
	const maxLines = options.maxLines ?? MAX_IMPORT_LINES;
	const maxBytes = options.maxBytes ?? MAX_IMPORT_BYTES;
	const offset = options.lineOffset ?? 0;
	const fromLine = options.fromLine ?? 0;
	let lastLine = 1;
	const countries = getConfig(env).businessUnitCountries;
	const countryOf = (businessUnit: string | null) => countries[businessUnit ?? options.businessUnit];
	const take = async (bodyLine: number, cells: () => Array<readonly [Column, unknown]>) => {
		const line = bodyLine + offset;
		lastLine = line;
		if (line < fromLine) return;
		if (importer.report.processed >= maxLines) {
			await importer.flush();
			throw new ImportLimitError("lines", line, importer.report);
		}
		importer.report.processed++;
		let parsed: ParsedLine;
		try {
			parsed = parseLine(line, cells(), countryOf);
		} catch (error) {
			if (!(error instanceof LineFailure)) throw error;
			importer.failRead(line, error);
			return;
		}
		await importer.add(parsed);
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
