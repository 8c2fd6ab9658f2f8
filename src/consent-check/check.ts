import { type Decision, decide } from "../consent/decision";
import { addressKindOf } from "../consent/suppression";
import type { Channel, ConsentState, MessageKind, TopicDefinition } from "../consent/types";
import type { Bindings } from "../env";
import { findSuppressionsByHash, keyedHashes } from "../erasure/suppression";

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
	/** The suppression reasons (JSON) of the recipient's own address, when it was hashed beforehand. */
	suppression: string | null;
	/** The contact's address for the channel, when the suppression must be looked up afterwards. */
	address: string | null;
}

type RecipientKind = "externalId" | "email" | "phone";

/**
 * How each recipient kind finds its contact, and which addresses the blocklist probe needs. `v` is
 * the recipient's value in the JSON parameter.
 */
function joinOf(kind: RecipientKind, v: string): { join: string; addresses: string } {
	if (kind === "externalId")
		return { join: `c.external_id = ${v} AND (?5 IS NULL OR c.business_unit = ?2)`, addresses: "c.email, c.phone" };
	// The recipient's own address equals the contact's email (or phone): probe it and the other one.
	if (kind === "email") return { join: `c.business_unit = ?2 AND c.email = ${v}`, addresses: `${v}, c.phone` };
	return { join: `c.business_unit = ?2 AND c.phone = ${v}`, addresses: `${v}, c.email` };
}

/**
 * One statement per recipient kind, whatever the count: recipients travel as one JSON array
 * parameter (D1 binds at most 100), each row carries only the consent fields the decision needs,
 * and the bare-address blocklist is checked by primary key in the same statement. When the
 * recipients are addresses of the channel's kind (emails for email), their keyed hashes travel
 * with them and the suppression lookup is part of the statement too.
 */
function statementFor(
	env: Bindings,
	kind: RecipientKind,
	values: string[],
	hashes: string[] | null,
	question: CheckQuestion,
) {
	const addressKind = addressKindOf(question.channel);
	const v = hashes ? "r.value ->> 0" : "r.value";
	const { join, addresses } = joinOf(kind, v);
	const suppression = hashes ? "(SELECT s.reasons FROM suppressions s WHERE s.hash = r.value ->> 1)" : "NULL";
	// Other recipients reach the suppression through the contact's own address for the channel.
	const address = !hashes && addressKind ? `c.${addressKind}` : "NULL";
	return env.DB.prepare(
		`SELECT r.key AS i, c.id, c.consent ->> '$.blocked' AS blocked, c.consent -> ?3 AS ch, c.consent -> ?4 AS tp,
		   EXISTS (SELECT 1 FROM blocklist b WHERE b.address IN (${addresses})) AS address_blocked,
		   ${suppression} AS suppression, ${address} AS address
		 FROM json_each(?1) r LEFT JOIN contacts c ON ${join}`,
	).bind(
		JSON.stringify(hashes ? values.map((value, index) => [value, hashes[index]]) : values),
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
			const hashes = kind === addressKind ? await keyedHashes(env, values) : null;
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

	// The suppression of the address the channel reaches holds whatever contact has it now.
	const rows = recipients.map((_, position) => rowsByPosition[position]);
	const viaContact = [...new Set(rows.map((row) => row?.address).filter((a): a is string => !!a))];
	const viaContactHashes = await keyedHashes(env, viaContact);
	const found = await findSuppressionsByHash(env, viaContactHashes);
	const suppressionOf = new Map(
		viaContact.map((address, index) => [address, found.get(viaContactHashes[index] as string)]),
	);

	return rows.map((row) => {
		const suppression = row?.suppression
			? (JSON.parse(row.suppression) as string[])
			: row?.address
				? (suppressionOf.get(row.address)?.reasons ?? null)
				: null;
		return decisionFor(row, question, suppression);
	});
}
