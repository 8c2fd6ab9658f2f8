/**
 * CSV writing for the exports: RFC 4180 and safe to open in a spreadsheet.
 *
 * - RFC 4180 §2: rows end with CRLF; a field containing a comma, a quote, CR or LF is enclosed in
 *   quotes, and a quote inside it is doubled.
 * - CSV injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`, `-`
 *   or `@` as a formula, and some skip a leading tab or CR before looking. Text cells starting with
 *   any of these get a leading `'`, which spreadsheets show as text. Numbers and booleans are never touched, and
 *   columns whose every value we produced or validated ourselves may be declared `trusted` (E.164
 *   phones start with `+` but are `+` and 7–15 digits, which no spreadsheet runs as a command).
 *   The importer strips the `'` again, so an export can be imported back.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export const CSV_LINE_END = "\r\n";

/** `'=1+1` for `=1+1`: spreadsheets show the cell as text instead of running it. */
export function neutralizeFormula(value: string): string {
	return FORMULA_START.test(value) ? `'${value}` : value;
}

/** Undoes `neutralizeFormula` (for imports of our own exports). */
export function unneutralizeFormula(value: string): string {
	return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

/** RFC 4180 §2.5–2.7: quotes a field only when it has to be. */
export function quoteField(value: string): string {
	return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export type CsvValue = string | number | boolean | null | undefined;

export interface CsvColumn {
	name: string;
	/**
	 * `text` (default): may hold anything a person or another system typed, so it is neutralized.
	 * `trusted`: every value was validated by us against a pattern no formula can match.
	 */
	kind?: "text" | "trusted";
}

function encodeCell(value: CsvValue, trusted: boolean): string {
	if (value === null || value === undefined) return "";
	if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
	if (typeof value === "boolean") return value ? "true" : "false";
	return quoteField(trusted ? value : neutralizeFormula(value));
}

export interface RowEncoder {
	/** The header row, CRLF-terminated. */
	header: string;
	/** One row, CRLF-terminated; values in column order. */
	encode(values: readonly CsvValue[]): string;
}

export function createRowEncoder(columns: readonly CsvColumn[]): RowEncoder {
	const trusted = columns.map((column) => column.kind === "trusted");
	const width = columns.length;
	return {
		header: columns.map((column) => encodeCell(column.name, false)).join(",") + CSV_LINE_END,
		encode(values) {
			if (values.length !== width) throw new Error(`CSV row has ${values.length} values for ${width} columns`);
			let row = "";
			for (let index = 0; index < width; index++) {
				if (index > 0) row += ",";
				row += encodeCell(values[index], trusted[index] as boolean);
			}
			return row + CSV_LINE_END;
		},
	};
}
