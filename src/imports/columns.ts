/**
 * The columns of an import: a CSV header's names (or an NDJSON line's keys, matched ignoring
 * case) as what they set. A bad header refuses the whole request, before anything is written.
 */
import { CHANNELS, type Channel, type TopicDefinition } from "../consent/types";
import { ApiError } from "../http/errors";

export type Column =
	| { kind: "externalId" | "email" | "phone" | "businessUnit" | "timestamp" | "blocked" | "ignored" }
	| { kind: "optedOut"; channel: Channel | null }
	| { kind: "bounced"; channel: Channel }
	| { kind: "topic"; key: string };

const PLAIN_COLUMNS: Record<string, Column> = {
	externalid: { kind: "externalId" },
	email: { kind: "email" },
	// Mailchimp's audience exports call it so.
	"email address": { kind: "email" },
	phone: { kind: "phone" },
	businessunit: { kind: "businessUnit" },
	optedout: { kind: "optedOut", channel: null },
	blocked: { kind: "blocked" },
	timestamp: { kind: "timestamp" },
	// Columns of our own contacts.csv that an import does not set.
	id: { kind: "ignored" },
	createdat: { kind: "ignored" },
	updatedat: { kind: "ignored" },
	lastoptedoutat: { kind: "ignored" },
};

export const TOPIC_KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The column a header (or NDJSON key) names, matched ignoring case; null when unknown. */
export function columnFor(name: string): Column | null {
	const lower = name.trim().toLowerCase();
	const plain = PLAIN_COLUMNS[lower];
	if (plain) return plain;
	const match = /^(optedout|bounced|topic):(.+)$/.exec(lower);
	if (!match) return null;
	const [, kind, rest] = match as unknown as [string, string, string];
	if (kind === "topic") return TOPIC_KEY.test(rest) ? { kind: "topic", key: rest } : null;
	if (!(CHANNELS as readonly string[]).includes(rest)) return null;
	return kind === "optedout"
		? { kind: "optedOut", channel: rest as Channel }
		: { kind: "bounced", channel: rest as Channel };
}

export const columnId = (column: Column): string =>
	"channel" in column
		? `${column.kind}:${column.channel ?? "*"}`
		: "key" in column
			? `topic:${column.key}`
			: column.kind;

/** The CSV header as columns (null: an unknown column to skip); a bad header is a 400 for the whole request. */
export function headerColumns(
	fields: readonly string[],
	topics: ReadonlyMap<string, TopicDefinition>,
	unknownColumns: "reject" | "ignore",
): Array<Column | null> {
	const columns = fields.map(columnFor);
	const problems: Array<{ path: string; message: string }> = [];
	const seen = new Set<string>();
	columns.forEach((column, index) => {
		const name = fields[index] as string;
		const path = `header.${index + 1}`;
		if (!column) {
			if (unknownColumns === "reject") {
				problems.push({ path, message: name.trim() === "" ? "a column without a name" : `unknown column "${name}"` });
			}
			return;
		}
		const id = column.kind === "ignored" ? `ignored:${name.trim().toLowerCase()}` : columnId(column);
		if (seen.has(id)) problems.push({ path, message: `column "${name}" appears twice` });
		seen.add(id);
		if (column.kind === "topic" && !topics.has(column.key)) {
			problems.push({ path, message: `"${name}": there is no topic "${column.key}"` });
		}
	});
	if (!columns.some((column) => column && ["externalId", "email", "phone"].includes(column.kind))) {
		problems.push({ path: "header", message: "the header names none of externalId, email, phone" });
	}
	if (problems.length > 0) {
		const hint = problems.some((p) => p.message.startsWith("unknown column"))
			? " Known columns: externalId, email, phone, businessUnit, optedOut, optedOut:<channel>, bounced:<channel>, blocked, timestamp, topic:<key>; pass ?unknownColumns=ignore to skip others."
			: "";
		throw new ApiError(400, "VALIDATION_FAILED", `${problems[0]?.path}: ${problems[0]?.message}.${hint}`, problems);
	}
	return columns;
}
