import { DurableObject } from "cloudflare:workers";
import { ERASED, ERASED_EVENT, KNOWN_EVENT_NAMES, KNOWN_REASON_CODES } from "../consent/erasure";
import { applyArrived, effectOf, isLate, isPreferenceEvent, PREFERENCE_EVENTS } from "../consent/reducer";
import {
	addressKindOf,
	mergeReasons,
	type SuppressionReason,
	suppressionsAtErasure,
	suppressionsEndedBy,
} from "../consent/suppression";
import type { Channel, ConsentEvent, ConsentState, Source, TopicDefinition } from "../consent/types";
import type { Bindings } from "../env";
import {
	addressHashes,
	addSuppressionStatements,
	keyedHashes,
	removeSuppressionStatements,
	type SuppressionEntry,
	suppressionHash,
	suppressionSubject,
} from "../erasure/suppression";
import { enqueueOutbound, outboundEnabled } from "../outbound/outbound";
import { type Contact, type ContactRecord, fromRecord } from "./contact-row";

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

export type ProfileResult =
	| { ok: true; contact: Contact }
	| { ok: false; conflict: "external_id" | "identity" | "gone" };

/** One ledger row as the insert reads it from JSON. */
interface LedgerInsert {
	event: string;
	channel: string | null;
	topic: string | null;
	changes: string;
	changed: 0 | 1;
	properties: string;
	reason: string | null;
	feedback: string | null;
	idempotencyKey: string | null;
	occurredAt: string;
}

/** What a provider event that never applied (a dead letter) said, as a suppression reason. */
const UNAPPLIED_REASONS: Record<string, SuppressionReason> = {
	unsubscribe: "opted_out",
	opt_out: "opted_out",
	complaint: "complaint",
	hard_bounce: "bounced",
};

