/**
 * What a signed link points to: its token verified for the purpose, its contact and topic looked
 * up, and where its events are written. The link pages (src/web/) show a failure as their error
 * page; the mail handler (src/mail/) drops the mail and logs why.
 */
import { normalizeBusinessUnit, normalizeEmail, normalizePhone } from "../consent/normalize";
import { topicAvailableIn } from "../consent/topics";
import { CHANNELS, type Channel, type TopicDefinition } from "../consent/types";
import type { UnsubscribeScope } from "../consent/unsubscribe";
import { type Contact, findContact, findOrCreateLead } from "../db/contacts";
import { findTopic } from "../db/topics";
import { type Bindings, getConfig } from "../env";
import type { LinkClaims, LinkPurpose } from "../links/token";

export type LeadSubject = { email: string; businessUnit: string } | { phone: string; businessUnit: string };

/** What a verified link points to. */
export interface LinkTarget {
	claims: LinkClaims;
	businessUnit: string;
	/** null only for an email/phone subject that has no contact yet (a POST creates the lead). */
	contact: Contact | null;
	/** For email/phone subjects: the lead to create when the contact does not exist yet. */
	leadSubject: LeadSubject | null;
	/** The token's topic, when it names one (checked to exist and to be usable in the business unit). */
	topic: TopicDefinition | null;
	channel: Channel | null;
}

/**
 * Why a link does not resolve, as an HTTP status: 400 a bad, tampered or misused token, 410 an
 * expired one, 404 nothing (any more) behind it, 500 the service cannot verify links.
 */
export interface LinkFailure {
	status: 400 | 404 | 410 | 500;
	/** For the page's language when the subject names one. */
	businessUnit: string | null;
	/** A contact id or externalId whose contact does not exist (any more): the 404's cause. */
	contactMissing?: true;
}

export type Resolution = { ok: true; target: LinkTarget } | { ok: false; failure: LinkFailure };

const fail = (status: LinkFailure["status"], businessUnit: string | null = null) =>
	({ ok: false, failure: { status, businessUnit } }) as const;

/**
 * Verifies a link token for `purpose` and looks up its contact and topic, in parallel and with
 * nothing else: the one-click path reads one contact row and at most one topic row before the
 * contact's actor applies the event. Never throws for bad input; every failure is a page to show.
 */
export async function resolveLink(env: Bindings, token: string, purpose: LinkPurpose): Promise<Resolution> {
	let signer: Awaited<ReturnType<typeof getConfig>["linkSigner"]>;
	try {
		signer = await getConfig(env).linkSigner;
	} catch (error) {
		console.error("link pages: LINK_SIGNING_KEYS is missing or invalid", String(error));
		return fail(500);
	}
	const verified = await signer.verify(token);
	if (!verified.ok) return verified.reason === "expired" ? fail(410) : fail(400);
	const { claims } = verified;
	// A confirmation link must not unsubscribe, nor an unsubscribe link confirm.
	if (claims.purpose !== purpose) return fail(400);
	if (claims.channel !== undefined && !(CHANNELS as readonly string[]).includes(claims.channel)) {
		return fail(400);
	}

	const subject = claims.subject;
	let lookup: Parameters<typeof findContact>[1];
	let leadSubject: LeadSubject | null = null;
	if ("contactId" in subject || "externalId" in subject) {
		const value = "contactId" in subject ? subject.contactId : subject.externalId;
		if (typeof value !== "string" || value === "") return fail(400);
		lookup = subject;
	} else {
		const businessUnit = normalizeBusinessUnit(subject.businessUnit);
		if (!businessUnit) return fail(400);
		if ("email" in subject) {
			const email = normalizeEmail(subject.email);
			if (!email) return fail(400, businessUnit);
			leadSubject = { email, businessUnit };
		} else {
			const phone = normalizePhone(subject.phone);
			if (!phone) return fail(400, businessUnit);
			leadSubject = { phone, businessUnit };
		}
		lookup = leadSubject;
	}

	const [contact, topic] = await Promise.all([
		findContact(env, lookup),
		claims.topic ? findTopic(env, claims.topic) : Promise.resolve(null),
	]);
	if (!contact && !leadSubject) {
		return { ok: false, failure: { status: 404, businessUnit: null, contactMissing: true } };
	}
	const businessUnit = contact?.businessUnit ?? (leadSubject as LeadSubject).businessUnit;
	if (claims.topic) {
		// A topic deleted since the link was made (or of another business unit): nothing to act on.
		if (!topic || !topicAvailableIn(topic, businessUnit)) return fail(404, businessUnit);
		if (claims.channel && topic.channel !== claims.channel) return fail(400, businessUnit);
	}
	return {
		ok: true,
		target: {
			claims,
			businessUnit,
			contact,
			leadSubject,
			topic: claims.topic ? topic : null,
			channel: claims.channel ?? null,
		},
	};
}

/**
 * Where a link's events are written: its contact, or for an email/phone link without one, the lead
 * made at the write (only ever by a POST or a mail, never by a GET).
 */
export function linkWriteTarget(env: Bindings, target: LinkTarget) {
	const { contact, leadSubject } = target;
	return {
		businessUnit: target.businessUnit,
		contact: contact
			? async () => contact
			: () => findOrCreateLead(env, leadSubject as NonNullable<typeof leadSubject>),
	};
}

/** The link's own topic only: the unsubscribe paths never load the topic table. */
export const linkTopics = (target: LinkTarget): Map<string, TopicDefinition> =>
	new Map(target.topic ? [[target.topic.key, target.topic]] : []);

/** What the link's unsubscribe reaches: its topic, its channel, or every channel (a one-click, a mail). */
export const unsubscribeScopeOf = (target: LinkTarget): UnsubscribeScope => ({
	topic: target.topic?.key ?? null,
	channel: target.channel,
});
