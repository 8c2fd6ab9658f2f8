import { describe, expect, it } from "vitest";
import {
	BodyTooLargeError,
	CsvReader,
	type CsvRecord,
	decodeUtf8,
	LineSplitter,
	MAX_RECORD_BYTES,
	MAX_RECORD_CHARS,
	readCsv,
	readLines,
} from "../../../src/imports/csv-reader";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** A byte stream delivering `bytes` in chunks of `size` (the last one shorter). */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
	let offset = 0;
	return new ReadableStream<Uint8Array>({
		pull(controller) {
			if (offset >= bytes.length) return controller.close();
			controller.enqueue(bytes.slice(offset, offset + size));
			offset += size;
		},
	});
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
	const items: T[] = [];
	for await (const item of iterable) items.push(item);
	return items;
}

const parseAll = (text: string, chunkSize = 1 << 16): Promise<CsvRecord[]> =>
	collect(readCsv(streamOf(utf8(text), chunkSize)));

// Everything the reader must cope with in one file: a BOM, CRLF and LF and a lone CR, quoted
// commas, doubled quotes, quoted CRLF and LF line breaks, a blank line, multi-byte characters
// (2, 3 and 4 bytes in UTF-8), an empty last field and no line break at the end.
const FILE = [
	"\uFEFFexternalId,email,note\r\n",
	'u1,ann@example.de,"Müller, Anna"\r\n',
	'u2,bob@example.de,"say ""hi"""\n',
	"\r\n",
	'u3,"cy@example.de","two\r\nlines and\nthree"\r\n',
	"u4,€uro 😀,\r",
	"u5,last,",
].join("");

const EXPECTED: CsvRecord[] = [
	{ line: 1, fields: ["externalId", "email", "note"] },
	{ line: 2, fields: ["u1", "ann@example.de", "Müller, Anna"] },
	{ line: 3, fields: ["u2", "bob@example.de", 'say "hi"'] },
	{ line: 5, fields: ["u3", "cy@example.de", "two\r\nlines and\nthree"] },
	{ line: 8, fields: ["u4", "€uro 😀", ""] },
	{ line: 9, fields: ["u5", "last", ""] },
];

