/**
 * The offline link signer senders use, `@consent-edge/links` (packages/links, its own package with
 * its own build, tests and README). Re-exported here for the worker's tests, which run it in workerd.
 */
export * from "../../packages/links/src/index";
