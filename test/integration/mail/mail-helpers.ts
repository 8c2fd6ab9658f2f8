import { env } from "cloudflare:workers";
import { vi } from "vitest";
import worker from "../../../src/index";
import { unique } from "../../helpers";

/**
 * Raw RFC 5322 messages and a stand-in for the platform object Cloudflare Email Routing hands to
 * the worker's email() handler (ForwardableEmailMessage). The stand-in records what the handler
 * does with it: whether it read the raw bytes, and every setReject, forward and reply.
 */

export const UNSUBSCRIBE_ADDRESS = "unsubscribe@consent.example.test";

export interface RawMail {
	/** The Subject header's value as it stands in the message (encoded words and folding included); none when null. */
	subject?: string | null;
	/** The rest of the message after the headers below, starting with its own headers (Content-Type…) and a blank line. */
	content?: string;
	/** The Message-ID header; none when null. */
	messageId?: string | null;
	from?: string;
	date?: string;
}

const CRLF = "\r\n";

/** A message as a mail client writes it: CRLF line ends, the given headers, a text/plain body by default. */
export function rawMail(mail: RawMail = {}): string {
	const headers = [
		`From: ${mail.from ?? "Ann Example <ann@example.de>"}`,
		`To: ${UNSUBSCRIBE_ADDRESS}`,
		`Date: ${mail.date ?? "Tue, 03 Nov 2026 09:12:45 +0100"}`,
		"MIME-Version: 1.0",
	];
	const messageId = mail.messageId === undefined ? `<${crypto.randomUUID()}@mail.example.de>` : mail.messageId;
	if (messageId !== null) headers.push(`Message-ID: ${messageId}`);
	if (mail.subject !== null) headers.push(`Subject: ${mail.subject ?? "unsubscribe"}`);
	const content = mail.content ?? `Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}Sent from my phone${CRLF}`;
	return `${headers.join(CRLF)}${CRLF}${content.replace(/\r?\n/g, CRLF)}`;
}

export interface MessageCalls {
	rawRead: boolean;
	/** What the handler logged while it ran (console.log, warn and error). */
	logs: string[];
	setReject: string[];
	forward: unknown[][];
	reply: unknown[];
}

/** The platform's message object for a raw message (rawSize defaults to its real size). */
export function incoming(raw: string, options: { rawSize?: number; from?: string } = {}) {
	const bytes = new TextEncoder().encode(raw);
	const calls: MessageCalls = { rawRead: false, logs: [], setReject: [], forward: [], reply: [] };
	const stream = new ReadableStream<Uint8Array>({
		start(controller) {
			// In chunks, as a network stream arrives.
			for (let offset = 0; offset < bytes.byteLength; offset += 16 * 1024) {
				controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
			}
			controller.close();
		},
	});
	const headerBlock = raw.split(`${CRLF}${CRLF}`)[0] ?? "";
	const headers = new Headers();
	for (const line of headerBlock.replace(/\r\n[ \t]/g, " ").split(CRLF)) {
		const colon = line.indexOf(":");
		if (colon > 0) headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
	}
	const message = {
		from: options.from ?? "ann@example.de",
		to: UNSUBSCRIBE_ADDRESS,
		headers,
		get raw() {
			calls.rawRead = true;
			return stream;
		},
		rawSize: options.rawSize ?? bytes.byteLength,
		setReject(reason: string) {
			calls.setReject.push(reason);
		},
		async forward(...args: unknown[]) {
			calls.forward.push(args);
			return { messageId: "forwarded@example.test" };
		},
		async reply(reply: unknown) {
			calls.reply.push(reply);
			return { messageId: "reply@example.test" };
		},
	} satisfies ForwardableEmailMessage;
	return { message, calls };
}

/** Delivers a raw message to the worker's email() handler, as Email Routing would; returns what it did with it. */
export async function deliver(raw: string, options: { rawSize?: number } = {}): Promise<MessageCalls> {
	const { message, calls } = incoming(raw, options);
	const spies = (["log", "warn", "error"] as const).map((level) =>
		vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
			calls.logs.push(args.map(String).join(" "));
		}),
	);
	try {
		await worker.email(message, env);
	} finally {
		for (const spy of spies) spy.mockRestore();
	}
	return calls;
}

/** A subject header value split over two RFC 2047 encoded words on two lines (folded). */
export function encodedWordSubject(text: string, encoding: "B" | "Q"): string {
	const half = Math.floor(text.length / 2);
	const encode = (part: string) => {
		const bytes = new TextEncoder().encode(part);
		if (encoding === "B") return `=?UTF-8?B?${btoa(String.fromCharCode(...bytes))}?=`;
		// RFC 2047 §4.2: "_" is a space, so the token's own "_" (and anything but letters, digits and "-") is =XX.
		const q = [...bytes]
			.map((byte) => {
				const char = String.fromCharCode(byte);
				if (char === " ") return "_";
				return /[A-Za-z0-9-]/.test(char) ? char : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
			})
			.join("");
		return `=?UTF-8?Q?${q}?=`;
	};
	return `${encode(text.slice(0, half))}${CRLF} ${encode(text.slice(half))}`;
}

/** A quoted-printable body line as clients write it: soft line breaks ("=" at the end) every 60 characters. */
export function quotedPrintable(text: string): string {
	const lines: string[] = [];
	for (let offset = 0; offset < text.length; offset += 60) lines.push(text.slice(offset, offset + 60));
	return lines.map((line) => line.replace(/=/g, "=3D")).join(`=${CRLF}`);
}

/** A multipart/alternative message content (headers and body) with a text and an HTML part. */
export function alternative(text: string, html: string): string {
	const boundary = unique("b");
	return [
		`Content-Type: multipart/alternative; boundary="${boundary}"`,
		"",
		`--${boundary}`,
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		quotedPrintable(text),
		`--${boundary}`,
		"Content-Type: text/html; charset=utf-8",
		"",
		html,
		`--${boundary}--`,
		"",
	].join(CRLF);
}
