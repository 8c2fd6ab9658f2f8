import { type Decision, decide } from "../consent/decision";
import { addressKindOf } from "../consent/suppression";
import type { Channel, ConsentState, MessageKind, TopicDefinition } from "../consent/types";
import { cachedHash, keyedHashes } from "../crypto";
import { type CheckRow, type RecipientGroup, type RecipientKind, readCheckRows } from "../db/checks";
import { findSuppressions } from "../db/suppressions";
import type { Bindings } from "../env";

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

export interface CheckResult extends Decision {
	contactId: string | null;
}

/** Up to this many recipients, the keyed hashes of their addresses are made before the query. */
const HASH_FIRST_LIMIT = 100;

function decisionFor(
	row: CheckRow | undefined,
	question: CheckQuestion,
	suppression: readonly string[] | null,
): CheckResult {
	let state: ConsentState | null = null;
	if (row?.id) {
		state = { blocked: row.blocked === 1, channels: {}, topics: {} };
		if (row.ch) state.channels[question.channel] = JSON.parse(row.ch);
		if (row.tp && question.topic) state.topics[question.topic.key] = JSON.parse(row.tp);
	}
	const decision = decide({
		state,
		addressBlocked: row?.address_blocked === 1,
		suppression,
		channel: question.channel,
		topic: question.topic,
		kind: question.kind,
	});
	return { ...decision, contactId: row?.id ?? null };
}

/**
 * Decisions for up to 10,000 recipients, in input order. One D1 round trip when the recipients
 * are addresses of the channel's kind; one more, for the suppressions, when some are reached
 * through their contact's address (users by externalId, or an email recipient asked about SMS).
 */
export async function checkConsent(
	env: Bindings,
	recipients: Recipient[],
	question: CheckQuestion,
): Promise<CheckResult[]> {
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
	const addressKind = addressKindOf(question.channel);
	const lookups = await Promise.all(
		kinds.map(async (kind): Promise<RecipientGroup> => {
			const { values } = groups[kind];
			if (kind !== addressKind) return { kind, values, hashes: null };
			// A few addresses are hashed now (microseconds); thousands only where their contact keeps
			// no hash, after the query (a stored contact's hash is in its row).
			const hashes =
				values.length <= HASH_FIRST_LIMIT
					? await keyedHashes(env, values)
					: values.map((value) => cachedHash(env, value));
			return { kind, values, hashes };
		}),
	);
	const answers = await readCheckRows(env, lookups, {
		channel: question.channel,
		addressKind,
		topicKey: question.topic?.key ?? null,
		businessUnit: question.businessUnit,
		sameUnitOnly: question.readableUnits !== null,
	});

	const rowsByPosition = new Array<CheckRow | undefined>(recipients.length);
	kinds.forEach((kind, k) => {
		const { positions } = groups[kind];
		// json_each keys are the input indexes; a LEFT JOIN keeps one row per recipient.
		for (const row of answers[k] ?? []) rowsByPosition[positions[row.i] as number] = row;
	});

	// The suppression of the address the channel reaches holds whatever contact has it now: the
	// addresses whose hash was not at hand are looked up with one more statement.
	const rows = recipients.map((_, position) => rowsByPosition[position]);
	const unhashed = [...new Set(rows.map((row) => row?.unhashed).filter((a): a is string => !!a))];
	const later = await findSuppressions(env, unhashed);

	return rows.map((row) => {
		const suppression = row?.suppression
			? (JSON.parse(row.suppression) as string[])
			: row?.unhashed
				? (later.get(row.unhashed)?.reasons ?? null)
				: null;
		return decisionFor(row, question, suppression);
	});
}
