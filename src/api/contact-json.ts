import { effectiveTopicStatus } from "../consent/decision";
import { effectiveTopicSince, optOutBegan } from "../consent/reducer";
import type { Channel, ChannelState, TopicStatus } from "../consent/types";
import type { Contact } from "../db/contacts";

export type { Contact };

export interface ContactJson extends Omit<Contact, "consent" | "version"> {
	consent: {
		blocked: boolean;
		channels: Record<string, Required<ChannelState>>;
		topics: Record<string, { status: TopicStatus; channel: Channel; changedAt: string; statusSince: string }>;
	};
}

/** The API shape: topic statuses are effective statuses, with the time each began. */
export function toContactJson(contact: Contact): ContactJson {
	const topics: ContactJson["consent"]["topics"] = {};
	for (const [key, topic] of Object.entries(contact.consent.topics)) {
		topics[key] = {
			status: effectiveTopicStatus(contact.consent, key) ?? topic.status,
			channel: topic.channel,
			changedAt: topic.changedAt,
			statusSince: effectiveTopicSince(contact.consent, key) ?? topic.changedAt,
		};
	}
	const channels: ContactJson["consent"]["channels"] = {};
	for (const [name, channel] of Object.entries(contact.consent.channels)) {
		channels[name] = { ...channel, lastOptedOutAt: optOutBegan(channel), returnedAt: channel.returnedAt ?? null };
	}
	// The version is the actors' concurrency guard, not part of the API.
	const { version: _, ...fields } = contact;
	return {
		...fields,
		consent: { blocked: contact.consent.blocked, channels, topics },
	};
}
