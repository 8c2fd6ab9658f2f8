import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// applyD1Migrations skips migrations already applied, so every test file may run it.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
