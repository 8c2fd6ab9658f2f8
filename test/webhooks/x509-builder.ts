/**
 * Self-signed X.509 v3 certificates (RFC 5280 §4.1) for the SNS signature tests, which cannot fetch
 * Amazon's. Only the DER this needs: SEQUENCE, SET, INTEGER, OID, strings, times, BIT/OCTET STRING.
 */
import { base64Encode, concatBytes, utf8 } from "../../src/webhooks/crypto";

function encodeLength(length: number): number[] {
	if (length < 0x80) return [length];
	const bytes: number[] = [];
	for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
	return [0x80 | bytes.length, ...bytes];
}

export const tlv = (tag: number, ...content: Uint8Array[]): Uint8Array => {
	const body = concatBytes(...content);
	return concatBytes(Uint8Array.from([tag, ...encodeLength(body.length)]), body);
};

export const sequence = (...items: Uint8Array[]) => tlv(0x30, ...items);
const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
const explicit = (tagNumber: number, item: Uint8Array) => tlv(0xa0 | tagNumber, item);
const NULL = Uint8Array.from([0x05, 0x00]);

/** Unsigned big-endian INTEGER, with the leading zero DER needs when the high bit is set. */
function integer(value: Uint8Array): Uint8Array {
	return tlv(0x02, (value[0] as number) & 0x80 ? concatBytes(Uint8Array.of(0), value) : value);
}

export function oid(dotted: string): Uint8Array {
	const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
	const bytes: number[] = [];
	for (const arc of [first * 40 + second, ...rest]) {
		const chunk = [arc % 128];
		for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
			chunk.unshift(0x80 | (value % 128));
		bytes.push(...chunk);
	}
	return tlv(0x06, Uint8Array.from(bytes));
}

function utcTime(date: Date): Uint8Array {
	const two = (value: number) => String(value).padStart(2, "0");
	const text = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
	return tlv(0x17, utf8(text));
}

const bitString = (bytes: Uint8Array) => tlv(0x03, Uint8Array.of(0), bytes);
const name = (commonName: string) => sequence(set(sequence(oid("2.5.4.3"), tlv(0x0c, utf8(commonName)))));

const SHA256_WITH_RSA = "1.2.840.113549.1.1.11";

export interface CertificateOptions {
	/** The subject's SubjectPublicKeyInfo (exportKey("spki")). */
	spki: Uint8Array;
	commonName?: string;
	/** Signs the DER tbsCertificate (sha256WithRSAEncryption). */
	sign: (tbs: Uint8Array) => Promise<ArrayBuffer>;
}

/** A v3 certificate with a basicConstraints extension, so a reader must skip the optional parts. */
export async function buildCertificate(options: CertificateOptions): Promise<Uint8Array> {
	const subject = name(options.commonName ?? "sns.amazonaws.com.test");
	const algorithm = sequence(oid(SHA256_WITH_RSA), NULL);
	const basicConstraints = sequence(oid("2.5.29.19"), tlv(0x01, Uint8Array.of(0xff)), tlv(0x04, sequence()));
	const tbs = sequence(
		explicit(0, integer(Uint8Array.of(2))), // v3
		integer(crypto.getRandomValues(new Uint8Array(16))),
		algorithm,
		subject, // issuer: self-signed
		sequence(utcTime(new Date(Date.UTC(2025, 0, 1))), utcTime(new Date(Date.UTC(2035, 0, 1)))),
		subject,
		options.spki,
		explicit(3, sequence(basicConstraints)),
	);
	return sequence(tbs, algorithm, bitString(new Uint8Array(await options.sign(tbs))));
}

export function toPem(der: Uint8Array): string {
	const lines = base64Encode(der).match(/.{1,64}/g) ?? [];
	return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

export interface RsaCertificate {
	pem: string;
	der: Uint8Array;
	spki: Uint8Array;
	/** The private key, for RSASSA-PKCS1-v1_5 with the given hash (SNS SignatureVersion 1 or 2). */
	signingKey(hash: "SHA-1" | "SHA-256"): Promise<CryptoKey>;
}

/** A fresh 2048-bit RSA key pair and a certificate for its public key, signed with its private key. */
export async function rsaCertificate(commonName?: string): Promise<RsaCertificate> {
	const algorithm = { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1) };
	const pair = (await crypto.subtle.generateKey({ ...algorithm, hash: "SHA-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
	const pkcs8 = (await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer;
	const der = await buildCertificate({
		spki,
		commonName,
		sign: (tbs) => crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, tbs),
	});
	return {
		pem: toPem(der),
		der,
		spki,
		// A Web Crypto key is bound to one hash; SHA-1 (SignatureVersion 1) needs its own import.
		signingKey: (hash) => crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["sign"]),
	};
}

/** A certificate for a P-256 key (signed by `issuer`): a readable certificate that is not RSA. */
export async function ecCertificatePem(issuer: RsaCertificate): Promise<string> {
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
	const key = await issuer.signingKey("SHA-256");
	return toPem(await buildCertificate({ spki, sign: (tbs) => crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, tbs) }));
}
