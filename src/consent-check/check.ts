import { type Decision, decide } from "../consent/decision";
import type { Channel, ConsentState, MessageKind, TopicDefinition } from "../consent/types";
import type { Bindings } from "../env";
import { findSuppressed } from "../erasure/suppression";

export type Recipient = { externalId: string } | { email: string } | { phone: string };

export interface CheckQuestion {
	channel: Channel;
	topic: TopicDefinition | null;
	kind: MessageKind;
	/** Business unit for email and phone recipients; externalIds are unique system-wide. */
	businessUnit: string;
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
}

/** How each recipient kind finds its contact, and which addresses the blocklist probe needs. */
const BY_KIND = {
	externalId: { join: "c.external_id = r.value", addresses: "c.email, c.phone" },
	// The recipient's own address equals the contact's email (or phone): probe it and the other one.
	email: { join: "c.business_unit = ?2 AND c.email = r.value", addresses: "r.value, c.phone" },
	phone: { join: "c.business_unit = ?2 AND c.phone = r.value", addresses: "r.value, c.email" },
} as const;
type RecipientKind = keyof typeof BY_KIND;

/**
 * One statement per recipient kind, whatever the count: recipients travel as one JSON array
 * parameter (D1 binds at most 100), each row carries only the consent fields the decision needs,
 * and the bare-address blocklist is checked by primary key in the same statement.
 */
function statementFor(env: Bindings, kind: RecipientKind, values: string[], question: CheckQuestion) {
	const { join, addresses } = BY_KIND[kind];
	return env.DB.prepare(
		`SELECT r.key AS i, c.id, c.consent ->> '$.blocked' AS blocked, c.consent -> ?3 AS ch, c.consent -> ?4 AS tp,
		   EXISTS (SELECT 1 FROM blocklist b WHERE b.address IN (${addresses})) AS address_blocked
		 FROM json_each(?1) r LEFT JOIN contacts c ON ${join}`,
	).bind(
		JSON.stringify(values),
		question.businessUnit,
		`$.channels.${question.channel}`,
		question.topic ? `$.topics."${question.topic.key}"` : "$.none",
	);
}

function decisionFor(row: Row | undefined, question: CheckQuestion, suppressed: boolean): CheckResult {
	let state: ConsentState | null = null;
	if (row?.id) {
		state = { blocked: row.blocked === 1, channels: {}, topics: {} };
		if (row.ch) state.channels[question.channel] = JSON.parse(row.ch);
		if (row.tp && question.topic) state.topics[question.topic.key] = JSON.parse(row.tp);
	}
	const decision = decide({
		state,
		addressBlocked: row?.address_blocked === 1,
		suppressed,
		channel: question.channel,
		topic: question.topic,
		kind: question.kind,
	});
	return { ...decision, contactId: row?.id ?? null };
}

/** Decisions for up to 10,000 recipients, in input order, in at most three D1 statements (one round trip). */
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
	const answers =
		kinds.length === 1
			? [
					await statementFor(
						env,
						kinds[0] as RecipientKind,
						groups[kinds[0] as RecipientKind].values,
						question,
					).all<Row>(),
				]
			: await env.DB.batch<Row>(kinds.map((kind) => statementFor(env, kind, groups[kind].values, question)));

	const rowsByPosition = new Array<Row | undefined>(recipients.length);
	kinds.forEach((kind, k) => {
		const { positions } = groups[kind];
		// json_each keys are the input indexes; a LEFT JOIN keeps one row per recipient.
		for (const row of answers[k]?.results ?? []) rowsByPosition[positions[row.i] as number] = row;
	});

	// SPEC §6: addresses of erased contacts stay suppressed while no contact has them again, so only
	// addresses without a contact are looked up (by keyed hash).
	const withoutContact: string[] = [];
	recipients.forEach((recipient, position) => {
		if (rowsByPosition[position]?.id) return;
		if ("email" in recipient) withoutContact.push(recipient.email);
		else if ("phone" in recipient) withoutContact.push(recipient.phone);
	});
	const suppressed = await findSuppressed(env, withoutContact);

	return recipients.map((recipient, position) => {
		const address = "email" in recipient ? recipient.email : "phone" in recipient ? recipient.phone : null;
		const row = rowsByPosition[position];
		return decisionFor(row, question, !row?.id && address !== null && suppressed.has(address));
	});
}
