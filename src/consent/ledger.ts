/**
 * How an applied event reads in the ledger, besides what the reducer says it changed: the reason
 * (a code from the unsubscribe page, `complaint`, or a provider's text) and the person's own words.
 */
import type { ConsentEvent } from "./types";

const textOrNull = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

export function ledgerTexts(event: Pick<ConsentEvent, "event" | "properties">): {
	reason: string | null;
	feedback: string | null;
} {
	return {
		reason: textOrNull(event.properties.reason) ?? (event.event === "Complaint" ? "complaint" : null),
		feedback: textOrNull(event.properties.comment) ?? textOrNull(event.properties.feedback),
	};
}
