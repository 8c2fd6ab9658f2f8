/** Who is asking: an API key (or the deployment's admin token) with its scopes and business units. */
export const SCOPES = [
	"consent:read",
	"contacts:read",
	"contacts:write",
	"events:write",
	"links:write",
	"reports:read",
	"admin",
] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
	/** "admin-token" for the deployment secret, else the API key's id. */
	keyId: string;
	scopes: ReadonlySet<Scope>;
	/** null: every business unit. */
	businessUnits: readonly string[] | null;
}
