/**
 * Unsubscribe by mail: the `mailto:` URI of List-Unsubscribe (RFC 2369 §3.2). With
 * LIST_UNSUBSCRIBE_MAILTO set, every link's mailto URI carries the link's token at the end of its
 * subject (packages/links/src/links.ts); Cloudflare Email Routing hands each mail to that address to
 * the worker's email() handler (src/index.ts), which calls receiveUnsubscribeMail.
 *
 * A mail with a valid unsubscribe token applies exactly what a one-click POST of that token applies
 * (src/web/unsubscribe/routes.ts): the same resolveLink, the same unsubscribeEvents for the token's
 * scope, the same recordEvents, with source `mailto`. Anything else changes nothing and is dropped:
 * never rejected, since a rejection bounces back to the sender, and the sender of an unsubscribe mail
 * is the recipient the service must not mail again (nor the victim of a forged From).
 */
import PostalMime, { type Email } from "postal-mime";
import { unsubscribeEvents } from "../consent/unsubscribe";
import { type LinkTarget, linkTopics, linkWriteTarget, resolveLink, unsubscribeScopeOf } from "../contacts/link-target";
import type { LinkBase } from "../contacts/record-events";
import { recordEvents } from "../contacts/record-events";
import { concatBytes, keyedHash } from "../crypto";
import type { Bindings } from "../env";
import { toApiError } from "../http/errors";
import { readHead } from "../jobs/upload";
import { tokenCandidates } from "./find-token";

/**
 * Larger mails are dropped unread. An unsubscribe mail is a subject line and a short body; a
 * megabyte leaves room for the quoted newsletter some clients attach, and keeps parsing cheap.
 */
export const MAX_MAIL_BYTES = 1024 * 1024;
/** The body is searched only when the subject holds no valid token, and only its first 64 KiB. */
const MAX_BODY_CHARS = 64 * 1024;
/** Token-shaped strings tried per place (subject, body): each costs an HMAC, a valid one two D1 reads. */
const MAX_CANDIDATES = 4;

/** Why a mail changed nothing. No reason names the sender, the recipient or the token. */
export type DropReason =
	| "too_large"
	| "unreadable"
	| "no_token"
	| "invalid_token"
	| "expired_token"
	| "not_found"
	| "refused";

export type MailOutcome = { result: "applied"; duplicate: boolean } | { result: "dropped"; reason: DropReason };

/** What is read of Cloudflare's ForwardableEmailMessage: the size first, the bytes only when it fits. */
export type UnsubscribeMail = Pick<ForwardableEmailMessage, "raw" | "rawSize">;

// What the parser may build: forwarded messages stay attachments (never parsed inline), and
// nesting is far shallower than postal-mime's default allows.
const PARSER_OPTIONS = { forceRfc822Attachments: true, maxRfc822NestingDepth: 0, maxNestingDepth: 16 };

/**
 * Applies the unsubscribe a mail asks for, or drops it, and logs the outcome without anything
 * personal (no address, subject, token or message id). Throws only when the service itself fails
 * (storage, configuration): Email Routing then answers the sending server with a temporary error,
 * the server sends the mail again later, and the idempotency key applies it once.
 */
export async function receiveUnsubscribeMail(message: UnsubscribeMail, env: Bindings): Promise<MailOutcome> {
	let outcome: MailOutcome;
	try {
		outcome = await unsubscribeByMail(message, env);
	} catch (error) {
		console.error("mailto unsubscribe failed, left for the sending server to retry:", (error as Error)?.name);
		throw error;
	}
	if (outcome.result === "applied") console.log(`mailto unsubscribe applied${outcome.duplicate ? " (a repeat)" : ""}`);
	else console.warn(`mailto unsubscribe dropped: ${outcome.reason}`);
	return outcome;
}

async function unsubscribeByMail(message: UnsubscribeMail, env: Bindings): Promise<MailOutcome> {
	// Checked before a byte is read: a huge mail costs nothing.
	if (!(message.rawSize <= MAX_MAIL_BYTES)) return dropped("too_large");
	const head = await readHead(message.raw, MAX_MAIL_BYTES);
	if (head.rest) {
		await head.rest.cancel();
		return dropped("too_large");
	}
	const bytes = concatBytes(...head.chunks);
	let email: Email;
	try {
		email = await PostalMime.parse(bytes, PARSER_OPTIONS);
	} catch {
		return dropped("unreadable");
	}

	// The subject is decoded (RFC 2047 encoded words, folding) by the parser. The body is the
	// fallback for clients that drop or rewrite the subject.
	let failure: DropReason | null = null;
	for (const text of [email.subject ?? "", (email.text ?? "").slice(0, MAX_BODY_CHARS)]) {
		for (const token of tokenCandidates(text, MAX_CANDIDATES)) {
			const resolved = await resolveLink(env, token, "manage");
			if (resolved.ok) return apply(env, resolved.target, email);
			const { status } = resolved.failure;
			// LINK_SIGNING_KEYS missing or invalid: the service's fault, not the mail's.
			if (status === 500) throw new Error("LINK_SIGNING_KEYS is missing or invalid");
			failure ??= status === 410 ? "expired_token" : status === 404 ? "not_found" : "invalid_token";
		}
	}
	return dropped(failure ?? "no_token");
}

const dropped = (reason: DropReason): MailOutcome => ({ result: "dropped", reason });

// An unsubscribe never subscribes, so it never makes a confirmation link.
const noLinks: LinkBase = () => {
	throw new Error("an unsubscribe by mail makes no links");
};

/**
 * The one-click of the token: its scope's events through the one write path, as the page's
 * `record` does it for POST /u/{token}, with a mail's context instead of a request's (no IP, no user
 * agent) and the mail's idempotency key.
 */
async function apply(env: Bindings, target: LinkTarget, email: Email): Promise<MailOutcome> {
	const idempotencyKey = await idempotencyKeyOf(env, email);
	const events = unsubscribeEvents(unsubscribeScopeOf(target)).map((event) => ({
		...event,
		idempotencyKey,
	}));
	try {
		const result = await recordEvents(
			env,
			linkWriteTarget(env, target),
			events,
			{
				source: "mailto",
				ip: null,
				userAgent: null,
				campaign: target.claims.campaign ?? null,
				receivedAt: new Date().toISOString(),
			},
			noLinks,
			linkTopics(target),
		);
		return { result: "applied", duplicate: result.duplicates > 0 };
	} catch (error) {
		const known = toApiError(error);
		if (known && known.status < 500) return dropped("refused");
		throw error;
	}
}

/**
 * `mailto:<keyed hash>` of the Message-ID: a mailbox that sends the same mail twice (or a server
 * retrying after a temporary error) applies it once. The id is hashed with SUPPRESSION_PEPPER, as
 * provider event ids are, because message ids may embed an address. A mail without one (RFC 5322
 * §3.6.4 only says SHOULD) is known by its Date, From and Subject; without a Date, it has no key.
 */
async function idempotencyKeyOf(env: Bindings, email: Email): Promise<string | null> {
	const id = email.messageId?.trim();
	const header = (name: string) => email.headers.find((h) => h.key === name)?.value.trim() ?? "";
	const identity = id
		? `id:${id}`
		: header("date")
			? `date:${header("date")}\n${header("from")}\n${header("subject")}`
			: null;
	return identity ? `mailto:${await keyedHash(env, identity)}` : null;
}
