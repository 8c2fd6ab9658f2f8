/**
 * X.509 v3 certificates for the SNS signature tests, which cannot fetch Amazon's: made with
 * @peculiar/x509's generator, the library the provider reads them with.
 */
import "reflect-metadata"; // before @peculiar/x509
import {
	BasicConstraintsExtension,
	PemConverter,
	type X509Certificate,
	X509CertificateGenerator,
} from "@peculiar/x509";

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1) };

export interface ValidityOptions {
	/** Default: 2025-01-01 to 2035-01-01. */
	notBefore?: Date;
	notAfter?: Date;
}

function serialNumber(): string {
	// Positive: the high bit clear.
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	bytes[0] = (bytes[0] as number) & 0x7f;
	return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const validity = (options: ValidityOptions) => ({
	notBefore: options.notBefore ?? new Date(Date.UTC(2025, 0, 1)),
	notAfter: options.notAfter ?? new Date(Date.UTC(2035, 0, 1)),
});

/** DER bytes in a PEM CERTIFICATE block (also for bytes that are not a certificate). */
export const toPem = (der: Uint8Array): string => PemConverter.encode(der, "CERTIFICATE");

export interface RsaCertificate {
	pem: string;
	der: Uint8Array;
	spki: Uint8Array;
	/** The private key, for RSASSA-PKCS1-v1_5 with the given hash (SNS SignatureVersion 1 or 2). */
	signingKey(hash: "SHA-1" | "SHA-256"): Promise<CryptoKey>;
}

const asRsaCertificate = (certificate: X509Certificate, spki: Uint8Array, pkcs8: ArrayBuffer): RsaCertificate => ({
	pem: certificate.toString("pem"),
	der: new Uint8Array(certificate.rawData),
	spki,
	// A Web Crypto key is bound to one hash; SHA-1 (SignatureVersion 1) needs its own import.
	signingKey: (hash) => crypto.subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["sign"]),
});

/**
 * A fresh 2048-bit RSA key pair and a self-signed v3 certificate for it, with a basicConstraints
 * extension (so a reader must skip the optional parts).
 */
export async function rsaCertificate(commonName = "sns.amazonaws.com.test", options: ValidityOptions = {}) {
	const keys = (await crypto.subtle.generateKey(RSA, true, ["sign", "verify"])) as CryptoKeyPair;
	const certificate = await X509CertificateGenerator.createSelfSigned({
		serialNumber: serialNumber(),
		name: `CN=${commonName}`,
		...validity(options),
		signingAlgorithm: RSA,
		keys,
		extensions: [new BasicConstraintsExtension(false, undefined, true)],
	});
	const spki = new Uint8Array((await crypto.subtle.exportKey("spki", keys.publicKey)) as ArrayBuffer);
	const pkcs8 = (await crypto.subtle.exportKey("pkcs8", keys.privateKey)) as ArrayBuffer;
	return asRsaCertificate(certificate, spki, pkcs8);
}

/** A certificate for a P-256 key (signed by `issuer`): a readable certificate that is not RSA. */
export async function ecCertificatePem(issuer: RsaCertificate): Promise<string> {
	const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
		"sign",
		"verify",
	])) as CryptoKeyPair;
	const certificate = await X509CertificateGenerator.create({
		serialNumber: serialNumber(),
		subject: "CN=ec.sns.amazonaws.com.test",
		issuer: "CN=sns.amazonaws.com.test",
		...validity({}),
		publicKey: pair.publicKey,
		signingKey: await issuer.signingKey("SHA-256"),
		signingAlgorithm: RSA,
	});
	return certificate.toString("pem");
}
