import { type Decision, decide } from "../consent/decision";
import { addressKindOf } from "../consent/suppression";
import { resolveTopic, topicProblemMessage } from "../consent/topics";
import type {
	Channel,
	ChannelState,
	ConsentState,
	MessageKind,
	TopicDefinition,
	TopicState,
	TopicStatus,
} from "../consent/types";
import { cachedHash, keyedHashes } from "../crypto";
import { type CheckRow, type RecipientGroup, type RecipientKind, readCheckRows } from "../db/checks";
import { type AnyDatabase, database } from "../db/client";
import { findSuppressionsByHash, type Suppression } from "../db/suppressions";
import type { Topic } from "../db/topics";
import type { Bindings } from "../env";
import { invalid } from "../http/errors";

export type Recipient = { externalId: string } | { email: string } | { phone: string };

export interface CheckQuestion {
	channel: Channel;
	topic: TopicDefinition | null;
	kind: MessageKind;
	/** Business unit for email and phone recipients; externalIds are unique system-wide. */
	businessUnit: string;
	/**
	 * The units the asking key may read (null: all). A user found by externalId in another unit is
	 * answered as an unknown recipient of `businessUnit`, never with its state.
	 */
	readableUnits: readonly string[] | null;
}

/** A check as the API asks it: the topic named by its key, not read yet. */
export interface CheckRequest extends Omit<CheckQuestion, "topic"> {
	topicKey: string | null;
	/**
	 * For the single check of a user by externalId: the user is looked up in every unit, and this
	 * gets the unit it was found in (null: not found) and answers the unit whose topics count, after
	 * making sure the key may read it (it throws otherwise).
	 */
	unitOfUser?: (found: string | null) => string;
}

export interface CheckResult extends Decision {
	contactId: string | null;
}

/**
 * Up to this many recipients of a kind, the keyed hashes of their addresses are made before the
 * query (microseconds), so that an address without a contact needs no second statement. For more,
 * none are: thousands of hashes would cost more than they save (and weigh on the statement), a
 * stored contact's hash is in its row, and only the addresses found without one are hashed and
 * looked up afterwards.
 */
const HASH_FIRST_LIMIT = 100;

/**
 * Addresses this isolate found without a contact (or without a stored hash) in a large batch.
 * Senders check the same audience campaign after campaign, so the suppressions of these are read
 * alongside the contacts' rows, not after them. Only a hint, never an answer: an address that has
 * a contact by now is answered from its row, and one not hinted (or whose hash this isolate no
 * longer has) is looked up afterwards as before. At most HINTS, the oldest go first.
 */
const contactless = new Set<string>();
const HINTS = 50_000;

function hint(address: string): void {
	if (contactless.has(address)) return;
	if (contactless.size >= HINTS) contactless.delete(contactless.values().next().value as string);
	contactless.add(address);
}

/** Keyed hashes of addresses; those this isolate made before cost nothing. */
async function hashesOf(env: Bindings, addresses: string[]): Promise<string[]> {
	const cached = addresses.map((address) => cachedHash(env, address));
	return cached.includes(null) ? keyedHashes(env, addresses) : (cached as string[]);
}

/** What the reads found for each recipient, in input order. */
interface Found {
	rows: Array<CheckRow | undefined>;
	/** Suppressions of the addresses whose hash was not at hand (`unhashed`), by address. */
	later: Map<string, Suppression>;
	topic?: Topic | null;
}

/**
 * The rows of every recipient: one statement per kind of recipient, with the topic's row when
 * `lookUpTopic`, in one D1 round trip; one more only for addresses whose hash was not at hand (an
 * address without a contact in a batch of more than HASH_FIRST_LIMIT, or a contact row written
 * before contacts kept hashes), and that one alongside the first for the addresses hinted above.
 */
