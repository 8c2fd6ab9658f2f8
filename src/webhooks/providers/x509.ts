/**
 * Just enough DER (ITU-T X.690) to take the SubjectPublicKeyInfo out of an X.509 certificate
 * (RFC 5280 §4.1), so Web Crypto can import the key of an SNS signing certificate. Nothing here
 * checks the certificate itself (chain, validity, extensions): SNS validators trust the key because
 * it came over https from an Amazon SNS host, and so does ses.ts.
 */
import { base64Decode } from "../crypto";

export class X509Error extends Error {}

/** rsaEncryption (RFC 8017 appendix C). */
export const RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1";

const INTEGER = 0x02;
const SEQUENCE = 0x30;
const OBJECT_IDENTIFIER = 0x06;
/** `[0] EXPLICIT Version` of a v2/v3 TBSCertificate. */
const CONTEXT_0 = 0xa0;

interface Tlv {
	tag: number;
	/** Offset of the tag byte: `der.subarray(start, end)` is the whole encoding. */
	start: number;
	contentStart: number;
	end: number;
}

/** One tag-length-value at `offset`, which must end by `limit`. Definite lengths only: DER has no others. */
function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
	if (offset + 2 > limit) throw new X509Error("truncated DER");
	const tag = der[offset] as number;
	// High tag numbers (low five bits all set) never occur in the structures read here.
	if ((tag & 0x1f) === 0x1f) throw new X509Error("unsupported DER tag");
	const first = der[offset + 1] as number;
	let length: number;
	let contentStart: number;
	if (first < 0x80) {
		length = first;
		contentStart = offset + 2;
	} else {
		const count = first & 0x7f;
		// 0x80 is BER's indefinite length; more than 4 length bytes would be a certificate over 4 GB.
		if (count === 0 || count > 4) throw new X509Error("unsupported DER length");
		if (offset + 2 + count > limit) throw new X509Error("truncated DER");
		length = 0;
		for (let index = 0; index < count; index++) length = length * 256 + (der[offset + 2 + index] as number);
		contentStart = offset + 2 + count;
	}
	const end = contentStart + length;
	if (end > limit) throw new X509Error("truncated DER");
	return { tag, start: offset, contentStart, end };
}

function expectTag(tlv: Tlv, tag: number, what: string): Tlv {
	if (tlv.tag !== tag) throw new X509Error(`${what} is not where a certificate has it`);
	return tlv;
}

/** Dotted form of an OBJECT IDENTIFIER's content bytes (X.690 §8.19). */
function decodeOid(bytes: Uint8Array): string {
	if (bytes.length === 0) throw new X509Error("empty OBJECT IDENTIFIER");
	const arcs: number[] = [];
	let value = 0;
	for (const byte of bytes) {
		value = value * 128 + (byte & 0x7f);
		if (value > Number.MAX_SAFE_INTEGER) throw new X509Error("OBJECT IDENTIFIER arc too large");
		if ((byte & 0x80) === 0) {
			arcs.push(value);
			value = 0;
		}
	}
	if ((bytes[bytes.length - 1] as number) & 0x80) throw new X509Error("truncated OBJECT IDENTIFIER");
	const first = arcs[0] as number;
	const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
	return [...head, ...arcs.slice(1)].join(".");
}

/** The DER bytes of the first CERTIFICATE block of a PEM text (RFC 7468). */
export function certificateDer(pem: string): Uint8Array {
	const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/.exec(pem);
	const der = match?.[1] ? base64Decode(match[1].replace(/\s+/g, "")) : null;
	if (!der || der.length === 0) throw new X509Error("no PEM CERTIFICATE block");
	return der;
}

export interface PublicKeyInfo {
	/** The whole SubjectPublicKeyInfo encoding: what `crypto.subtle.importKey("spki", …)` takes. */
	spki: Uint8Array;
	/** The key's algorithm OID, dotted. */
	algorithm: string;
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity,
 *                               subject, subjectPublicKeyInfo, … }
 */
export function publicKeyInfo(der: Uint8Array): PublicKeyInfo {
	const certificate = expectTag(readTlv(der, 0, der.length), SEQUENCE, "Certificate");
	if (certificate.end !== der.length) throw new X509Error("bytes after the certificate");
	const tbs = expectTag(readTlv(der, certificate.contentStart, certificate.end), SEQUENCE, "TBSCertificate");
	let offset = tbs.contentStart;
	const next = () => {
		const tlv = readTlv(der, offset, tbs.end);
		offset = tlv.end;
		return tlv;
	};
	let field = next();
	if (field.tag === CONTEXT_0) field = next(); // version: v1 certificates leave it out
	expectTag(field, INTEGER, "serialNumber");
	for (const name of ["signature", "issuer", "validity", "subject"]) expectTag(next(), SEQUENCE, name);
	const spki = expectTag(next(), SEQUENCE, "SubjectPublicKeyInfo");
	const algorithmIdentifier = expectTag(readTlv(der, spki.contentStart, spki.end), SEQUENCE, "AlgorithmIdentifier");
	const oid = expectTag(
		readTlv(der, algorithmIdentifier.contentStart, algorithmIdentifier.end),
		OBJECT_IDENTIFIER,
		"algorithm OID",
	);
	return {
		spki: der.slice(spki.start, spki.end),
		algorithm: decodeOid(der.subarray(oid.contentStart, oid.end)),
	};
}

/** The SubjectPublicKeyInfo of the first certificate in a PEM text. */
export function publicKeyInfoFromPem(pem: string): PublicKeyInfo {
	return publicKeyInfo(certificateDer(pem));
}
