import { env } from "cloudflare:workers";
import { base64Encode } from "../../../src/crypto";
import type { Bindings } from "../../../src/env";
import type { WebhookEventMessage } from "../../../src/webhooks/consumer";
import type { VerifyDeps, WebhookEvent, WebhookRequest } from "../../../src/webhooks/provider";
import { unique } from "../../helpers";

/** A fixed clock for signature timestamps. */
export const NOW = 1_795_000_000;

export const bindings = (overrides: Partial<Record<keyof Bindings, string | undefined>>): Bindings =>
	({ ...env, ...overrides }) as Bindings;

/** Injected dependencies with a fixed clock and an in-memory replay store. */
export function testDeps(now = NOW): VerifyDeps & { remembered: Array<{ token: string; ttl: number }> } {
	const seen = new Set<string>();
	const remembered: Array<{ token: string; ttl: number }> = [];
	return {
		remembered,
		now: () => now,
		rememberToken: async (provider, token, ttlSeconds) => {
			remembered.push({ token, ttl: ttlSeconds });
			const key = `${provider}:${token}`;
			if (seen.has(key)) return false;
			seen.add(key);
			return true;
		},
		fetchCertificate: () => Promise.reject(new Error("no certificates in these tests")),
		confirmSubscription: () => Promise.reject(new Error("no subscriptions in these tests")),
	};
}

export function webhookRequest(body: string | Uint8Array, headers: Record<string, string> = {}): WebhookRequest {
	return {
		url: "https://consent.example.test/webhooks/test",
		method: "POST",
		headers: new Headers(headers),
		body: typeof body === "string" ? new TextEncoder().encode(body) : body,
	};
}

export const basicAuth = (credentials: string): string => `Basic ${btoa(credentials)}`;

/** DER INTEGER for an unsigned big-endian value: minimal, with a 0x00 when the high bit is set. */
function derInteger(bytes: Uint8Array): number[] {
	let start = 0;
	while (start < bytes.length - 1 && bytes[start] === 0) start++;
	const value = Array.from(bytes.subarray(start));
	if ((value[0] as number) & 0x80) value.unshift(0);
	return [0x02, value.length, ...value];
}

/** Web Crypto's raw r||s ECDSA signature as the DER SEQUENCE SendGrid sends (RFC 3279 §2.2.3). */
export function rawToDer(raw: Uint8Array): Uint8Array {
	const content = [...derInteger(raw.subarray(0, 32)), ...derInteger(raw.subarray(32, 64))];
	return Uint8Array.from([0x30, content.length, ...content]);
}

export interface EcdsaSigner {
	publicKeyBase64: string;
	/** Raw r||s signature of `message`; ECDSA is randomized, so every call gives a new one. */
	signRaw(message: Uint8Array): Promise<Uint8Array>;
}

export async function ecdsaSigner(): Promise<EcdsaSigner> {
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
	return {
		publicKeyBase64: base64Encode(new Uint8Array(spki)),
		signRaw: async (message) =>
			new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, message)),
	};
}

/** A normalized provider event as a provider file would queue it. */
export function providerEvent(
	recipient: string,
	action: WebhookEvent["action"],
	extra: Partial<WebhookEvent> = {},
): WebhookEvent {
	return {
		id: unique("evt"),
		channel: "email",
		recipient,
		action,
		occurredAt: null,
		businessUnit: null,
		campaign: null,
		properties: { event: "test" },
		...extra,
	};
}

/** The queue message the webhook route sends for an event. */
export const queuedEvent = (
	event: WebhookEvent,
	provider: WebhookEventMessage["provider"] = "sendgrid",
): WebhookEventMessage => ({
	kind: "webhook-event",
	provider,
	event,
	receivedAt: new Date().toISOString(),
});
