/**
 * Where a link token hides in an unsubscribe mail. The List-Unsubscribe mailto URI puts it at the
 * end of the subject (`subject=unsubscribe%20TOKEN`, packages/links/src/links.ts), and mail clients
 * pass it on in their own ways: decoded or still percent-encoded, after "Re:" or "AW:", or, when a
 * client drops the subject, pasted into the body. Pure: this only finds strings shaped like tokens;
 * whether one is valid only the signer says.
 */
import { KID_PATTERN } from "../links/token";

// `<kid>.<payload>.<signature>` (packages/links/src/token.ts): a key id (the signer's KID_PATTERN,
// unanchored), a base64url payload, and the base64url of an HMAC-SHA-256 (43 characters). Not glued
// to other base64url text.
const KID = KID_PATTERN.source.replace(/^\^|\$$/g, "");
const TOKEN_SHAPE = new RegExp(
	`(?<![A-Za-z0-9_-])${KID}\\.[A-Za-z0-9_-]{16,2000}\\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])`,
	"g",
);

// A percent-escape is never part of a token; a client that left the subject encoded
// ("unsubscribe%20k1.…") still separates the token from the word before it.
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/g;

/** Strings shaped like link tokens in `text`, in order, without repeats; at most `max`. */
export function tokenCandidates(text: string, max: number): string[] {
	const found: string[] = [];
	for (const match of text.replace(PERCENT_ESCAPE, " ").matchAll(TOKEN_SHAPE)) {
		if (!found.includes(match[0])) found.push(match[0]);
		if (found.length >= max) break;
	}
	return found;
}
