/**
 * An import job cuts its file into parts that are read alone (with the CSV header in front): each
 * part must yield exactly the records the whole file yields there, at the same line numbers once
 * the part's offset is added — quoted line breaks, CRLF, a byte order mark, blank and malformed
 * lines included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvReader, LineSplitter } from "../../../src/imports/csv-reader";
import {
	type ImportFormat,
	lineBreaks,
	moreLinesThan,
	PartScanner,
	planParts,
	TooManyLinesError,
} from "../../../src/jobs/partition";

const encoder = new TextEncoder();
const streamOf = (bytes: Uint8Array, piece = 7) =>
	new ReadableStream<Uint8Array>({
		start(controller) {
			// Small, odd pieces: line breaks (a CRLF too) fall across chunk boundaries.
			for (let at = 0; at < bytes.length; at += piece) controller.enqueue(bytes.slice(at, at + piece));
			controller.close();
		},
	});

/** The bytes in chunks of the sizes given (in turn), each followed by an empty chunk. */
function cutInto(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
	const chunks: Uint8Array[] = [];
	for (let at = 0, i = 0; at < bytes.length; i++) {
		const size = sizes[i % sizes.length] ?? 1;
		chunks.push(bytes.slice(at, at + size), new Uint8Array(0));
		at += size;
	}
	return chunks;
}

type Rec = { line: number; value: string };

/** The records of the bytes as the importer reads them (CSV: after the header), with their lines. */
async function recordsOf(bytes: Uint8Array, format: ImportFormat): Promise<Rec[]> {
	if (format === "csv") {
		const reader = new CsvReader();
		const all = [...reader.push(bytes), ...reader.end()];
		return all.slice(1).map((record) => ({
			line: record.line,
			value: "fields" in record ? JSON.stringify(record.fields) : `error: ${record.error}`,
		}));
	}
	const splitter = new LineSplitter();
	const text = new TextDecoder().decode(bytes);
	return [...splitter.push(text), ...splitter.end()].map((record) => ({
		line: record.line,
		value: "text" in record ? record.text : `error: ${record.error}`,
	}));
}

async function expectPartsEqualWhole(text: string, format: ImportFormat, partLines: number) {
	const bytes = encoder.encode(text);
	const plan = await planParts(streamOf(bytes), format, { partLines, maxLines: 1000 });
	const whole = await recordsOf(bytes, format);
	const fromParts: Rec[] = [];
	for (const part of plan.parts) {
		const head = bytes.slice(0, plan.headerEnd);
		const body = bytes.slice(part.start, part.end);
		const joined = new Uint8Array(head.length + body.length);
		joined.set(head);
		joined.set(body, head.length);
		const offset = part.firstLine - (plan.headerLines + 1);
		const records = await recordsOf(joined, format);
		expect(records[0]?.line, "a part starts with a data line").toBe(plan.headerLines + 1);
		fromParts.push(...records.map((record) => ({ ...record, line: record.line + offset })));
	}
	expect(fromParts).toEqual(whole);
	// Parts cover the file after the header, without gaps.
	expect(plan.parts[0]?.start ?? bytes.length).toBeGreaterThanOrEqual(plan.headerEnd);
	for (const [index, part] of plan.parts.entries()) {
		expect(part.end).toBe(plan.parts[index + 1]?.start ?? bytes.length);
	}
	return { plan, whole };
}

