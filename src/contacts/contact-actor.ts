import { DurableObject } from "cloudflare:workers";
import { ledgerTexts } from "../consent/ledger";
import { applyArrived, effectOf, isLate, isPreferenceEvent } from "../consent/reducer";
import {
	addressKindOf,
	mergeReasons,
	type SuppressionReason,
	suppressionsAtErasure,
	suppressionsEndedBy,
} from "../consent/suppression";
import type { ConsentEvent, ConsentState, Source, TopicDefinition } from "../consent/types";
import { keyedHash, keyedHashes } from "../crypto";
import {
	eraseContactRows,
	type LedgerInsert,
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
import { enqueueOutbound, outboundEnabled } from "../outbound/outbound";

export interface EventToApply extends ConsentEvent {
	idempotencyKey: string | null;
	/** For Subscribe to a double-opt-in topic: recorded with the ledger row when the topic ends up pending. */
	confirmUrl?: string;
}

/** Where a batch of events came from; every ledger row of the batch carries it. */
export interface EventContext {
	source: Source;
	ip: string | null;
	userAgent: string | null;
	campaign: string | null;
	receivedAt: string;
}

export interface ApplyResult {
	contact: Contact;
	/** Ledger ids of the applied events, in order. */
	ledgerIds: number[];
	/** Events skipped because their idempotency key was applied before. */
	duplicates: number;
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

export type ProfileResult = ProfileUpdate;

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
 */
export class ContactActor extends DurableObject<Bindings> {
	#tail: Promise<unknown> = Promise.resolve();

	private exclusive<T>(work: () => Promise<T>): Promise<T> {
		const run = this.#tail.then(work, work);
		this.#tail = run.catch(() => undefined);
		return run;
	}

	applyEvents(
		contactId: string,
		events: EventToApply[],
		context: EventContext,
		topics: TopicDefinition[],
	): Promise<ApplyResult> {
		return this.exclusive(() => this.applyLocked(contactId, events, context, topics));
	}

	updateProfile(contactId: string, patch: ProfilePatch): Promise<ProfileResult> {
		return this.exclusive(() => this.updateProfileLocked(contactId, patch));
	}

	/** GDPR erasure; false when the contact does not exist (any more). */
	erase(contactId: string, context: EventContext): Promise<EraseResult | null> {
		return this.exclusive(() => this.eraseLocked(contactId, context));
	}

	/**
	 * Removes the contact and every piece of personal data about it, in one D1 batch:
	 * the contact row, the free text and identifiers in its ledger rows (IP, user agent, feedback,
	 * properties, idempotency keys, reason texts that are not codes, custom event names), its
	 * idempotency keys, its dead letters, its addresses on the bare-address blocklist, and the IP and
	 * user agent in the ledger rows of its addresses' suppressions (an `Unsuppress` by a confirmation
	 * link records who confirmed). The ledger keeps the rows themselves, by the random contact id, as
	 * proof of what happened, plus an `Erase` row. When the person had opted out, complained, bounced
	 * or been blocked, a keyed hash of the address concerned stays suppressed.
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
			at: context.receivedAt,
		});
		if (outboundEnabled(this.env)) {
			// Receivers learn to erase too, by the contact id they have seen in earlier events.
			const who = { ...contact, externalId: null, email: null, phone: null };
			const row: LedgerInsert = {
				event: "Erase",
				channel: null,
				topic: null,
				changes: "[]",
				changed: 1,
				properties: JSON.stringify(properties),
				reason: null,
				feedback: null,
				idempotencyKey: null,
				occurredAt: context.receivedAt,
			};
			await this.forward(who, [row], [ledgerId], { ...context, source: "erasure", ip: null, userAgent: null });
		}
		return { suppressed: entries.length > 0, ledgerId };
	}

	private async applyLocked(
		contactId: string,
		events: EventToApply[],
		context: EventContext,
		topics: TopicDefinition[],
	): Promise<ApplyResult> {
		const keys = events.map((e) => e.idempotencyKey).filter((k): k is string => k !== null);
		const read = await readForApply(this.env, contactId, keys);
		if (!read) throw new Error(`contact ${contactId} does not exist`);
		const { contact, seen } = read;
		const topicsByKey = new Map(topics.map((topic) => [topic.key, topic]));

		const topicOf = (key: string) => topicsByKey.get(key);
		let state: ConsentState = contact.consent;
		// The contact's preference events, oldest first: read from the ledger only when a late event
		// needs them, then kept up to date with this batch's events.
		let history: ConsentEvent[] | null = null;
		const appliedPreferences: ConsentEvent[] = [];
		const rows: LedgerInsert[] = [];
		const applied: ConsentEvent[] = [];
		let duplicates = 0;
		for (const event of events) {
			if (event.idempotencyKey !== null) {
				if (seen.has(event.idempotencyKey)) {
					duplicates++;
					continue;
				}
				seen.add(event.idempotencyKey);
			}
			const before = state;
			if (history === null && isLate(state, event)) {
				history = [...(await readPreferenceHistory(this.env, contactId)), ...appliedPreferences];
			}
			state = applyArrived(state, event, topicOf, history);
			if (isPreferenceEvent(event)) (history ?? appliedPreferences).push(event);
			const effect = effectOf(event, before, state);
			applied.push(event);
			const properties = { ...event.properties };
			if (event.confirmUrl && event.topic && state.topics[event.topic]?.status === "pending") {
				properties.confirmUrl = event.confirmUrl;
			}
			rows.push({
				event: effect.event,
				channel: effect.channel,
				topic: effect.topic,
				changes: JSON.stringify(effect.changes),
				changed: effect.changes.length > 0 ? 1 : 0,
				properties: JSON.stringify(properties),
				...ledgerTexts(event),
				idempotencyKey: event.idempotencyKey,
				occurredAt: event.occurredAt,
			});
		}
		if (rows.length === 0) return { contact, ledgerIds: [], duplicates };

		// A confirmation through a signed link ends the suppression of the address it reached.
		const ended = new Set(applied.flatMap((event) => suppressionsEndedBy(event, context.source)));
		const endedAddresses = [...ended].map((kind) => contact[kind]).filter((address): address is string => !!address);
		const updatedAt = new Date().toISOString();
		const ledgerIds = await writeApplied(this.env, {
			contact,
			state,
			updatedAt,
			rows,
			keys,
			context,
			endedSuppressions: await keyedHashes(this.env, endedAddresses),
		});
		if (outboundEnabled(this.env)) await this.forward(contact, rows, ledgerIds, context);
		return { contact: { ...contact, consent: state, updatedAt }, ledgerIds, duplicates };
	}

	/**
	 * Queues the new ledger rows for the outbound webhook. After the commit: a failed enqueue is
	 * logged, never undone into the consent change (which is what counts), and not retried by the
	 * caller either, whose retry would be a duplicate.
	 */
	private async forward(contact: Contact, rows: LedgerInsert[], ledgerIds: number[], context: EventContext) {
		const who = {
			id: contact.id,
			externalId: contact.externalId,
			email: contact.email,
			phone: contact.phone,
			businessUnit: contact.businessUnit,
		};
		try {
			await enqueueOutbound(
				this.env,
				rows.map((row, index) => ({
					id: ledgerIds[index] as number,
					event: row.event,
					contact: who,
					channel: row.channel,
					topic: row.topic,
					changed: row.changed === 1,
					changes: JSON.parse(row.changes),
					properties: JSON.parse(row.properties),
					source: context.source,
					reason: row.reason,
					feedback: row.feedback,
					campaign: context.campaign,
					occurredAt: row.occurredAt,
					receivedAt: context.receivedAt,
				})),
			);
		} catch (error) {
			console.error(`outbound webhook: ledger events ${ledgerIds.join(",")} not queued: ${String(error)}`);
		}
	}

	private async updateProfileLocked(contactId: string, patch: ProfilePatch): Promise<ProfileResult> {
		const current = await readContact(this.env, contactId);
		if (!current) return { ok: false, conflict: "gone" };
		// A user's externalId never changes: a second externalId for the same person is a mismatch.
		if (patch.externalId !== undefined && current.externalId !== null && current.externalId !== patch.externalId) {
			return { ok: false, conflict: "external_id" };
		}
		return writeProfile(this.env, contactId, {
			externalId: patch.externalId ?? current.externalId,
			email: patch.email === undefined ? current.email : patch.email,
			phone: patch.phone === undefined ? current.phone : patch.phone,
			businessUnit: patch.businessUnit ?? current.businessUnit,
			traits: patch.traits ?? current.traits,
		});
	}
}
