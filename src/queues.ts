/**
 * The worker's queue handler: provider events (WEBHOOK_QUEUE), outbound webhooks (OUTBOUND_QUEUE),
 * and the dead-letter queue both end in. Each message is acked alone; a failure retries it alone
 * with a growing delay, and after the consumer's max_retries (wrangler.toml) the queue moves it to
 * the dead-letter queue, whose consumer keeps it in D1 for /v1/dead-letters.
 */

import { normalizeBusinessUnit } from "./consent/normalize";
import { erasedContactIds } from "./db/contacts";
import { storeDeadLetters as storeLetters } from "./db/dead-letters";
import { loadTopics } from "./db/topics";
import type { Bindings } from "./env";
import { toApiError } from "./http/errors";
import { deliverOutbound, type OutboundMessage, scrubOutboundEvent } from "./outbound/outbound";
import { applyWebhookBatch, UnprocessableMessage, type WebhookEventMessage } from "./webhooks/consumer";

export type QueueMessage = WebhookEventMessage | OutboundMessage;

export const DEAD_LETTER_QUEUE = "consent-edge-dead-letters";
const MAX_RETRY_DELAY_SECONDS = 3600;

/** QUEUE_RETRY_BASE_SECONDS × 2^(attempts-1), at most an hour. */
export function retryDelaySeconds(env: Bindings, attempts: number): number {
	const base = Number(env.QUEUE_RETRY_BASE_SECONDS);
	const seconds = (Number.isFinite(base) && base >= 0 ? base : 30) * 2 ** Math.max(0, attempts - 1);
	return Math.min(MAX_RETRY_DELAY_SECONDS, Math.round(seconds));
}

/** The producer a dead letter goes back to on replay, by what the message is. */
export function queueFor(env: Bindings, message: QueueMessage): Queue {
	return message.kind === "outbound" ? env.OUTBOUND_QUEUE : env.WEBHOOK_QUEUE;
}

/**
 * Outbound messages of contacts erased since they were queued, scrubbed: no queued message may
 * carry an erased person's data out. Other messages as they are.
 */
async function withoutErasedData<T extends { body: unknown }>(env: Bindings, messages: readonly T[]): Promise<T[]> {
	const outbound = messages.map((message) => message.body as QueueMessage | null).filter(isOutbound);
	const erased = await erasedContactIds(
		env,
		outbound.map((body) => body.event.contact.id),
	);
	if (erased.size === 0) return [...messages];
	return messages.map((message) => {
		const body = message.body as QueueMessage | null;
		if (!isOutbound(body) || !erased.has(body.event.contact.id)) return message;
		return { ...message, body: { ...body, event: scrubOutboundEvent(body.event) } };
	});
}

const isOutbound = (body: QueueMessage | null | undefined): body is OutboundMessage =>
	body?.kind === "outbound" && typeof body.event?.contact?.id === "string";

/** The business unit a message is about, when it names one: BU-limited keys see only theirs. */
function businessUnitOf(body: QueueMessage | null): string | null {
	if (isOutbound(body)) return body.event.contact.businessUnit;
	if (body?.kind === "webhook-event" && typeof body.event?.businessUnit === "string") {
		return normalizeBusinessUnit(body.event.businessUnit);
	}
	return null;
}

async function storeDeadLetters(env: Bindings, messages: ReadonlyArray<{ body: unknown; attempts: number }>) {
	if (messages.length === 0) return;
	const scrubbed = await withoutErasedData(env, messages);
	await storeLetters(
		env,
		scrubbed.map((message) => ({
			queue: (message.body as QueueMessage | null)?.kind === "outbound" ? "outbound" : "webhook-events",
			body: message.body,
			attempts: message.attempts,
			businessUnit: businessUnitOf(message.body as QueueMessage | null),
		})),
	);
}

/** A failure no retry can fix: bad data in the message, or a 4xx from our own validation. */
function isPermanent(error: unknown): boolean {
	if (error instanceof UnprocessableMessage) return true;
	const apiError = toApiError(error);
	return apiError !== null && apiError.status < 500;
}

export async function handleQueue(batch: MessageBatch<QueueMessage>, env: Bindings): Promise<void> {
	if (batch.queue === DEAD_LETTER_QUEUE) {
		await storeDeadLetters(env, batch.messages);
		batch.ackAll();
		return;
	}

	const unprocessable: Array<Message<QueueMessage>> = [];
	const failed = (message: Message<QueueMessage>, error: unknown) => {
		console.error(`queue ${batch.queue}: message ${message.id} (attempt ${message.attempts}) failed: ${error}`);
		if (isPermanent(error)) unprocessable.push(message);
		else message.retry({ delaySeconds: retryDelaySeconds(env, message.attempts) });
	};
	const webhookEvents = batch.messages.filter((message) => message.body?.kind === "webhook-event");
	const others = batch.messages.filter((message) => message.body?.kind !== "webhook-event");

	// Provider events as one set: their addresses are resolved together, each contact's events
	// apply in arrival order in one actor call (bounces and blocks count in that order).
	if (webhookEvents.length > 0) {
		const outcomes = await applyWebhookBatch(
			env,
			webhookEvents.map((message) => ({ id: message.id, body: message.body as WebhookEventMessage })),
			await loadTopics(env),
		);
		for (const message of webhookEvents) {
			const outcome = outcomes.get(message.id);
			if (outcome?.status === "applied") message.ack();
			else if (outcome?.status === "failed") failed(message, outcome.error);
			// Deferred past this invocation's budget: the next one takes it, without a penalty delay.
			else message.retry({ delaySeconds: 0 });
		}
	}

	// Outbound deliveries, each on its own; delivered as they are now: scrubbed when the contact was
	// erased since.
	if (others.length > 0) {
		const current = new Map(
			(await withoutErasedData(env, others)).map((message) => [message.id, message.body as QueueMessage]),
		);
		await Promise.all(
			others.map(async (message) => {
				try {
					const body = current.get(message.id) ?? message.body;
					if (body?.kind === "outbound") await deliverOutbound(env, body);
					else throw new UnprocessableMessage("unknown message kind");
					message.ack();
				} catch (error) {
					failed(message, error);
				}
			}),
		);
	}

	// Straight to the dead letters: retrying cannot help, and an operator should see them.
	if (unprocessable.length > 0) {
		try {
			await storeDeadLetters(env, unprocessable);
			for (const message of unprocessable) message.ack();
		} catch {
			for (const message of unprocessable) message.retry({ delaySeconds: retryDelaySeconds(env, message.attempts) });
		}
	}
}