async function lookUp(
	env: Bindings,
	db: AnyDatabase,
	recipients: Recipient[],
	scope: { channel: Channel; topicKey: string | null; businessUnit: string; sameUnitOnly: boolean; withUnit?: boolean },
	lookUpTopic: boolean,
): Promise<Found> {
	const groups: Record<RecipientKind, { positions: number[]; values: string[] }> = {
		externalId: { positions: [], values: [] },
		email: { positions: [], values: [] },
		phone: { positions: [], values: [] },
	};
	recipients.forEach((recipient, position) => {
		const kind: RecipientKind = "externalId" in recipient ? "externalId" : "email" in recipient ? "email" : "phone";
		const group = groups[kind];
		group.positions.push(position);
		group.values.push((recipient as Record<RecipientKind, string>)[kind]);
	});
	const kinds = (Object.keys(groups) as RecipientKind[]).filter((kind) => groups[kind].values.length > 0);
	const addressKind = addressKindOf(scope.channel);
	const lookups = await Promise.all(
		kinds.map(async (kind): Promise<RecipientGroup> => {
			const { values } = groups[kind];
			if (kind !== addressKind || values.length > HASH_FIRST_LIMIT) return { kind, values, hashes: null };
			return { kind, values, hashes: await hashesOf(env, values) };
		}),
	);
	// The hinted addresses of a large batch whose hash is at hand, and those hashes.
	const early = new Map<string, string>();
	const large = addressKind && lookups.find((group) => group.kind === addressKind && group.hashes === null);
	if (large && contactless.size > 0) {
		for (const value of large.values) {
			const hash = contactless.has(value) ? cachedHash(env, value) : null;
			if (hash) early.set(value, hash);
		}
	}
	const [read, earlyFound] = await Promise.all([
		readCheckRows(db, lookups, { ...scope, addressKind }, lookUpTopic),
		early.size > 0 ? findSuppressionsByHash(env, [...early.values()], db) : null,
	]);

	const rows = new Array<CheckRow | undefined>(recipients.length);
	kinds.forEach((kind, k) => {
		const { positions } = groups[kind];
		// json_each keys are the input indexes; a LEFT JOIN keeps one row per recipient.
		for (const row of read.rows[k] ?? []) rows[positions[row[0]] as number] = row;
	});
	// The suppression of the address the channel reaches holds whatever contact has it now: the
	// addresses whose hash was not at hand are looked up by their hash (read early, or now).
	const later = new Map<string, Suppression>();
	const unhashed = new Set<string>();
	const seen = new Set<string>();
	for (const row of rows) {
		const address = row?.[9];
		if (!address) continue;
		seen.add(address);
		const hash = earlyFound ? early.get(address) : undefined;
		if (hash === undefined) unhashed.add(address);
		else {
			const suppression = earlyFound?.get(hash);
			if (suppression) later.set(address, suppression);
		}
		if (large) hint(address);
	}
	// A hinted address that has a contact with a hash by now needs no early read any more.
	for (const address of early.keys()) if (!seen.has(address)) contactless.delete(address);
	if (unhashed.size > 0) {
		const addresses = [...unhashed];
		const hashes = await hashesOf(env, addresses);
		const found = await findSuppressionsByHash(env, hashes, db);
		addresses.forEach((address, index) => {
			const suppression = found.get(hashes[index] as string);
			if (suppression) later.set(address, suppression);
		});
	}
	return { rows, later, topic: read.topic };
}

function decisionFor(row: CheckRow | undefined, question: CheckQuestion, later: Map<string, Suppression>): CheckResult {
	if (!row)
		return { ...decide({ ...question, state: null, addressBlocked: false, suppression: null }), contactId: null };
	const [, id, , blocked, optedOut, bounced, topicStatus, addressBlocked, suppression, unhashed] = row;
	let state: ConsentState | null = null;
	if (id) {
		state = { blocked: blocked === 1, channels: {}, topics: {} };
		// The decision reads a channel's two flags and a topic's status, all the row carries.
		if (optedOut !== null || bounced !== null) {
			state.channels[question.channel] = { optedOut: optedOut === 1, bounced: bounced === 1 } as ChannelState;
		}
		if (topicStatus && question.topic) {
			state.topics[question.topic.key] = { status: topicStatus as TopicStatus } as TopicState;
		}
	}
	const decision = decide({
		state,
		addressBlocked: addressBlocked === 1,
		suppression: suppression
			? (JSON.parse(suppression) as string[])
			: unhashed
				? (later.get(unhashed)?.reasons ?? null)
				: null,
		channel: question.channel,
		topic: question.topic,
		kind: question.kind,
	});
	return { allowed: decision.allowed, reason: decision.reason, contactId: id };
}

/**
 * Decisions for up to 10,000 recipients, in input order, for a question whose topic is known.
 * Reads through `db` (default: the primary).
 */
export async function checkConsent(
	env: Bindings,
	recipients: Recipient[],
	question: CheckQuestion,
	db: AnyDatabase = database(env),
): Promise<CheckResult[]> {
	const found = await lookUp(
		env,
		db,
		recipients,
		{
			channel: question.channel,
			topicKey: question.topic?.key ?? null,
			businessUnit: question.businessUnit,
			sameUnitOnly: question.readableUnits !== null,
		},
		false,
	);
	return found.rows.map((row) => decisionFor(row, question, found.later));
}

/**
 * Decisions for up to 10,000 recipients, in input order, as the API asks: the topic's row is read
 * with the recipients' rows, in the same round trip through `db` (a session), and must be usable
 * in the business unit (else 400 VALIDATION_FAILED, as if it had been read first).
 */
export async function answerCheck(
	env: Bindings,
	db: AnyDatabase,
	recipients: Recipient[],
	request: CheckRequest,
): Promise<CheckResult[]> {
	const { channel, topicKey, unitOfUser } = request;
	const found = await lookUp(
		env,
		db,
		recipients,
		{
			channel,
			topicKey,
			businessUnit: request.businessUnit,
			sameUnitOnly: !unitOfUser && request.readableUnits !== null,
			withUnit: unitOfUser !== undefined,
		},
		true,
	);
	const businessUnit = unitOfUser ? unitOfUser(found.rows[0]?.[2] ?? null) : request.businessUnit;
	let topic: TopicDefinition | null = null;
	if (topicKey) {
		const resolved = resolveTopic(found.topic, { channel, businessUnit });
		if ("problem" in resolved)
			throw invalid(topicProblemMessage(topicKey, resolved.problem, { channel, businessUnit }));
		topic = resolved.topic;
	}
	const question: CheckQuestion = {
		channel,
		topic,
		kind: request.kind,
		businessUnit,
		readableUnits: request.readableUnits,
	};
	return found.rows.map((row) => decisionFor(row, question, found.later));
}
