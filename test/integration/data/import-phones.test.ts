/**
 * Phone numbers in imports: E.164 everywhere, national numbers where the line's business unit has
 * a country in BUSINESS_UNIT_COUNTRIES (wrangler.toml: de → DE, at → AT, ch → CH).
 */
import { describe, expect, it } from "vitest";
import { api, json, unique, uniqueEmail } from "../../helpers";

const digits = (count: number) => String(Math.floor(Math.random() * 10 ** count)).padStart(count, "0");

function importCsv(csv: string, query: string) {
	return api("POST", `/v1/imports/contacts?${query}`, { raw: csv, headers: { "content-type": "text/csv" } });
}

const lead = async (email: string, businessUnit: string) =>
	json(await api("GET", `/v1/leads?email=${encodeURIComponent(email)}&businessUnit=${businessUnit}`));

describe("POST /v1/imports/contacts: phone numbers", () => {
	it("reads national numbers with the country of the line's business unit, stored as E.164", async () => {
		const german = digits(8);
		const other = digits(7);
		const austrian = digits(7);
		const [de, at, noCountry, ambiguous, inDefault] = [
			uniqueEmail(),
			uniqueEmail(),
			uniqueEmail(),
			uniqueEmail(),
			uniqueEmail(),
		];
		const elsewhere = unique("bu");
		// The businessUnit column comes after the phone: the phone is read with the line's unit all the same.
		const csv = [
			"email,phone,businessUnit,optedOut",
			`${de},0176 ${german},de,true`,
			`${at},0660 ${austrian},at,true`,
			`${noCountry},0176 ${german},${elsewhere},true`,
			`${ambiguous},49176${german},de,true`,
			`${inDefault},(030) ${other},,true`,
		].join("\n");
		const response = await importCsv(csv, "businessUnit=de&channel=sms");
		const report = await json(response);
		expect(response.status, JSON.stringify(report)).toBe(200);
		expect(report).toMatchObject({ processed: 5, created: 3, failed: 2 });
		expect(report.errors).toEqual([
			{ line: 4, error: "invalid_phone", message: `phone: "0176 ${german}" is not a valid phone number (E.164)` },
			{
				line: 5,
				error: "invalid_phone",
				message: `phone: "49176${german}" is not a valid phone number (E.164, or national for DE)`,
			},
		]);
		expect(await lead(de, "de")).toMatchObject({ phone: `+49176${german}` });
		expect(await lead(at, "at")).toMatchObject({ phone: `+43660${austrian}` });
		// No businessUnit on the line: the import's (de), and its country.
		expect(await lead(inDefault, "de")).toMatchObject({ phone: `+4930${other}` });
	});
});
