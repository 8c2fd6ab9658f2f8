import { effectiveTopicStatus } from "../consent/decision";
import type { Channel, ChannelState, ConsentState, TopicStatus } from "../consent/types";

/** A contacts row as D1 returns it with `SELECT *`. */
export interface ContactRecord {
	id: string;
	external_id: string | null;
	email: string | null;
	business_unit: string;
	phone: string | null;
	traits: string;
	consent: string;
	created_at: string;
	updated_at: string;
}

export interface Contact {
	id: string;
	externalId: string | null;
	email: string | null;
	businessUnit: string;
	phone: string | null;
	traits: Record<string, unknown>;
	consent: ConsentState;
	createdAt: string;
	updatedAt: string;
}

export function fromRecord(row: ContactRecord): Contact {
	return {
		id: row.id,
		externalId: row.external_id,
		email: row.email,
		businessUnit: row.business_unit,
		phone: row.phone,
		traits: JSON.parse(row.traits),
		consent: JSON.parse(row.consent),
		createdAt: row.created_at,
		updatedAt: row.updated_at,
	};
}

export interface ContactJson extends Omit<Contact, "consent"> {
	consent: {
		blocked: boolean;
		channels: Record<string, ChannelState>;
		topics: Record<string, { status: TopicStatus; channel: Channel; changedAt: string }>;
	};
}

/** The API shape: topic statuses are effective statuses. */
export function toContactJson(contact: Contact): ContactJson {
	const topics: ContactJson["consent"]["topics"] = {};
	for (const [key, topic] of Object.entries(contact.consent.topics)) {
		topics[key] = {
			status: effectiveTopicStatus(contact.consent, key) ?? topic.status,
			channel: topic.channel,
			changedAt: topic.changedAt,
		};
	}
	return {
		...contact,
		consent: { blocked: contact.consent.blocked, channels: { ...contact.consent.channels }, topics },
	};
}
