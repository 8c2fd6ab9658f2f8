export const CHANNELS = ["email", "sms", "whatsapp", "push"] as const;
export type Channel = (typeof CHANNELS)[number];

export const TOPIC_STATUSES = ["pending", "subscribed", "unsubscribed"] as const;
export type TopicStatus = (typeof TOPIC_STATUSES)[number];

export const MESSAGE_KINDS = ["marketing", "transactional"] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const SOURCES = [
	"api",
	"one_click",
	"mailto",
	"unsubscribe_page",
	"preference_center",
	"confirmation_page",
	"signup_form",
	"import",
	"erasure",
] as const;
/** Where a change came from; webhooks use `webhook:<provider>`. */
export type Source = (typeof SOURCES)[number] | `webhook:${string}`;

export interface ChannelState {
	optedOut: boolean;
	bounced: boolean;
	/** The latest of optedOutAt and bouncedAt. */
	changedAt: string;
	/** When the opt-out preference was last set (null: never); late events are judged against it. */
	optedOutAt: string | null;
	/** When the bounce flag last changed (null: never). */
	bouncedAt: string | null;
	/**
	 * When the latest opt-out period began: the opt-out that changed the channel from opted in to
	 * opted out. A repeated opt-out does not move it, and it stays after the person opts back in
	 * (null: never opted out). Absent only in states written before it was kept.
	 */
	lastOptedOutAt?: string | null;
	/**
	 * When the person came back: the opt-in that ended the latest opt-out period. Set exactly while
	 * the channel is opted in after having been opted out; null while opted out or when never opted
	 * out. Absent only in states written before it was kept.
	 */
	returnedAt?: string | null;
}

export interface TopicState {
	status: TopicStatus;
	/** The topic's channel, kept with the status so the effective status needs no topic lookup. */
	channel: Channel;
	/** When the status was last set, also when an event restated it. */
	changedAt: string;
	/**
	 * When the current status began: an event that restates the status does not move it. Absent only
	 * in states written before it was kept (changedAt stands in).
	 */
	statusSince?: string;
}

/** The whole consent state of one contact; stored as JSON on the contact row. */
export interface ConsentState {
	blocked: boolean;
	/** When the current block began (null or absent: not blocked, or blocked before it was kept). */
	blockedAt?: string | null;
	channels: Partial<Record<Channel, ChannelState>>;
	topics: Record<string, TopicState>;
	/** When the newest preference event applied so far happened: older ones arriving later are replayed in order. */
	preferencesAt?: string;
}

export interface TopicDefinition {
	key: string;
	name: string;
	description: string | null;
	channel: Channel;
	doubleOptIn: boolean;
	businessUnit: string | null;
	providerRefs: Record<string, string>;
}

export const SYSTEM_EVENTS = [
	"Opt Out",
	"Opt In",
	"Subscribe",
	"Confirm Subscription",
	"Unsubscribe",
	"Block",
	"Unblock",
	"Bounce",
	"Complaint",
] as const;
export type SystemEventName = (typeof SYSTEM_EVENTS)[number];

/** An event after validation: system names are canonical, the timestamp is ISO 8601 UTC. */
export interface ConsentEvent {
	event: string;
	channel: Channel | null;
	topic: string | null;
	properties: Record<string, unknown>;
	occurredAt: string;
}

/** An event as a writer asks for it (validated for shape, not yet against topics or time). */
export interface IncomingEvent {
	event: string;
	channel?: Channel | null;
	topic?: string | null;
	properties?: Record<string, unknown>;
	timestamp?: string;
	idempotencyKey?: string | null;
	/** Not recorded when it changes nothing (an import's event; EventToApply.onlyIfItChanges). */
	onlyIfItChanges?: boolean;
}

export interface FieldChange {
	field: string;
	from: unknown;
	to: unknown;
}

/** What the reducer says an event did; the actor adds source, IP, user agent and the rest. */
export interface LedgerEffect {
	event: string;
	channel: Channel | null;
	topic: string | null;
	changes: FieldChange[];
}

/** The reasons a person can pick on the unsubscribe page. */
export const UNSUBSCRIBE_REASONS = ["too_many", "not_relevant", "never_signed_up", "other"] as const;
export type UnsubscribeReason = (typeof UNSUBSCRIBE_REASONS)[number];

export const emptyConsentState = (): ConsentState => ({ blocked: false, channels: {}, topics: {} });
