/**
 * Suppression of erased addresses (SPEC §6). An address is kept only as HMAC-SHA-256(pepper,
 * normalized address), so nobody can list who left, and the pepper is needed to test an address.
 */
import type { Bindings } from "../env";
import { hexEncode, utf8 } from "../webhooks/crypto";

// The imported key, made once per pepper and isolate: a batch check hashes thousands of addresses.
let cachedKey: { pepper: string; key: CryptoKey } | null = null;

async function pepperKey(env: Bindings): Promise<CryptoKey> {
	const pepper = env.SUPPRESSION_PEPPER?.trim();
	if (!pepper) throw new Error("SUPPRESSION_PEPPER is not set");
	if (cachedKey?.pepper !== pepper) {
		const key = await crypto.subtle.importKey("raw", utf8(pepper), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		cachedKey = { pepper, key };
	}
	return cachedKey.key;
}

const hashWith = async (key: CryptoKey, address: string) =>
	hexEncode(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(address))));

/** The stored form of a normalized email or E.164 phone. */
export async function suppressionHash(env: Bindings, address: string): Promise<string> {
	return hashWith(await pepperKey(env), address);
}

/** Which of these normalized addresses are suppressed: one statement, whatever their number. */
export async function findSuppressed(env: Bindings, addresses: readonly string[]): Promise<Set<string>> {
	if (addresses.length === 0) return new Set();
	const unique = [...new Set(addresses)];
	const key = await pepperKey(env);
	const hashes = await Promise.all(unique.map((address) => hashWith(key, address)));
	const { results } = await env.DB.prepare(
		"SELECT hash FROM suppressions WHERE hash IN (SELECT value FROM json_each(?))",
	)
		.bind(JSON.stringify(hashes))
		.all<{ hash: string }>();
	const found = new Set(results.map((row) => row.hash));
	return new Set(unique.filter((_, index) => found.has(hashes[index] as string)));
}