const textOrNull = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

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
		const db = this.env.DB;
		const record = await db.prepare("SELECT * FROM contacts WHERE id = ?").bind(contactId).first<ContactRecord>();
		if (!record) return null;
		const contact = fromRecord(record);
		const addresses = { email: contact.email, phone: contact.phone };
		const recipients = JSON.stringify(
			[contact.email, contact.phone, contact.phone && `whatsapp:${contact.phone}`].filter(Boolean),
		);
		const deadLetters = `json_valid(body) AND (json_extract(body, '$.event.contact.id') = ?1
			OR lower(trim(json_extract(body, '$.event.recipient'))) IN (SELECT value FROM json_each(?2)))`;
		const [complaints, blocked, failed] = await db.batch([
			db
				.prepare(
					"SELECT DISTINCT coalesce(channel, 'email') AS channel FROM ledger WHERE contact_id = ? AND event = 'Complaint'",
				)
				.bind(contactId),
			db
				.prepare("SELECT address FROM blocklist WHERE address IN (SELECT value FROM json_each(?))")
				.bind(JSON.stringify([contact.email, contact.phone].filter(Boolean))),
			// Provider events about the address that never applied still say what the person did.
			db
				.prepare(
					`SELECT json_extract(body, '$.event.action.kind') AS action, json_extract(body, '$.event.action.list') AS list,
					   json_extract(body, '$.event.channel') AS channel
					 FROM dead_letters WHERE ${deadLetters}`,
				)
				.bind(contactId, recipients),
		]);
		const complainedOn = new Set(
			((complaints?.results ?? []) as Array<{ channel: Channel }>).map((row) => row.channel),
		);
		const blocklisted = new Set(((blocked?.results ?? []) as Array<{ address: string }>).map((row) => row.address));
		const atErasure = suppressionsAtErasure(contact.consent, complainedOn);
		const entries: SuppressionEntry[] = [];
		for (const kind of ["email", "phone"] as const) {
			const address = addresses[kind];
			if (!address) continue;
			const unapplied = (
				(failed?.results ?? []) as Array<{ action: string | null; list: string | null; channel: Channel | null }>
			)
				.filter((row) => row.channel && addressKindOf(row.channel) === kind)
				// A provider-wide unsubscribe; one of a list only meant that list.
				.filter((row) => row.action !== "unsubscribe" || row.list === null)
				.map((row) => UNAPPLIED_REASONS[row.action ?? ""])
				.filter((reason): reason is SuppressionReason => reason !== undefined);
			const reasons = mergeReasons(atErasure[kind], unapplied, blocklisted.has(address) ? ["blocked"] : []);
			if (reasons.length > 0) entries.push({ hash: await suppressionHash(this.env, address), kind, reasons });
		}
		// The ledger subjects of its addresses' suppressions: an `Unsuppress` through a confirmation
		// link recorded the IP and user agent of who confirmed.
		const subjects = (
			await keyedHashes(
				this.env,
				[contact.email, contact.phone].filter((address): address is string => !!address),
			)
		).map(suppressionSubject);
		const properties = { suppressed: entries.length > 0 };
		const change = { source: "erasure", ip: null, userAgent: null, at: context.receivedAt };
		const results = await db.batch([
			...(entries.length > 0 ? addSuppressionStatements(db, entries, change) : []),
			db
				.prepare(
					`UPDATE ledger SET ip = NULL, user_agent = NULL, feedback = NULL, properties = '{}', idempotency_key = NULL,
					   reason = CASE WHEN reason IS NULL OR reason IN (SELECT value FROM json_each(?2)) THEN reason ELSE ?3 END,
					   event = CASE WHEN event IN (SELECT value FROM json_each(?4)) THEN event ELSE ?5 END
					 WHERE contact_id = ?1`,
				)
				.bind(contactId, JSON.stringify(KNOWN_REASON_CODES), ERASED, JSON.stringify(KNOWN_EVENT_NAMES), ERASED_EVENT),
			db
				.prepare("UPDATE ledger SET ip = NULL, user_agent = NULL WHERE contact_id IN (SELECT value FROM json_each(?))")
				.bind(JSON.stringify(subjects)),
			db.prepare("DELETE FROM idempotency_keys WHERE contact_id = ?").bind(contactId),
			db.prepare("DELETE FROM contacts WHERE id = ?").bind(contactId),
			db
				.prepare("DELETE FROM blocklist WHERE address IN (SELECT value FROM json_each(?))")
				.bind(JSON.stringify([...blocklisted])),
			db.prepare(`DELETE FROM dead_letters WHERE ${deadLetters}`).bind(contactId, recipients),
			db
				.prepare(
					`INSERT INTO ledger (contact_id, event, changes, changed, properties, source, ip, user_agent, occurred_at, received_at)
					 VALUES (?1, 'Erase', '[]', 1, ?2, 'erasure', NULL, NULL, ?3, ?3) RETURNING id`,
				)
				.bind(contactId, JSON.stringify(properties), context.receivedAt),
		]);
		const ledgerId = (results.at(-1)?.results[0] as { id: number } | undefined)?.id ?? 0;
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
		const db = this.env.DB;
		const keys = events.map((e) => e.idempotencyKey).filter((k): k is string => k !== null);
		const [contactRead, seenRead] = await db.batch([
			db.prepare("SELECT * FROM contacts WHERE id = ?").bind(contactId),
			db
				.prepare("SELECT key FROM idempotency_keys WHERE contact_id = ? AND key IN (SELECT value FROM json_each(?))")
				.bind(contactId, JSON.stringify(keys)),
		]);
		const record = contactRead?.results[0] as ContactRecord | undefined;
		if (!record) throw new Error(`contact ${contactId} does not exist`);
		const contact = fromRecord(record);
		const seen = new Set(((seenRead?.results ?? []) as Array<{ key: string }>).map((row) => row.key));
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
				history = [...(await this.preferenceHistory(contactId)), ...appliedPreferences];
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
				reason: textOrNull(event.properties.reason) ?? (event.event === "Complaint" ? "complaint" : null),
				feedback: textOrNull(event.properties.comment) ?? textOrNull(event.properties.feedback),
				idempotencyKey: event.idempotencyKey,
				occurredAt: event.occurredAt,
			});
		}
		if (rows.length === 0) return { contact, ledgerIds: [], duplicates };

		// State, ledger rows and idempotency keys land in one batch (one transaction): all or nothing.
		// Rows travel as one JSON parameter because D1 binds at most 100 parameters per statement.
		// A confirmation through a signed link ends the suppression of the address it reached.
		const ended = new Set(applied.flatMap((event) => suppressionsEndedBy(event, context.source)));
		const endedAddresses = [...ended].map((kind) => contact[kind]).filter((address): address is string => !!address);
		const endedHashes = await Promise.all(endedAddresses.map((address) => suppressionHash(this.env, address)));

		const hashes = await addressHashes(this.env, contact);
		const updatedAt = new Date().toISOString();
		const [, inserted] = await db.batch([
			// The address hashes too: rows written before contacts kept them get them on their next write.
			db
				.prepare("UPDATE contacts SET consent = ?, updated_at = ?, email_hash = ?, phone_hash = ? WHERE id = ?")
				.bind(JSON.stringify(state), updatedAt, hashes.emailHash, hashes.phoneHash, contactId),
			db
				.prepare(
					`INSERT INTO ledger (contact_id, event, channel, topic, changes, changed, properties, source, reason,
					   feedback, ip, user_agent, campaign, idempotency_key, occurred_at, received_at)
					 SELECT ?1, r.value ->> 'event', r.value ->> 'channel', r.value ->> 'topic', r.value ->> 'changes',
					   r.value ->> 'changed', r.value ->> 'properties', ?2, r.value ->> 'reason', r.value ->> 'feedback',
					   ?3, ?4, ?5, r.value ->> 'idempotencyKey', r.value ->> 'occurredAt', ?6
					 FROM json_each(?7) r ORDER BY r.key
					 RETURNING id`,
				)
				.bind(
					contactId,
					context.source,
					context.ip,
					context.userAgent,
					context.campaign,
					context.receivedAt,
					JSON.stringify(rows),
				),
			db
				.prepare(
					"INSERT INTO idempotency_keys (contact_id, key, created_at) SELECT ?1, value, ?2 FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING",
				)
				.bind(contactId, updatedAt, JSON.stringify(keys)),
			...(endedHashes.length > 0
				? removeSuppressionStatements(db, endedHashes, {
						source: context.source,
						ip: context.ip,
						userAgent: context.userAgent,
						at: context.receivedAt,
					})
				: []),
		]);
		const ledgerIds = ((inserted?.results ?? []) as Array<{ id: number }>).map((row) => row.id).sort((a, b) => a - b);
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

	/** The contact's preference events as the ledger recorded them, in arrival order. */
	private async preferenceHistory(contactId: string): Promise<ConsentEvent[]> {
		const { results } = await this.env.DB.prepare(
			`SELECT event, channel, topic, properties, occurred_at FROM ledger
			 WHERE contact_id = ? AND event IN (SELECT value FROM json_each(?)) ORDER BY id`,
		)
			.bind(contactId, JSON.stringify([...PREFERENCE_EVENTS]))
			.all<{ event: string; channel: Channel | null; topic: string | null; properties: string; occurred_at: string }>();
		return results.map((row) => ({
			event: row.event,
			channel: row.channel,
			topic: row.topic,
			properties: JSON.parse(row.properties),
			occurredAt: row.occurred_at,
		}));
	}

	private async updateProfileLocked(contactId: string, patch: ProfilePatch): Promise<ProfileResult> {
		const db = this.env.DB;
		const record = await db.prepare("SELECT * FROM contacts WHERE id = ?").bind(contactId).first<ContactRecord>();
		if (!record) return { ok: false, conflict: "gone" };
		const current = fromRecord(record);
		// A user's externalId never changes: a second externalId for the same person is a mismatch.
		if (patch.externalId !== undefined && current.externalId !== null && current.externalId !== patch.externalId) {
			return { ok: false, conflict: "external_id" };
		}
		const next = {
			externalId: patch.externalId ?? current.externalId,
			email: patch.email === undefined ? current.email : patch.email,
			phone: patch.phone === undefined ? current.phone : patch.phone,
			businessUnit: patch.businessUnit ?? current.businessUnit,
			traits: patch.traits ?? current.traits,
		};
		try {
			const { emailHash, phoneHash } = await addressHashes(this.env, next);
			const row = await db
				.prepare(
					`UPDATE contacts SET external_id = ?, email = ?, phone = ?, email_hash = ?, phone_hash = ?,
					   business_unit = ?, traits = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
					 WHERE id = ? RETURNING *`,
				)
				.bind(
					next.externalId,
					next.email,
					next.phone,
					emailHash,
					phoneHash,
					next.businessUnit,
					JSON.stringify(next.traits),
					contactId,
				)
				.first<ContactRecord>();
			if (!row) return { ok: false, conflict: "gone" };
			return { ok: true, contact: fromRecord(row) };
		} catch (error) {
			if (String(error).includes("UNIQUE constraint failed")) {
				return { ok: false, conflict: String(error).includes("external_id") ? "external_id" : "identity" };
			}
			throw error;
		}
	}
}
