import type { Bindings } from "../env";

interface LedgerRecord {
	id: number;
	contact_id: string;
	event: string;
	channel: string | null;
	topic: string | null;
	changes: string;
	changed: number;
	properties: string;
	source: string;
	reason: string | null;
	feedback: string | null;
	ip: string | null;
	user_agent: string | null;
	campaign: string | null;
	idempotency_key: string | null;
	occurred_at: string;
	received_at: string;
}

/** A contact's ledger, oldest first, keyset-paginated by ledger id (the GDPR access export). */
export async function loadHistory(env: Bindings, contactId: string, cursor: string | undefined, limit: number) {
	const { results } = await env.DB.prepare("SELECT * FROM ledger WHERE contact_id = ? AND id > ? ORDER BY id LIMIT ?")
		.bind(contactId, Number(cursor ?? 0), limit + 1)
		.all<LedgerRecord>();
	const page = results.slice(0, limit);
	return {
		events: page.map((row) => ({
			id: row.id,
			contactId: row.contact_id,
			event: row.event,
			channel: row.channel,
			topic: row.topic,
			changes: JSON.parse(row.changes) as Array<{ field: string; from: unknown; to: unknown }>,
			changed: row.changed === 1,
			properties: JSON.parse(row.properties) as Record<string, unknown>,
			source: row.source,
			reason: row.reason,
			feedback: row.feedback,
			ip: row.ip,
			userAgent: row.user_agent,
			campaign: row.campaign,
			idempotencyKey: row.idempotency_key,
			occurredAt: row.occurred_at,
			receivedAt: row.received_at,
		})),
		nextCursor: results.length > limit ? String(page[page.length - 1]?.id) : null,
	};
}
