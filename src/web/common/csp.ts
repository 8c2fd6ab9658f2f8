/**
 * The service's Content-Security-Policy, and the one way a page widens it: a page that shows a
 * business unit's logo allows images from that logo's https origin, and nothing else changes.
 */

type Directives = Record<string, string[]>;

/** Every page's policy (src/http/security-headers.ts puts it on each page unless the page widened it). */
export const CONTENT_SECURITY_POLICY = {
	defaultSrc: ["'none'"],
	styleSrc: ["'self'"],
	imgSrc: ["'self'", "data:"],
	formAction: ["'self'"],
	frameAncestors: ["'none'"],
	baseUri: ["'none'"],
} satisfies Directives;

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** The header value; `imageOrigin` (https only) is added to img-src. */
export function contentSecurityPolicy(imageOrigin: string | null = null): string {
	const directives: Record<string, string[]> = { ...CONTENT_SECURITY_POLICY };
	if (imageOrigin?.startsWith("https://")) directives.imgSrc = [...CONTENT_SECURITY_POLICY.imgSrc, imageOrigin];
	return Object.entries(directives)
		.map(([name, values]) => `${kebab(name)} ${values.join(" ")}`)
		.join("; ");
}
