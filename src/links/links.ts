/**
 * Unsubscribe and preference links (URLs, RFC 2369 / RFC 8058 headers, manage claims): the offline
 * signer's own code, packages/links/src/links.ts, so POST /v1/links and the links senders make with
 * @consent-edge/links are the very same. One source: nothing is defined here.
 */
export * from "../../packages/links/src/links";
