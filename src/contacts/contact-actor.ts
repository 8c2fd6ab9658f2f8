import { DurableObject } from "cloudflare:workers";
import { applyBatch, type EventOrigin, type EventToApply, type LedgerRow } from "../consent/apply";
import {
	addressKindOf,
	mergeReasons,
	type SuppressionReason,
	suppressionsAtErasure,
	suppressionsEndedBy,
} from "../consent/suppression";
import { jsonLimitProblem, mergeTraits } from "../consent/traits";
import type { ConsentEvent, Source, TopicDefinition } from "../consent/types";
import { keyedHash, keyedHashes } from "../crypto";
import {
	eraseContactRows,
	type ProfileUpdate,
	readContact,
	readErasureFacts,
	readForApply,
	readPreferenceHistory,
	writeApplied,
	writeProfile,
} from "../db/contact-writes";
import type { Contact } from "../db/contacts";
import { type SuppressionEntry, suppressionSubject } from "../db/suppressions";
import type { Bindings } from "../env";
import { forwardOutbound, outboundEvents } from "../outbound/outbound";

export type { EventToApply };

/** Where a batch of events came from; every ledger row of the batch carries it. */
export interface EventContext extends EventOrigin {
	source: Source;
}

export interface ApplyResult {
	contact: Contact;
	/** Ledger ids of the applied events, in order. */
	ledgerIds: number[];
	/** Events skipped because their idempotency key was applied before. */
	duplicates: number;
	/**
	 * The D1 bookmark of the write (src/http/bookmark.ts): a read that sends it back sees it. Absent
	 * (or null) when nothing was written.
	 */
	bookmark?: string | null;
}

export interface EraseResult {
	/** Whether the address stays suppressed (the contact had opted out, been blocked or bounced). */
	suppressed: boolean;
	ledgerId: number;
}

export type ProfilePatch = Partial<{
	externalId: string;
	email: string | null;
	phone: string | null;
	businessUnit: string;
	traits: Record<string, unknown>;
}>;

/** `traits`: the merged traits would be over the limits (nothing written). */
export type ProfileResult = ProfileUpdate | { ok: false; conflict: "traits"; problem: string };

/** What a provider event that never applied (a dead letter) said, as a suppression reason. */
const UNAPPLIED_REASONS: Record<string, SuppressionReason> = {
	unsubscribe: "opted_out",
	opt_out: "opted_out",
	complaint: "complaint",
	hard_bounce: "bounced",
};

/**
 * One actor per contact (named by contact id) serializes every change to that contact.
 *
 * The input gate does not cover D1: an `await` on D1 lets the next call in. Each method therefore
 * runs inside `exclusive`, a promise chain, so read-modify-write sequences never interleave.
 *
 * Warm state: after its first read or write the actor keeps the contact (with its `version`), so a
 * write is one D1 batch and no read. Callers that have just read the contact pass it along, so even
 * a cold actor needs no read. Every write is guarded by the version it was computed over: when
 * someone wrote around the actor (a migration, an import) or an idempotency key turns out to be
 * applied already, the batch fails as a whole and the actor reloads and applies again.
 */
export class ContactActor extends DurableObject<Bindings> {
	#tail: Promise<unknown> = Promise.resolve();
	/** The contact as this actor last read or wrote it; null until then, and after an erasure. */
	#contact: Contact | null = null;

	private exclusive<T>(work: () => Promise<T>): Promise<T> {
		const run = this.#tail.then(work, work);
		this.#tail = run.catch(() => undefined);
		return run;
	}

	/**
	 * Applies events to the contact. `contact` is the contact as the caller read it (the newer of it
	 * and the actor's own copy is used), or only its id.
	 */
	applyEvents(
		contact: Contact | string,
		events: EventToApply[],
		context: EventContext,
		topics: TopicDefinition[],
	): Promise<ApplyResult> {
		return this.exclusive(() => this.applyLocked(contact, events, context, topics));
	}

