/**
 * Streaming readers for imports: request bytes → UTF-8 text → CSV records (RFC 4180) or NDJSON lines.
 *
 * Pure and incremental: the parsers take text in chunks of any size (a chunk may end inside a
 * quoted field, between CR and LF, or — before decoding — inside a multi-byte character) and hold
 * at most one record in memory, capped at MAX_RECORD_CHARS.
 *
 * Line numbers are physical lines of the file, the header being line 1; a record whose quoted
 * field spans several lines has the number of the line it starts on.
 */

export const MAX_RECORD_CHARS = 64 * 1024;

export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

enum State {
	/** At the start of a field. */
	FieldStart = 0,
	Unquoted = 1,
	Quoted = 2,
	/** Just read a quote inside a quoted field: a doubled quote or the closing one. */
	QuoteInQuoted = 3,
	/** The record was too long: everything up to the next line break is dropped. */
	Skipping = 4,
}

/**
 * RFC 4180 with the usual leniencies: LF or CR alone also end a line, and the last record needs
 * no line break. Blank lines are skipped. A malformed record (a quote inside an unquoted field,
 * text after a closing quote, an unterminated quote, over MAX_RECORD_CHARS) becomes an error
 * record for its line; the records after it are read as usual.
 */
export class CsvParser {
	#state = State.FieldStart;
	#fields: string[] = [];
	#field = "";
	#line = 1;
	#recordLine = 1;
	#recordChars = 0;
	#recordStarted = false;
	#quoted = false;
	#error: string | null = null;
	/** The previous character was a CR: a LF now belongs to the same line break. */
	#afterCR = false;

	/** Feeds the next chunk of text; returns the records it completed. */
	push(text: string): CsvRecord[] {
		const out: CsvRecord[] = [];
		const n = text.length;
		let i = 0;
		while (i < n) {
			const c = text.charCodeAt(i);
			if (this.#afterCR) {
				this.#afterCR = false;
				if (c === LF) {
					// The LF of a CRLF: the CR already counted the line (and ended the record, outside quotes).
					if (this.#state === State.Quoted) this.#append("\n");
					i++;
					continue;
				}
			}
			switch (this.#state) {
				case State.Skipping: {
					if (c === CR || c === LF) {
						this.#endRecord(out);
						this.#newLine(c);
					}
					i++;
					break;
				}
				case State.FieldStart:
					if (c === QUOTE) {
						this.#state = State.Quoted;
						this.#quoted = true;
						this.#recordStarted = true;
						i++;
					} else this.#state = State.Unquoted; // the same character again, as the start of an unquoted field
					break;
				case State.Unquoted: {
					let j = i;
					while (j < n) {
						const d = text.charCodeAt(j);
						if (d === COMMA || d === CR || d === LF || d === QUOTE) break;
						j++;
					}
					if (j > i) {
						this.#append(text.slice(i, j));
						i = j;
						break;
					}
					i++;
					if (c === COMMA) this.#endField();
					else if (c === QUOTE) {
						this.#fail("a quote inside an unquoted field (quote the whole field and double the quote)");
						this.#append('"');
					} else {
						this.#endRecord(out);
						this.#newLine(c);
					}
					break;
				}
				case State.Quoted: {
					let j = i;
					while (j < n) {
						const d = text.charCodeAt(j);
						if (d === QUOTE || d === CR || d === LF) break;
						j++;
					}
					if (j > i) {
						this.#append(text.slice(i, j));
						i = j;
						break;
					}
					i++;
					if (c === QUOTE) this.#state = State.QuoteInQuoted;
					else {
						// A line break inside quotes is part of the field; it still counts as a physical line.
						this.#append(c === CR ? "\r" : "\n");
						this.#line++;
						this.#afterCR = c === CR;
					}
					break;
				}
				case State.QuoteInQuoted:
					if (c === QUOTE) {
						this.#state = State.Quoted;
						this.#append('"');
						i++;
					} else if (c === COMMA) {
						this.#endField();
						i++;
					} else if (c === CR || c === LF) {
						this.#endRecord(out);
						this.#newLine(c);
						i++;
					} else {
						this.#fail("text after a closing quote");
						this.#state = State.Unquoted;
					}
					break;
			}
		}
		return out;
	}

	/** Ends the input: returns the last record, if the text did not end with a line break. */
	end(): CsvRecord[] {
		const out: CsvRecord[] = [];
		if (this.#state === State.Quoted) this.#fail("a quoted field is not closed");
		if (this.#recordStarted || this.#state === State.Skipping) this.#endRecord(out);
		return out;
	}

	#append(text: string) {
		this.#recordStarted = true;
		this.#recordChars += text.length;
		if (this.#recordChars > MAX_RECORD_CHARS) {
			this.#fail(`the record is longer than ${MAX_RECORD_CHARS} characters`);
			this.#fields = [];
			this.#field = "";
			this.#state = State.Skipping;
			return;
		}
		this.#field += text;
	}

	#fail(message: string) {
		this.#error ??= message;
	}

	#endField() {
		this.#recordStarted = true;
		this.#fields.push(this.#field);
		this.#field = "";
		this.#state = State.FieldStart;
	}

