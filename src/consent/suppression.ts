/**
 * Suppression: what a person said outlives their data. A suppression is a keyed hash of
 * a normalized email or phone with its reasons; these are its rules, as pure functions. Where the
 * hashes are kept and looked up is src/db/suppressions.ts.
 */
import { CHANNELS, type Channel, type ConsentState, type MessageKind } from "./types";

export const SUPPRESSION_REASONS = ["opted_out", "complaint", "bounced", "blocked"] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export type AddressKind = "email" | "phone";

/** The address a channel reaches a person at: suppressions of that address hold for the channel. */
export function addressKindOf(channel: Channel): AddressKind | null {
	if (channel === "email") return "email";
	if (channel === "sms" || channel === "whatsapp") return "phone";
	return null;
}

const channelsOf = (kind: AddressKind): Channel[] => CHANNELS.filter((channel) => addressKindOf(channel) === kind);

/**
 * Whether a suppression with these reasons denies a message of this kind. Marketing: always.
 * Transactional: only for an address that is blocked or undeliverable; a person who opted out and
 * signs up again must still get the confirmation mail.
 */
export function suppressionDenies(reasons: readonly string[], kind: MessageKind): boolean {
	if (reasons.length === 0) return false;
	return kind === "marketing" || reasons.includes("blocked") || reasons.includes("bounced");
}

/**
 * The suppressions an erased contact leaves, per address kind: the reasons its state gives for the
 * channels of that address (blocked counts for both). `complainedOn`: channels with a spam complaint
 * in the ledger. No reason: the address is forgotten completely.
 */
export function suppressionsAtErasure(
	state: ConsentState,
	complainedOn: ReadonlySet<Channel>,
): Record<AddressKind, SuppressionReason[]> {
	const reasonsFor = (kind: AddressKind): SuppressionReason[] => {
		const channels = channelsOf(kind).map((channel) => ({ channel, state: state.channels[channel] }));
		const reasons: SuppressionReason[] = [];
		if (channels.some((c) => c.state?.optedOut)) reasons.push("opted_out");
		if (channels.some((c) => complainedOn.has(c.channel))) reasons.push("complaint");
		if (channels.some((c) => c.state?.bounced)) reasons.push("bounced");
		if (state.blocked) reasons.push("blocked");
		return reasons;
	};
	return { email: reasonsFor("email"), phone: reasonsFor("phone") };
}

/** Reasons of one address, merged and in the canonical order. */
export function mergeReasons(...lists: ReadonlyArray<readonly string[]>): SuppressionReason[] {
	const all = new Set(lists.flat());
	return SUPPRESSION_REASONS.filter((reason) => all.has(reason));
}

/**
 * Only a double-opt-in confirmation through a signed link (or an operator) ends a suppression: the
 * link proves the address and the intent. The address kinds whose suppression an applied event of
 * this source ends.
 */
export function suppressionsEndedBy(event: { event: string; channel: Channel | null }, source: string): AddressKind[] {
	if (source !== "confirmation_page" || event.event !== "Confirm Subscription") return [];
	const kinds = (event.channel ? [event.channel] : CHANNELS).map(addressKindOf);
	return [...new Set(kinds.filter((kind): kind is AddressKind => kind !== null))];
}