	updateProfile(contactId: string, patch: ProfilePatch): Promise<ProfileResult> {
		return this.exclusive(() => this.updateProfileLocked(contactId, patch));
	}

	/** GDPR erasure; false when the contact does not exist (any more). */
	erase(contactId: string, context: EventContext): Promise<EraseResult | null> {
		return this.exclusive(async () => {
			this.#contact = null;
			return this.eraseLocked(contactId, context);
		});
	}

	/** The newest copy of the contact this actor knows without reading: its own or the caller's. */
	private known(given: Contact | string): Contact | null {
		const id = typeof given === "string" ? given : given.id;
		const own = this.#contact?.id === id ? this.#contact : null;
		if (typeof given === "string") return own;
		return own && own.version >= given.version ? own : given;
	}

	/**
	 * Removes the contact and every piece of personal data about it, in one D1 batch:
	 * the contact row, the free text and identifiers in its ledger rows (IP, user agent, feedback,
	 * properties, idempotency keys, reason texts that are not codes, custom event names), its
	 * idempotency keys, its import receipt, its dead letters, its addresses on the bare-address
	 * blocklist, and the IP and user agent in the ledger rows of its addresses' suppressions (an `Unsuppress` by a confirmation
	 * link records who confirmed). The ledger keeps the rows themselves, by the random contact id, as
	 * proof of what happened, plus an `Erase` row. When the person had opted out, complained, bounced
	 * or been blocked, a keyed hash of the address concerned stays suppressed. The `Erase` row
	 * carries the context's source: `erasure` (the API) or `preference_center` (the person).
	 */
	private async eraseLocked(contactId: string, context: EventContext): Promise<EraseResult | null> {
		const contact = await readContact(this.env, contactId);
		if (!contact) return null;
		const facts = await readErasureFacts(this.env, contact);
		const atErasure = suppressionsAtErasure(contact.consent, facts.complainedOn);
		const entries: SuppressionEntry[] = [];
		for (const kind of ["email", "phone"] as const) {
			const address = contact[kind];
			if (!address) continue;
			const unapplied = facts.unapplied
				.filter((row) => row.channel && addressKindOf(row.channel) === kind)
				// A provider-wide unsubscribe; one of a list only meant that list.
				.filter((row) => row.action !== "unsubscribe" || row.list === null)
				.map((row) => UNAPPLIED_REASONS[row.action ?? ""])
				.filter((reason): reason is SuppressionReason => reason !== undefined);
			const reasons = mergeReasons(atErasure[kind], unapplied, facts.blocklisted.has(address) ? ["blocked"] : []);
			if (reasons.length > 0) entries.push({ hash: await keyedHash(this.env, address), kind, reasons });
		}
		// The ledger subjects of its addresses' suppressions: an `Unsuppress` through a confirmation
		// link recorded the IP and user agent of who confirmed.
		const addresses = [contact.email, contact.phone].filter((address): address is string => !!address);
		const subjects = (await keyedHashes(this.env, addresses)).map(suppressionSubject);
		const properties = { suppressed: entries.length > 0 };
		const ledgerId = await eraseContactRows(this.env, {
			contact,
			suppress: entries,
			suppressionSubjects: subjects,
			blocklisted: [...facts.blocklisted],
			properties,
			source: context.source,
			at: context.receivedAt,
		});
		// Receivers learn to erase too, by the contact id they have seen in earlier events.
		const who = { ...contact, externalId: null, email: null, phone: null };
		const row: LedgerRow = {
			event: "Erase",
			channel: null,
			topic: null,
			changes: [],
			properties,
			reason: null,
			feedback: null,
			idempotencyKey: null,
			occurredAt: context.receivedAt,
			...context,
			ip: null,
			userAgent: null,
		};
		await forwardOutbound(this.env, outboundEvents(who, [row], [ledgerId]));
		return { suppressed: entries.length > 0, ledgerId };
	}

