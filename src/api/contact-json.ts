import { effectiveTopicStatus } from "../consent/decision";
import type { Channel, ChannelState, TopicStatus } from "../consent/types";
import type { Contact } from "../db/contacts";

export type { Contact };

export interface ContactJson extends Omit<Contact, "consent" | "version"> {
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
	// The version is the actors' concurrency guard, not part of the API.
	const { version: _, ...fields } = contact;
	return {
		...fields,
		consent: { blocked: contact.consent.blocked, channels: { ...contact.consent.channels }, topics },
	};
}
