/**
 * A batch of events applied to one contact's state, as pure data: the new state and the ledger row
 * of every event. The contact's actor (an existing contact), the importer and the webhook consumer
 * (contacts they create) all shape their writes with it, so a contact reads the same in the ledger
 * however it was written.
 */
import { ledgerTexts } from "./ledger";
import { applyArrived, effectOf, isLate, isPreferenceEvent, type TopicLookup } from "./reducer";
import { type ConsentEvent, type ConsentState, emptyConsentState, type FieldChange } from "./types";

/** Where an event came from; its ledger row carries it. */
export interface EventOrigin {
	source: string;
	ip: string | null;
	userAgent: string | null;
	campaign: string | null;
	receivedAt: string;
}

export interface EventToApply extends ConsentEvent {
	idempotencyKey: string | null;
	/** For Subscribe to a double-opt-in topic: recorded with the ledger row when the topic ends up pending. */
	confirmUrl?: string;
	/** Where this event came from, when it differs from its batch's (a queue batch of many messages). */
	origin?: EventOrigin;
	/**
	 * Not recorded when it changes nothing: an import's event, which the importer chose as a change
	 * without the contact's history (a late event replayed in time order may change less).
	 */
	onlyIfItChanges?: boolean;
}

/** A ledger row as the actor and the importer write it. */
export interface LedgerRow extends EventOrigin {
	event: string;
	channel: string | null;
	topic: string | null;
	changes: FieldChange[];
	properties: Record<string, unknown>;
	reason: string | null;
	feedback: string | null;
	idempotencyKey: string | null;
	occurredAt: string;
}

export type BatchOutcome =
	| { needsHistory: true }
	| {
			needsHistory: false;
			state: ConsentState;
			/** One per applied event, in order. */
			rows: LedgerRow[];
			applied: EventToApply[];
			/** Events skipped because their idempotency key was applied before (or earlier in the batch). */
			duplicates: number;
	  };

/**
 * Applies `events` in arrival order to `state`. `seen` holds the idempotency keys already applied
 * to the contact; `history` its preference events as applied before (any order), or null when the
 * caller has not read them: a late event (`isLate`) then answers `needsHistory`, and the caller
 * reads the history and calls again. A contact that is being created has none: pass [].
 */
export function applyBatch(
	state: ConsentState,
	events: readonly EventToApply[],
	options: {
		topicOf: TopicLookup;
		seen: ReadonlySet<string>;
		history: readonly ConsentEvent[] | null;
		origin: EventOrigin;
	},
): BatchOutcome {
	const seen = new Set(options.seen);
	const history = options.history === null ? null : [...options.history];
	const rows: LedgerRow[] = [];
	const applied: EventToApply[] = [];
	let duplicates = 0;
	let current = state;
	for (const event of events) {
		if (event.idempotencyKey !== null) {
			if (seen.has(event.idempotencyKey)) {
				duplicates++;
				continue;
			}
			seen.add(event.idempotencyKey);
		}
		if (history === null && isLate(current, event)) return { needsHistory: true };
		const before = current;
		const after = applyArrived(current, event, options.topicOf, history);
		const effect = effectOf(event, before, after);
		// As if it had not come: not even its time is kept.
		if (event.onlyIfItChanges && effect.changes.length === 0) continue;
		current = after;
		if (history !== null && isPreferenceEvent(event)) history.push(event);
		const properties = { ...event.properties };
		if (event.confirmUrl && event.topic && current.topics[event.topic]?.status === "pending") {
			properties.confirmUrl = event.confirmUrl;
		}
		applied.push(event);
		rows.push({
			...(event.origin ?? options.origin),
			event: effect.event,
			channel: effect.channel,
			topic: effect.topic,
			changes: effect.changes,
			properties,
			...ledgerTexts(event),
			idempotencyKey: event.idempotencyKey,
			occurredAt: event.occurredAt,
		});
	}
	return { needsHistory: false, state: current, rows, applied, duplicates };
}

/**
 * The first events of a contact that does not exist yet, applied to the empty state: it has no
 * history and no idempotency keys applied before.
 */
export function applyToNewContact(
	events: readonly EventToApply[],
	options: { topicOf: TopicLookup; origin: EventOrigin },
): Extract<BatchOutcome, { needsHistory: false }> {
	const outcome = applyBatch(emptyConsentState(), events, { ...options, seen: new Set(), history: [] });
	if (outcome.needsHistory) throw new Error("reducer: a new contact has no history to wait for");
	return outcome;
}