describe("cutting an import file into parts", () => {
	it("CSV: quoted line breaks, CRLF, a BOM, blank and malformed lines stay where they are", async () => {
		const text = [
			"\ufeffemail,note",
			'a@example.de,"two\r\nlines"',
			"",
			"b@example.de,plain",
			'c@example.de,"quoted ""quote"", comma"',
			",",
			'd@example.de,bad"quote',
			'e@example.de,"three\nline\nnote"',
			"f@example.de,x\rg@example.de,cr-only",
			'h@example.de,"unterminated',
			"i@example.de,after",
		].join("\r\n");
		for (const partLines of [1, 2, 3, 100]) {
			const { plan, whole } = await expectPartsEqualWhole(text, "csv", partLines);
			// The all-blank record (",") is not a data line, as the import skips it.
			expect(plan.total).toBe(whole.filter((record) => record.value !== '["",""]').length);
			expect(plan.headerLines).toBe(1);
		}
	});

	it("CSV: the header may be followed by blank lines; a file with only a header has no parts", async () => {
		await expectPartsEqualWhole("email\n\n\na@example.de\nb@example.de\n", "csv", 1);
		const { plan } = await expectPartsEqualWhole("email,optedOut\r\n", "csv", 2);
		expect(plan).toMatchObject({ total: 0, parts: [] });
	});

	it("NDJSON: lines, blank lines and CR line ends", async () => {
		const text = '{"email":"a@example.de"}\n\n{"email":"b@example.de"}\r\n  \r{"email":"c@example.de"}\rnot json\n{}';
		for (const partLines of [1, 2, 10]) {
			const { plan } = await expectPartsEqualWhole(text, "ndjson", partLines);
			expect(plan.total).toBe(5);
			expect(plan.headerEnd).toBe(0);
		}
	});

	it("parts of about the size asked for", async () => {
		const lines = Array.from({ length: 95 }, (_, i) => `u${i}@example.de`);
		const { plan } = await expectPartsEqualWhole(`email\n${lines.join("\n")}\n`, "csv", 20);
		expect(plan.parts.map((part) => part.lines)).toEqual([20, 20, 20, 20, 15]);
		expect(plan.parts.map((part) => part.firstLine)).toEqual([2, 22, 42, 62, 82]);
	});

	it("stops counting past the most lines a job takes", async () => {
		const text = `email\n${"x\n".repeat(11)}`;
		await expect(planParts(streamOf(encoder.encode(text)), "csv", { partLines: 5, maxLines: 10 })).rejects.toThrow(
			TooManyLinesError,
		);
	});

	it("tells whether a body has more data lines than the synchronous limit", async () => {
		const csv = (n: number) => [encoder.encode(`email\r\n${"a@example.de\r\n".repeat(n)}`)];
		expect(moreLinesThan(csv(5), "csv", 5)).toBe(false);
		expect(moreLinesThan(csv(6), "csv", 5)).toBe(true);
		// Quoted line breaks are not lines.
		expect(moreLinesThan([encoder.encode(`email,note\n${'a@example.de,"x\ny"\n'.repeat(4)}`)], "csv", 5)).toBe(false);
		expect(moreLinesThan([encoder.encode("{}\n{}\n{}\n{}\n{}\n{}")], "ndjson", 5)).toBe(true);
		expect(moreLinesThan([encoder.encode("{}\n{}\n\n\n{}\n{}\n{}\n")], "ndjson", 5)).toBe(false);
	});

	it("counts a CRLF as one line break, also across chunks, so CRLF files at the limit need no scan", () => {
		expect(lineBreaks([encoder.encode(`email\r\n${"a@example.de\r\n".repeat(5)}`)])).toBe(6);
		expect(lineBreaks([encoder.encode("a\r"), new Uint8Array(0), encoder.encode("\nb\r\r\n\n\r")])).toBe(5);
		const ends = fc.array(fc.constantFrom("\r", "\n", "x", "\r\n", ""), { maxLength: 30 });
		fc.assert(
			fc.property(ends, fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), (parts, cuts) => {
				const text = parts.join("");
				expect(lineBreaks(cutInto(encoder.encode(text), cuts))).toBe(text.match(/\r\n|\r|\n/g)?.length ?? 0);
			}),
			{ numRuns: 300 },
		);
	});

	it("says exactly what a full count says, for any line ends, quoting, chunking and limit", () => {
		const piece = fc.constantFrom("a@example.de", ",", '"x\r\ny"', '"q""uote"', "", " ", '"open', "{}", "x");
		const lineEnd = fc.constantFrom("\n", "\r\n", "\r", "\n\r", "");
		const body = fc.array(fc.tuple(fc.array(piece, { maxLength: 3 }), lineEnd), { maxLength: 14 });
		fc.assert(
			fc.property(
				body,
				fc.constantFrom<ImportFormat>("csv", "ndjson"),
				fc.integer({ min: 0, max: 12 }),
				fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
				(lines, format, limit, cuts) => {
					const text = (format === "csv" ? "email,note\r\n" : "") + lines.map(([p, end]) => p.join("") + end).join("");
					const bytes = encoder.encode(text);
					const chunks = cutInto(bytes, cuts);
					const scanner = new PartScanner(format, {
						partLines: Number.POSITIVE_INFINITY,
						maxLines: Number.POSITIVE_INFINITY,
					});
					scanner.push(bytes);
					const { total } = scanner.end();
					expect(moreLinesThan(chunks, format, limit)).toBe(total > limit);
				},
			),
			{ numRuns: 400 },
		);
	});
});