	private async applyLocked(
		given: Contact | string,
		events: EventToApply[],
		context: EventContext,
		topics: TopicDefinition[],
	): Promise<ApplyResult> {
		const contactId = typeof given === "string" ? given : given.id;
		const topicsByKey = new Map(topics.map((topic) => [topic.key, topic]));
		const topicOf = (key: string) => topicsByKey.get(key);
		const keys = events.map((e) => e.idempotencyKey).filter((k): k is string => k !== null);
		let contact = this.known(given);
		let seen = new Set<string>();
		let history: ConsentEvent[] | null = null;
		// A stale write reloads once and tries again; a second miss means heavy writing around the
		// actor, and the caller's retry (the queue's, the client's) is the better place to wait.
		for (let attempt = 0; ; attempt++) {
			if (!contact) {
				const read = await readForApply(this.env, contactId, keys);
				if (!read) throw new Error(`contact ${contactId} does not exist`);
				({ contact, seen } = read);
			}
			let outcome = applyBatch(contact.consent, events, { topicOf, seen, history, origin: context });
			if (outcome.needsHistory) {
				history = await readPreferenceHistory(this.env, contactId);
				outcome = applyBatch(contact.consent, events, { topicOf, seen, history, origin: context });
			}
			if (outcome.needsHistory) throw new Error("reducer: the history did not resolve a late event");
			const { state, rows, applied, duplicates } = outcome;
			if (rows.length === 0) {
				this.#contact = contact;
				return { contact, ledgerIds: [], duplicates };
			}
			// A confirmation through a signed link ends the suppression of the address it reached.
			const current = contact;
			const ended = new Set(applied.flatMap((event) => suppressionsEndedBy(event, (event.origin ?? context).source)));
			const endedAddresses = [...ended].map((kind) => current[kind]).filter((address): address is string => !!address);
			const updatedAt = new Date().toISOString();
			const written = await writeApplied(this.env, {
				contact,
				state,
				updatedAt,
				rows,
				endedSuppressions: await keyedHashes(this.env, endedAddresses),
				ended: { source: context.source, ip: context.ip, userAgent: context.userAgent, at: context.receivedAt },
			});
			if (written === "gone") {
				this.#contact = null;
				throw new Error(`contact ${contactId} does not exist`);
			}
			if (written === "stale") {
				if (attempt >= 1) throw new Error(`contact ${contactId} keeps changing under its actor; retry`);
				contact = null;
				history = null;
				continue;
			}
			this.#contact = { ...contact, consent: state, updatedAt, version: written.version };
			await forwardOutbound(this.env, outboundEvents(contact, rows, written.ledgerIds));
			return { contact: this.#contact, ledgerIds: written.ledgerIds, duplicates, bookmark: written.bookmark };
		}
	}

	private async updateProfileLocked(contactId: string, patch: ProfilePatch): Promise<ProfileResult> {
		for (let attempt = 0; ; attempt++) {
			const current = this.known(contactId) ?? (await readContact(this.env, contactId));
			if (!current) return { ok: false, conflict: "gone" };
			// A user's externalId never changes: a second externalId for the same person is a mismatch.
			if (patch.externalId !== undefined && current.externalId !== null && current.externalId !== patch.externalId) {
				return { ok: false, conflict: "external_id" };
			}
			const traits = patch.traits ? mergeTraits(current.traits, patch.traits) : current.traits;
			const problem = patch.traits ? jsonLimitProblem(traits) : null;
			if (problem) return { ok: false, conflict: "traits", problem: `traits would be ${problem} once merged` };
			const result = await writeProfile(this.env, current, {
				externalId: patch.externalId ?? current.externalId,
				email: patch.email === undefined ? current.email : patch.email,
				phone: patch.phone === undefined ? current.phone : patch.phone,
				businessUnit: patch.businessUnit ?? current.businessUnit,
				traits,
			});
			if (result.ok) this.#contact = result.contact;
			if (result.ok || result.conflict !== "stale") return result as ProfileResult;
			this.#contact = null;
			if (attempt >= 1) throw new Error(`contact ${contactId} keeps changing under its actor; retry`);
		}
	}
}
