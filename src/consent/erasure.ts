/**
 * What of a ledger row survives an erasure: event, channel, topic, changes, source,
 * campaign and times stay as proof; anything a person or a provider could have written freely goes.
 * The same rules scrub ledger rows in D1 and outbound messages still in their queue.
 */
import { SUPPRESSION_REASONS } from "./suppression";
import { SYSTEM_EVENTS, UNSUBSCRIBE_REASONS } from "./types";

/** Reason codes the service itself writes; any other reason text is free text and is replaced. */
export const KNOWN_REASON_CODES: readonly string[] = [...UNSUBSCRIBE_REASONS, ...SUPPRESSION_REASONS];

/** Event names the service itself knows; a custom event's name may say anything and is replaced. */
export const KNOWN_EVENT_NAMES: readonly string[] = [...SYSTEM_EVENTS, "Erase", "Suppress", "Unsuppress"];

export const ERASED = "erased";
export const ERASED_EVENT = "Custom event (erased)";

export const scrubbedReason = (reason: string | null): string | null =>
	reason === null || KNOWN_REASON_CODES.includes(reason) ? reason : ERASED;

export const scrubbedEventName = (name: string): string => (KNOWN_EVENT_NAMES.includes(name) ? name : ERASED_EVENT);
