/** Calling the importer directly (src/imports/importer.ts), as the import route and job do. */
import type { ImportOptions } from "../src/imports/importer";
import { BASE } from "./helpers";

/** A CSV import into `businessUnit` by an unlimited key, received now; `extra` overrides. */
export const importOptions = (businessUnit: string, extra: Partial<ImportOptions> = {}): ImportOptions => ({
	format: "csv",
	businessUnit,
	channel: null,
	optedOut: null,
	unknownColumns: "reject",
	businessUnits: null,
	context: { source: "import", ip: null, userAgent: null, campaign: null, receivedAt: new Date().toISOString() },
	linkBase: () => BASE,
	...extra,
});

export const bodyOf = (text: string) => new Response(text).body as ReadableStream<Uint8Array>;
