// Moved to src/crypto.ts; kept until every provider file imports from there.
export * from "../crypto";
