/**
 * Cuts an import file into parts of about IMPORT_PART_LINES data lines each, as byte ranges that
 * begin where a data line begins, so that each part can be read alone (an R2 range read) and
 * imported with the CSV header put in front of it.
 *
 * Where a record begins is decided by the same reader the import uses (src/imports/csv-reader.ts:
 * csv-parse, RFC 4180, line breaks inside quotes, its recovery after malformed records; LineSplitter
 * for NDJSON), so a part read alone yields exactly the records the whole file yields there, with the
 * same physical line numbers once the part's offset is added. The readers give a record's line
 * number; this module keeps its own index of where each physical line starts (LF, CRLF or CR end a
 * line, as for the readers) to turn that number into a byte offset. Memory stays flat: only the
 * starts of lines after the last record are kept.
 */
import { CsvReader, LineSplitter, readBytes } from "../imports/csv-reader";

export type ImportFormat = "csv" | "ndjson";

export interface ImportPart {
	/** Byte offset of the part's first data line in the file. */
	start: number;
	/** Byte offset just after the part (the next part's start, or the file's size). */
	end: number;
	/** Physical line (of the whole file) of the part's first data line. */
	firstLine: number;
	/** Data lines in the part. */
	lines: number;
}

export interface ImportPlan {
	format: ImportFormat;
	/** Data lines of the file, counted as the import counts them (blank lines are not). */
	total: number;
	parts: ImportPart[];
	/**
	 * CSV: bytes [0, headerEnd) hold the header row (and any blank lines after it), which goes in
	 * front of every part; its physical lines are headerEnd's line − 1. NDJSON: 0.
	 */
	headerEnd: number;
	headerLines: number;
}

/** The file has more data lines than allowed; counting stopped at the first line over the limit. */
export class TooManyLinesError extends Error {
	constructor(readonly limit: number) {
		super(`more than ${limit} lines`);
	}
}

const CR = 13;
const LF = 10;
/** Bytes given to a reader at once, as readCsv does. */
const PIECE_BYTES = 64 * 1024;

/** Where each physical line of the input starts, for the lines not yet passed. */
class LineStarts {
	/** #starts[i] is where line #first + i starts. */
	#starts: number[] = [0];
	#first = 1;
	#head = 0;
	#read = 0;
	#pendingCR = false;
	#breaks = 0;

	add(piece: Uint8Array) {
		const at = this.#read;
		this.#read += piece.length;
		let i = 0;
		if (this.#pendingCR && piece.length > 0) {
			this.#pendingCR = false;
			if (piece[0] === LF) i = 1;
			this.#lineStartsAt(at + i);
		}
		for (; i < piece.length; i++) {
			const byte = piece[i];
			if (byte === LF) this.#lineStartsAt(at + i + 1);
			else if (byte === CR) {
				if (i + 1 === piece.length) this.#pendingCR = true;
				else if (piece[i + 1] === LF) {
					this.#lineStartsAt(at + i + 2);
					i++;
				} else this.#lineStartsAt(at + i + 1);
			}
		}
	}

