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
import { keyedHashes } from "../crypto";
import { type CheckRow, type RecipientGroup, type RecipientKind, readCheckRows } from "../db/checks";
import { type Database, database } from "../db/client";
import { findSuppressions, type Suppression } from "../db/suppressions";
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
 * before contacts kept hashes).
 */
async function lookUp(
	env: Bindings,
	db: Database,
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
			return { kind, values, hashes: await keyedHashes(env, values) };
		}),
	);
	const read = await readCheckRows(db, lookups, { ...scope, addressKind }, lookUpTopic);

	const rows = new Array<CheckRow | undefined>(recipients.length);
	kinds.forEach((kind, k) => {
		const { positions } = groups[kind];
		// json_each keys are the input indexes; a LEFT JOIN keeps one row per recipient.
		for (const row of read.rows[k] ?? []) rows[positions[row[0]] as number] = row;
	});
	// The suppression of the address the channel reaches holds whatever contact has it now: the
	// addresses whose hash was not at hand are looked up by their hash now.
	const unhashed = new Set<string>();
	for (const row of rows) if (row?.[9]) unhashed.add(row[9]);
	const later = unhashed.size > 0 ? await findSuppressions(env, [...unhashed], db) : new Map<string, Suppression>();
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
	db: Database = database(env),
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
	db: Database,
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