describe("CSV reader (RFC 4180, streaming)", () => {
	it("reads BOM, CRLF, LF, CR, quoted commas, doubled quotes and quoted line breaks", async () => {
		expect(await collect(readCsv(streamOf(utf8(FILE), 1 << 16)))).toEqual(EXPECTED);
	});

	it("gives the same records for every chunk size, splitting quotes, CRLFs and UTF-8 characters", async () => {
		const bytes = utf8(FILE);
		for (let size = 1; size <= bytes.length; size++) {
			const records = await collect(readCsv(streamOf(bytes, size)));
			expect(records, `chunk size ${size}`).toEqual(EXPECTED);
		}
	});

	it("gives the same records when the bytes are split in two at every position", async () => {
		const bytes = utf8(FILE);
		for (let cut = 0; cut <= bytes.length; cut++) {
			const reader = new CsvReader();
			const records = [...reader.push(bytes.slice(0, cut)), ...reader.push(bytes.slice(cut)), ...reader.end()];
			expect(records, `cut at ${cut}`).toEqual(EXPECTED);
		}
	});

	it("reports malformed records on their line and reads on", async () => {
		expect(await parseAll('a,b\nx"y,1\n"ok",2\n"closed"late,3\nfine,4\n"never closed,5\nlost,6\n')).toEqual([
			{ line: 1, fields: ["a", "b"] },
			{ line: 2, error: expect.stringContaining("quote inside an unquoted field") },
			{ line: 3, fields: ["ok", "2"] },
			{ line: 4, error: "text after a closing quote" },
			{ line: 5, fields: ["fine", "4"] },
			// An unterminated quote runs to the end: one error, on the line where it opened.
			{ line: 6, error: "a quoted field is not closed" },
		]);
	});

	it("goes on after the line of a bad closing quote, even when its field spans lines", async () => {
		// csv-parse alone would stay inside the quotes and swallow the following lines into the error.
		for (const size of [1, 3, 1 << 16]) {
			expect(
				await parseAll('h\r\n"multi\r\nline"x,y\r\nnext\n"a""b"c\r\n\r\n"q\r\n""x""",end', size),
				`chunk size ${size}`,
			).toEqual([
				{ line: 1, fields: ["h"] },
				{ line: 2, error: "text after a closing quote" },
				{ line: 4, fields: ["next"] },
				{ line: 5, error: "text after a closing quote" },
				{ line: 7, fields: ['q\r\n"x"', "end"] },
			]);
		}
	});

	it("keeps empty fields, quoted empty fields and skips blank lines", async () => {
		expect(await parseAll('a,,c\n\n\n"",x\n,\n')).toEqual([
			{ line: 1, fields: ["a", "", "c"] },
			{ line: 4, fields: ["", "x"] },
			{ line: 5, fields: ["", ""] },
		]);
		expect(await parseAll("")).toEqual([]);
		expect(await parseAll("\r\n\r\n")).toEqual([]);
		expect(await parseAll("\uFEFF")).toEqual([]);
		expect(await parseAll("a")).toEqual([{ line: 1, fields: ["a"] }]);
	});

	it("caps a record's length and resumes at the next line break", async () => {
		const long = "x".repeat(MAX_RECORD_BYTES + 10);
		for (const size of [1000, 1 << 20]) {
			expect(await parseAll(`a\n${long}\nb\n`, size), `chunk size ${size}`).toEqual([
				{ line: 1, fields: ["a"] },
				{ line: 2, error: expect.stringContaining("longer than") },
				{ line: 3, fields: ["b"] },
			]);
		}
		// A quoted field that runs past the cap: what follows the cap is read from the next line break on.
		expect(await parseAll(`a\n"${long}\nb"\nc\n`, 4096)).toEqual([
			{ line: 1, fields: ["a"] },
			{ line: 2, error: expect.stringContaining("longer than") },
			{ line: 3, error: expect.stringContaining("quote inside an unquoted field") },
			{ line: 4, fields: ["c"] },
		]);
	});

	it("turns invalid UTF-8 into U+FFFD instead of failing the whole stream", async () => {
		const bytes = new Uint8Array([...utf8("a,"), 0xff, 0xfe, ...utf8("\nb,c\n")]);
		expect(await collect(readCsv(streamOf(bytes, 1)))).toEqual([
			{ line: 1, fields: ["a", "\uFFFD\uFFFD"] },
			{ line: 2, fields: ["b", "c"] },
		]);
	});

	it("stops with BodyTooLargeError past the byte limit", async () => {
		const bytes = utf8("a,b\n".repeat(100));
		await expect(collect(decodeUtf8(streamOf(bytes, 7), 399))).rejects.toBeInstanceOf(BodyTooLargeError);
		expect((await collect(decodeUtf8(streamOf(bytes, 7), 400))).join("")).toBe("a,b\n".repeat(100));
		await expect(collect(readCsv(streamOf(bytes, 7), 399))).rejects.toBeInstanceOf(BodyTooLargeError);
		expect(await collect(readCsv(streamOf(bytes, 7), 400))).toHaveLength(100);
	});
});

describe("line reader (NDJSON)", () => {
	const NDJSON =
		'\uFEFF{"email":"a@example.de"}\r\n\r\n{"email":"ü@example.de"}\n  \n{"email":"c@example.de"}\r{"x":1}';
	const LINES = [
		{ line: 1, text: '{"email":"a@example.de"}' },
		{ line: 3, text: '{"email":"ü@example.de"}' },
		{ line: 5, text: '{"email":"c@example.de"}' },
		{ line: 6, text: '{"x":1}' },
	];

	it("splits on LF, CRLF and CR for every chunk size and skips blank lines", async () => {
		const bytes = utf8(NDJSON);
		for (let size = 1; size <= bytes.length; size++) {
			expect(await collect(readLines(streamOf(bytes, size))), `chunk size ${size}`).toEqual(LINES);
		}
	});

	it("caps a line's length", () => {
		const splitter = new LineSplitter();
		const lines = [
			...splitter.push(`{}\n${"x".repeat(MAX_RECORD_CHARS + 1)}`),
			...splitter.push("\n{}"),
			...splitter.end(),
		];
		expect(lines).toEqual([
			{ line: 1, text: "{}" },
			{ line: 2, error: expect.stringContaining("longer than") },
			{ line: 3, text: "{}" },
		]);
	});
});