	#lineStartsAt(offset: number) {
		this.#starts.push(offset);
		this.#breaks++;
	}

	/** Line breaks seen: LF, CR, and CRLF as one, also across pieces. */
	get breaks(): number {
		return this.#breaks;
	}

	end() {
		if (this.#pendingCR) this.#lineStartsAt(this.#read);
		this.#pendingCR = false;
	}

	/** The byte offset where `line` starts (a line not passed yet). */
	startOf(line: number): number {
		const start = this.#starts[this.#head + line - this.#first];
		if (start === undefined || line < this.#first) throw new Error(`partition: no start known for line ${line}`);
		return start;
	}

	/** Forgets the lines before `line`. */
	passTo(line: number) {
		while (this.#first < line && this.#head + 1 < this.#starts.length) {
			this.#head++;
			this.#first++;
		}
		if (this.#head > 4096 && this.#head * 2 > this.#starts.length) {
			this.#starts.splice(0, this.#head);
			this.#head = 0;
		}
	}
}

type Record = { line: number; counted: boolean };

/**
 * Feeds a file's bytes in order; collects its parts. `partLines`: data lines per part;
 * `maxLines`: throws TooManyLinesError at the first data line over it.
 */
export class PartScanner {
	readonly #format: ImportFormat;
	readonly #partLines: number;
	readonly #maxLines: number;
	readonly #starts = new LineStarts();
	readonly #csv = new CsvReader();
	readonly #ndjson = new LineSplitter();
	readonly #decoder = new TextDecoder("utf-8");
	#size = 0;
	#headerSeen = false;
	#headerEnd = 0;
	#headerLines = 0;
	#total = 0;
	#parts: ImportPart[] = [];
	#current: ImportPart | null = null;

	constructor(format: ImportFormat, options: { partLines: number; maxLines: number }) {
		this.#format = format;
		this.#partLines = options.partLines;
		this.#maxLines = options.maxLines;
		if (format === "ndjson") this.#headerSeen = true;
	}

	/** Data lines so far. */
	get total(): number {
		return this.#total;
	}

	push(bytes: Uint8Array): void {
		for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
			const piece = bytes.subarray(at, at + PIECE_BYTES);
			this.#size += piece.length;
			this.#starts.add(piece);
			this.#take(this.#records(piece));
		}
	}

	end(): ImportPlan {
		this.#starts.end();
		this.#take(this.#records(null));
		if (this.#current) this.#current.end = this.#size;
		if (this.#format === "csv" && !this.#headerSeen) this.#headerEnd = this.#size;
		return {
			format: this.#format,
			total: this.#total,
			parts: this.#parts,
			headerEnd: this.#headerEnd,
			headerLines: this.#headerLines,
		};
	}

	/** The records a piece completes (null: the end of the input). */
	#records(piece: Uint8Array | null): Record[] {
		if (this.#format === "csv") {
			const records = piece ? this.#csv.push(piece) : this.#csv.end();
			return records.map((record) => ({
				line: record.line,
				// The import skips records whose fields are all blank (",,,"), and counts the others.
				counted: !("fields" in record && record.fields.every((field) => field.trim() === "")),
			}));
		}
		const text = piece ? this.#decoder.decode(piece, { stream: true }) : this.#decoder.decode();
		const lines = this.#ndjson.push(text);
		if (!piece) lines.push(...this.#ndjson.end());
		return lines.map((line) => ({ line: line.line, counted: true }));
	}

	#take(records: Record[]) {
		for (const record of records) {
			if (!this.#headerSeen) {
				// The CSV header: whatever follows it up to the first data line goes with it.
				this.#headerSeen = true;
				this.#starts.passTo(record.line + 1);
				continue;
			}
			if (!record.counted) continue;
			this.#total++;
			if (this.#total > this.#maxLines) throw new TooManyLinesError(this.#maxLines);
			if (!this.#current || this.#current.lines >= this.#partLines) {
				const start = this.#starts.startOf(record.line);
				if (this.#current) this.#current.end = start;
				else {
					this.#headerEnd = this.#format === "csv" ? start : 0;
					this.#headerLines = this.#format === "csv" ? record.line - 1 : 0;
				}
				this.#current = { start, end: start, firstLine: record.line, lines: 0 };
				this.#parts.push(this.#current);
			}
			this.#current.lines++;
			this.#starts.passTo(record.line + 1);
		}
	}
}

/** The parts of a whole file, read as a stream. */
export async function planParts(
	body: ReadableStream<Uint8Array>,
	format: ImportFormat,
	options: { partLines: number; maxLines: number },
): Promise<ImportPlan> {
	const scanner = new PartScanner(format, options);
	for await (const chunk of readBytes(body)) scanner.push(chunk);
	return scanner.end();
}

/** How many line breaks the bytes hold, counted as LineStarts counts them (a CRLF is one). */
export function lineBreaks(chunks: readonly Uint8Array[]): number {
	const starts = new LineStarts();
	for (const chunk of chunks) {
		starts.add(chunk);
		starts.passTo(Number.POSITIVE_INFINITY); // only the count is wanted: keep no starts
	}
	starts.end();
	return starts.breaks;
}

/**
 * Whether the bytes hold more than `limit` data lines (the import's count). A quick look first:
 * a file with at most `limit` line breaks after its header cannot.
 */
export function moreLinesThan(chunks: readonly Uint8Array[], format: ImportFormat, limit: number): boolean {
	// At most one line per line break, plus one when the last line has none; the CSV header is a
	// line too. Quoted line breaks make the count too high, never too low.
	const last = chunks.findLast((chunk) => chunk.length > 0);
	const unterminated = last !== undefined && last[last.length - 1] !== LF && last[last.length - 1] !== CR ? 1 : 0;
	if (lineBreaks(chunks) + unterminated - (format === "csv" ? 1 : 0) <= limit) return false;
	const scanner = new PartScanner(format, { partLines: Number.POSITIVE_INFINITY, maxLines: limit });
	try {
		for (const chunk of chunks) scanner.push(chunk);
		scanner.end();
		return false;
	} catch (error) {
		if (error instanceof TooManyLinesError) return true;
		throw error;
	}
}
