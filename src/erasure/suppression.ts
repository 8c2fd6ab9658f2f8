/**
 * Suppression of erased addresses (SPEC §6). An address is kept only as HMAC-SHA-256(pepper,
 * normalized address), so nobody can list who left, and the pepper is needed to test an address.
 */
import type { Bindings } from "../env";
import { hexEncode, hmac, utf8 } from "../webhooks/crypto";

function pepperOf(env: Bindings): string {
	const pepper = env.SUPPRESSION_PEPPER?.trim();
	if (!pepper) throw new Error("SUPPRESSION_PEPPER is not set");
	return pepper;
}

/** The stored form of a normalized email or E.164 phone. */
export async function suppressionHash(env: Bindings, address: string): Promise<string> {
	return hexEncode(await hmac("SHA-256", pepperOf(env), utf8(address)));
}

/** Which of these normalized addresses are suppressed: one statement, whatever their number. */
export async function findSuppressed(env: Bindings, addresses: readonly string[]): Promise<Set<string>> {
	if (addresses.length === 0) return new Set();
	const unique = [...new Set(addresses)];
	const hashes = await Promise.all(unique.map((address) => suppressionHash(env, address)));
	const { results } = await env.DB.prepare(
		"SELECT hash FROM suppressions WHERE hash IN (SELECT value FROM json_each(?))",
	)
		.bind(JSON.stringify(hashes))
		.all<{ hash: string }>();
	const found = new Set(results.map((row) => row.hash));
	return new Set(unique.filter((_, index) => found.has(hashes[index] as string)));
}
