import { describe, expect, it } from "vitest";
import { createRowEncoder, neutralizeFormula, quoteField, unneutralizeFormula } from "../../../src/exports/csv";
import { CsvReader } from "../../../src/imports/csv-reader";

describe("CSV writing (RFC 4180, formula-safe)", () => {
	it("quotes only fields with a comma, quote, CR or LF, and doubles quotes", () => {
		expect(quoteField("plain text")).toBe("plain text");
		expect(quoteField("a,b")).toBe('"a,b"');
		expect(quoteField('say "hi"')).toBe('"say ""hi"""');
		expect(quoteField("line\nbreak")).toBe('"line\nbreak"');
		expect(quoteField("carriage\rreturn")).toBe('"carriage\rreturn"');
		expect(quoteField("")).toBe("");
		expect(quoteField("'single' quotes")).toBe("'single' quotes");
	});

	it("prefixes cells starting with = + - @ tab or CR with a single quote", () => {
		for (const value of ["=1+1", "+49 176", "-2", "@SUM(A1)", "\tcmd", "\rcmd", '=HYPERLINK("http://x")']) {
			expect(neutralizeFormula(value)).toBe(`'${value}`);
			expect(unneutralizeFormula(neutralizeFormula(value))).toBe(value);
		}
		for (const value of ["ann@example.de", "a=b", "1-2", " =1", "'quoted", ""]) {
			expect(neutralizeFormula(value)).toBe(value);
			expect(unneutralizeFormula(value)).toBe(value);
		}
	});

	it("encodes rows with CRLF, neutralizes text but not numbers, booleans or trusted columns", () => {
		const encoder = createRowEncoder([
			{ name: "id" },
			{ name: "phone", kind: "trusted" },
			{ name: "note" },
			{ name: "count" },
			{ name: "flag" },
			{ name: "empty" },
		]);
		expect(encoder.header).toBe("id,phone,note,count,flag,empty\r\n");
		const row = encoder.encode(["u1", "+4917612345678", '=cmd|"/C calc"!A0, and more', -3, false, null]);
		expect(row).toBe('u1,+4917612345678,"\'=cmd|""/C calc""!A0, and more",-3,false,\r\n');
		expect(encoder.encode(["-x", "\r\n", "tab\there", 1.5, true, undefined])).toBe(
			'\'-x,"\r\n",tab\there,1.5,true,\r\n',
		);
		expect(() => encoder.encode(["too few"])).toThrow();
	});

	it("round-trips through the import parser, quotes and line breaks included", async () => {
		const values = ["a,b", 'q"uote', "multi\r\nline", "=formula", "plain", "", "\ttab"];
		const encoder = createRowEncoder(values.map((_, index) => ({ name: `c${index}` })));
		const reader = new CsvReader();
		const text = encoder.header + encoder.encode(values);
		const records = [...(await reader.push(new TextEncoder().encode(text))), ...(await reader.end())];
		expect(records).toHaveLength(2);
		const data = records[1] as { line: number; fields: string[] };
		expect(data.line).toBe(2);
		expect(data.fields.map(unneutralizeFormula)).toEqual(values);
	});
});