	#endRecord(out: CsvRecord[]) {
		if (this.#error !== null) out.push({ line: this.#recordLine, error: this.#error });
		else {
			this.#fields.push(this.#field);
			const blank = this.#fields.length === 1 && this.#fields[0] === "" && !this.#quoted;
			if (!blank) out.push({ line: this.#recordLine, fields: this.#fields });
		}
		this.#fields = [];
		this.#field = "";
		this.#state = State.FieldStart;
		this.#recordChars = 0;
		this.#recordStarted = false;
		this.#quoted = false;
		this.#error = null;
	}

	#newLine(c: number) {
		this.#line++;
		this.#afterCR = c === CR;
		this.#recordLine = this.#line;
	}
}

/**
 * Splits text into lines (NDJSON): LF, CRLF or CR end a line; blank lines are skipped; a line over
 * MAX_RECORD_CHARS becomes an error for its line and is dropped up to the next line break.
 */
export class LineSplitter {
	#text = "";
	#line = 1;
	#afterCR = false;
	#tooLong = false;

	push(text: string): Array<{ line: number; text: string } | { line: number; error: string }> {
		const out: Array<{ line: number; text: string } | { line: number; error: string }> = [];
		let start = 0;
		for (let i = 0; i < text.length; i++) {
			const c = text.charCodeAt(i);
			if (this.#afterCR) {
				this.#afterCR = false;
				if (c === LF) {
					// The LF of a CRLF: the CR already ended the line.
					start = i + 1;
					continue;
				}
			}
			if (c !== CR && c !== LF) continue;
			this.#take(text.slice(start, i));
			this.#emit(out);
			this.#line++;
			this.#afterCR = c === CR;
			start = i + 1;
		}
		if (start < text.length) this.#take(text.slice(start));
		return out;
	}

	end(): Array<{ line: number; text: string } | { line: number; error: string }> {
		const out: Array<{ line: number; text: string } | { line: number; error: string }> = [];
		this.#emit(out);
		return out;
	}

	#take(text: string) {
		if (this.#tooLong) return;
		if (this.#text.length + text.length > MAX_RECORD_CHARS) {
			this.#tooLong = true;
			this.#text = "";
			return;
		}
		this.#text += text;
	}

	#emit(out: Array<{ line: number; text: string } | { line: number; error: string }>) {
		if (this.#tooLong) out.push({ line: this.#line, error: `the line is longer than ${MAX_RECORD_CHARS} characters` });
		else if (this.#text.trim() !== "") out.push({ line: this.#line, text: this.#text });
		this.#text = "";
		this.#tooLong = false;
	}
}

/** The body was larger than the caller allows; thrown while reading, before the excess is used. */
export class BodyTooLargeError extends Error {
	constructor(readonly maxBytes: number) {
		super(`body over ${maxBytes} bytes`);
	}
}

/**
 * Decodes a byte stream as UTF-8, chunk by chunk: a character split between chunks is joined, a
 * leading byte order mark is dropped (TextDecoder does that by default), invalid bytes become
 * U+FFFD (callers reject the records that contain one). Throws BodyTooLargeError once more than
 * `maxBytes` arrived.
 */
export async function* decodeUtf8(
	body: ReadableStream<Uint8Array>,
	maxBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<string> {
	const decoder = new TextDecoder("utf-8");
	const reader = body.getReader();
	let bytes = 0;
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			bytes += value.byteLength;
			if (bytes > maxBytes) throw new BodyTooLargeError(maxBytes);
			const text = decoder.decode(value, { stream: true });
			if (text !== "") yield text;
		}
		const rest = decoder.decode();
		if (rest !== "") yield rest;
	} finally {
		reader.releaseLock();
	}
}

/** CSV records of a UTF-8 byte stream (header first). */
export async function* readCsv(body: ReadableStream<Uint8Array>, maxBytes?: number): AsyncGenerator<CsvRecord> {
	const parser = new CsvParser();
	for await (const text of decodeUtf8(body, maxBytes)) yield* parser.push(text);
	yield* parser.end();
}

/** Non-blank lines of a UTF-8 byte stream (NDJSON). */
export async function* readLines(
	body: ReadableStream<Uint8Array>,
	maxBytes?: number,
): AsyncGenerator<{ line: number; text: string } | { line: number; error: string }> {
	const splitter = new LineSplitter();
	for await (const text of decodeUtf8(body, maxBytes)) yield* splitter.push(text);
	yield* splitter.end();
}
