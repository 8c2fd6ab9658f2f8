/**
 * SNS signing certificates, read with @peculiar/x509 (RFC 5280): the SubjectPublicKeyInfo for Web
 * Crypto's importKey("spki"), the key's algorithm, the validity period, subject and issuer. Nothing
 * here checks the chain or the extensions: SNS validators trust the key because it came over https
 * from an Amazon SNS host, and so does ses.ts (which also refuses a certificate outside its
 * validity period).
 */
// Before @peculiar/x509: its dependency tsyringe needs the Reflect metadata API when it loads.
import "reflect-metadata";
import { X509Certificate } from "@peculiar/x509";

export class X509Error extends Error {}

export interface CertificateInfo {
	/** The SubjectPublicKeyInfo encoding: what `crypto.subtle.importKey("spki", …)` takes. */
	spki: Uint8Array;
	/**
	 * The Web Crypto name of the key's algorithm: "RSASSA-PKCS1-v1_5" for an rsaEncryption key (what
	 * SNS signs with), "RSA-PSS", "ECDSA", "Ed25519", …
	 */
	algorithm: string;
	subject: string;
	issuer: string;
	notBefore: Date;
	notAfter: Date;
}

/**
 * Reads a certificate: PEM (the first PEM block, text around it allowed) or DER. Throws X509Error
 * when that is not an X.509 certificate.
 */
export function readCertificate(input: string | Uint8Array): CertificateInfo {
	try {
		const certificate = new X509Certificate(input);
		const publicKey = certificate.publicKey;
		return {
			spki: new Uint8Array(publicKey.rawData),
			algorithm: publicKey.algorithm.name,
			subject: certificate.subject,
			issuer: certificate.issuer,
			notBefore: certificate.notBefore,
			notAfter: certificate.notAfter,
		};
	} catch (error) {
		throw new X509Error(`not an X.509 certificate: ${error instanceof Error ? error.message : String(error)}`);
	}
}
