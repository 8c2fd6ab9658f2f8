import { type Decision, decide } from "../consent/decision";
import { addressKindOf } from "../consent/suppression";
import type { Channel, ConsentState, MessageKind, TopicDefinition } from "../consent/types";
import type { Bindings } from "../env";
import { cachedHash, findSuppressions, keyedHashes } from "../erasure/suppression";

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

interface Row {
	i: number;
	id: string | null;
	blocked: number | null;
	ch: string | null;
	tp: string | null;
	address_blocked: number;
	/** The suppression reasons (JSON) of the address the channel reaches, when its hash was at hand. */
	suppression: string | null;
	/** That address, when its hash was not at hand: looked up afterwards. */
	unhashed: string | null;
}

type RecipientKind = "externalId" | "email" | "phone";

/** Up to this many recipients, the keyed hashes of their addresses are made before the query. */
const HASH_FIRST_LIMIT = 100;

/**
 * One statement per recipient kind, whatever the count: recipients travel as one JSON array
 * parameter (D1 binds at most 100), each row carries only the consent fields the decision needs,
 * the bare-address blocklist is checked by primary key, and the suppression of the address the
 * channel reaches is found by the keyed hash the contact row keeps of it. For recipients that are
 * themselves such addresses (emails for email), the hash travels with them when it is at hand;
 * addresses with no hash at hand come back as `unhashed`.
 */
function statementFor(
	env: Bindings,
	kind: RecipientKind,
	values: string[],
	hashes: Array<string | null> | null,
	question: CheckQuestion,
) {
	const addressKind = addressKindOf(question.channel);
	const own = hashes !== null; // the recipients are addresses of the channel's kind
	const v = own ? "r.value ->> 0" : "r.value";
	const join =
		kind === "externalId"
			? `c.external_id = ${v} AND (?5 IS NULL OR c.business_unit = ?2)`
			: `c.business_unit = ?2 AND c.${kind} = ${v}`;
	// The recipient's own address equals the contact's email (or phone): probe it and the other one.
	const blocklisted = kind === "externalId" ? "c.email, c.phone" : kind === "email" ? `${v}, c.phone` : `${v}, c.email`;
	const hash = !addressKind ? "NULL" : own ? `coalesce(c.${addressKind}_hash, r.value ->> 1)` : `c.${addressKind}_hash`;
	const address = !addressKind ? "NULL" : own ? v : `c.${addressKind}`;
	return env.DB.prepare(
		`SELECT r.key AS i, c.id, c.consent ->> '$.blocked' AS blocked, c.consent -> ?3 AS ch, c.consent -> ?4 AS tp,
		   EXISTS (SELECT 1 FROM blocklist b WHERE b.address IN (${blocklisted})) AS address_blocked,
		   (SELECT s.reasons FROM suppressions s WHERE s.hash = ${hash}) AS suppression,
		   CASE WHEN ${hash} IS NULL THEN ${address} END AS unhashed
		 FROM json_each(?1) r LEFT JOIN contacts c ON ${join}`,
	).bind(
		JSON.stringify(own ? values.map((value, index) => [value, hashes[index]]) : values),
		question.businessUnit,
		`$.channels.${question.channel}`,
		question.topic ? `$.topics."${question.topic.key}"` : "$.none",
		...(kind === "externalId" ? [question.readableUnits ? 1 : null] : []),
	);
}

function decisionFor(
	row: Row | undefined,
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
	const statements = await Promise.all(
		kinds.map(async (kind) => {
			const { values } = groups[kind];
			if (kind !== addressKind) return statementFor(env, kind, values, null, question);
			// A few addresses are hashed now (microseconds); thousands only where their contact keeps
			// no hash, after the query (a stored contact's hash is in its row).
			const hashes =
				values.length <= HASH_FIRST_LIMIT
					? await keyedHashes(env, values)
					: values.map((value) => cachedHash(env, value));
			return statementFor(env, kind, values, hashes, question);
		}),
	);
	const answers =
		statements.length === 1
			? [await (statements[0] as D1PreparedStatement).all<Row>()]
			: await env.DB.batch<Row>(statements);

	const rowsByPosition = new Array<Row | undefined>(recipients.length);
	kinds.forEach((kind, k) => {
		const { positions } = groups[kind];
		// json_each keys are the input indexes; a LEFT JOIN keeps one row per recipient.
		for (const row of answers[k]?.results ?? []) rowsByPosition[positions[row.i] as number] = row;
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
