/**
 * The built package (dist/index.js, built by vitest.config.ts or the root's vitest.node.config.ts)
 * as senders install and use it, on its own: tokens are checked with Web Crypto and decoded with
 * token.ts. That they are the service's own, byte for byte, the repository root tests (test/node).
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type * as Package from "../src/index";
import { base64UrlDecode, type CHANNELS, claimsFromPayload, type LinkClaims } from "../src/token";
import { CASES, SCOPES } from "./cases";
import { node, nodeProcess, packageRoot, repositoryRoot } from "./node";

// Types from the source, code from the build: what senders import.
const built = (await import(node.join(packageRoot, "dist", "index.js"))) as typeof Package;
const { createLinkSigner } = built;

const SECRETS: Record<string, string> = {
	k2: "the-new-signing-secret-0123456789",
	k1: "the-old-signing-secret-0123456789",
};
const KEYS = JSON.stringify(SECRETS);
const BASE = "https://consent.example.com";
const NOW = 1_795_000_000;
const encoder = new TextEncoder();

const tokenOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);

/**
 * The claims of a link's token once its signature checks out with Web Crypto (another HMAC than
 * the node:crypto one that made it), under the given keys as the service would hold them.
 */
async function verified(url: string, secrets: Record<string, string> = SECRETS): Promise<LinkClaims> {
	const [kid, payload, signature] = tokenOf(url).split(".") as [string, string, string];
	const secret = secrets[kid];
	if (secret === undefined) throw new Error(`${url}: unknown key ${kid}`);
	const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
		"verify",
	]);
	const bytes = base64UrlDecode(signature);
	if (
		!bytes ||
		!(await crypto.subtle.verify("HMAC", key, bytes as Uint8Array<ArrayBuffer>, encoder.encode(`${kid}.${payload}`)))
	) {
		throw new Error(`${url}: bad signature`);
	}
	const claims = claimsFromPayload(payload);
	if (!claims) throw new Error(`${url}: malformed payload`);
	return claims;
}

const signer = await createLinkSigner({ keys: KEYS, baseUrl: BASE });

describe("the build", () => {
	it("is one ES module without imports, and node:crypto only behind a computed dynamic import", () => {
		const js = node.readFileSync(node.join(packageRoot, "dist", "index.js"), "utf8");
		expect(js).not.toMatch(/^\s*import\s[^(]/m);
		expect(js).not.toMatch(/\bfrom\s*["']/);
		expect(js).not.toMatch(/import\(\s*["']node:/);
		expect(js).not.toMatch(/require\(/);
		const dts = node.readFileSync(node.join(packageRoot, "dist", "index.d.ts"), "utf8");
		expect(dts).toContain("export declare function createLinkSigner(options: LinkSignerOptions): Promise<LinkSigner>;");
		expect(dts).not.toMatch(/^\s*import\s/m);
	});

	it("declares the channels token.ts lists", () => {
		expectTypeOf<Package.Channel>().toEqualTypeOf<(typeof CHANNELS)[number]>();
	});
});

describe("the package", () => {
	const manifest = JSON.parse(node.readFileSync(node.join(packageRoot, "package.json"), "utf8"));

	it("has no dependencies of any kind and exports the build", () => {
		expect(manifest).toMatchObject({ name: "@consent-edge/links", version: "0.1.0", type: "module", license: "MIT" });
		for (const field of [
			"dependencies",
			"devDependencies",
			"peerDependencies",
			"optionalDependencies",
			"bundleDependencies",
			"bundledDependencies",
		]) {
			expect(manifest[field], field).toBeUndefined();
		}
		expect(manifest.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
	});

	it("packs the build, the README and package.json, nothing else", () => {
		const packed = node.spawnSync(
			"npm",
			["pack", "--workspace", "@consent-edge/links", "--dry-run", "--json", "--ignore-scripts"],
			{ cwd: repositoryRoot, encoding: "utf8" },
		);
		expect(packed.status, packed.stderr).toBe(0);
		const [result] = JSON.parse(packed.stdout);
		expect(result.name).toBe("@consent-edge/links");
		const files = (result.files as Array<{ path: string }>).map((file) => file.path).sort();
		expect(files).toEqual(["README.md", "dist/index.d.ts", "dist/index.js", "package.json"]);
	});
});

describe("tokens", () => {
	it("carry the normalized recipient and scope, signed with the first key", async () => {
		for (const [recipient, subject] of CASES) {
			for (const scope of SCOPES) {
				const made = signer.forRecipient(recipient, { ...scope, issuedAt: NOW });
				const expected: LinkClaims = { purpose: "manage", subject, issuedAt: NOW, ...scope };
				expect(await verified(made.unsubscribeUrl)).toEqual(expected);
				expect(tokenOf(made.unsubscribeUrl).startsWith("k2.")).toBe(true);
				expect(tokenOf(made.preferencesUrl)).toBe(tokenOf(made.unsubscribeUrl));
			}
		}
	});

	it("are the same for the same input (no randomness: a resent message keeps its links)", () => {
		const options = { channel: "email" as const, issuedAt: NOW };
		expect(signer.token({ email: "ann@example.de" }, options)).toBe(
			signer.token({ email: " ANN@example.de" }, options),
		);
	});

	it("are stamped now unless issuedAt says otherwise, and never expire", async () => {
		const before = Math.floor(Date.now() / 1000);
		const claims = await verified(signer.forRecipient({ email: "ann@example.de" }).unsubscribeUrl);
		expect(claims.issuedAt).toBeGreaterThanOrEqual(before);
		expect(claims.issuedAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
		expect(claims.expiresAt).toBeUndefined();
		const dated = signer.token({ email: "ann@example.de" }, { issuedAt: new Date(NOW * 1000 + 999) });
		expect((await verified(dated)).issuedAt).toBe(NOW);
	});
});

describe("links and headers", () => {
	it("put the https URI in List-Unsubscribe and ask for one-click", () => {
		const made = signer.forRecipient({ email: "ann@example.de" }, { channel: "email" });
		const token = tokenOf(made.unsubscribeUrl);
		expect(made).toEqual({
			unsubscribeUrl: `${BASE}/u/${token}`,
			preferencesUrl: `${BASE}/p/${token}`,
			headers: { "List-Unsubscribe": `<${BASE}/u/${token}>`, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
		});
	});

	it("add a mailto after the https URI, with the token at the end of its subject", async () => {
		// [LIST_UNSUBSCRIBE_MAILTO, the header's mailto with TOKEN for the link's token]
		const cases: Array<[string, string]> = [
			["unsubscribe@example.com", "mailto:unsubscribe@example.com?subject=unsubscribe%20TOKEN"],
			["mailto:unsubscribe@example.com", "mailto:unsubscribe@example.com?subject=unsubscribe%20TOKEN"],
			["<MAILTO:u@example.com>", "mailto:u@example.com?subject=unsubscribe%20TOKEN"],
			["mailto:u@example.com?subject=stop", "mailto:u@example.com?subject=stop%20TOKEN"],
			["mailto:u@example.com?Subject=Remove%20me&body=x", "mailto:u@example.com?Subject=Remove%20me%20TOKEN&body=x"],
			["mailto:u@example.com?subject=&body=x", "mailto:u@example.com?subject=TOKEN&body=x"],
			["mailto:u@example.com?subject&body=x", "mailto:u@example.com?subject=TOKEN&body=x"],
			["mailto:u@example.com?body=hi", "mailto:u@example.com?body=hi&subject=unsubscribe%20TOKEN"],
			["mailto:u@example.com?", "mailto:u@example.com?subject=unsubscribe%20TOKEN"],
			["mailto:u@example.com?subject=stop#top", "mailto:u@example.com?subject=stop%20TOKEN#top"],
			["mailto:u@example.com#top", "mailto:u@example.com?subject=unsubscribe%20TOKEN#top"],
		];
		for (const [mailto, expected] of cases) {
			const links = await createLinkSigner({ keys: KEYS, baseUrl: `${BASE}//`, mailto });
			const made = links.forRecipient({ externalId: "u1" });
			const token = tokenOf(made.unsubscribeUrl);
			expect(made.headers["List-Unsubscribe"], mailto).toBe(
				`<${made.unsubscribeUrl}>, <${expected.replace("TOKEN", token)}>`,
			);
			expect(made.unsubscribeUrl.startsWith(`${BASE}/u/`)).toBe(true);
		}
		// Each link its own token; forRecipients and forRecipient alike.
		const links = await createLinkSigner({ keys: KEYS, baseUrl: BASE, mailto: "unsubscribe@example.com" });
		for (const made of links.forRecipients([{ externalId: "u1" }, { email: "ann@example.de" }], { channel: "email" })) {
			const token = tokenOf(made.unsubscribeUrl);
			expect(made.headers["List-Unsubscribe"]).toBe(
				`<${BASE}/u/${token}>, <mailto:unsubscribe@example.com?subject=unsubscribe%20${token}>`,
			);
		}
		for (const mailto of [
			"a b@example.com",
			"a@example.com>, <https://x",
			"no-at-sign",
			'a"@example.com',
			"a@ex,ample",
		]) {
			await expect(createLinkSigner({ keys: KEYS, baseUrl: BASE, mailto })).rejects.toThrow(TypeError);
		}
		const without = await createLinkSigner({ keys: KEYS, baseUrl: BASE, mailto: "" });
		expect(without.forRecipient({ externalId: "u1" }).headers["List-Unsubscribe"]).not.toContain("mailto");
	});

	it("keep a base URL's path prefix and refuse what is not an http(s) origin", async () => {
		const prefixed = await createLinkSigner({ keys: KEYS, baseUrl: "https://example.com/consent/" });
		expect(prefixed.forRecipient({ externalId: "u1" }).unsubscribeUrl).toMatch(/^https:\/\/example\.com\/consent\/u\//);
		for (const baseUrl of [
			"consent.example.com",
			"ftp://example.com",
			"https://example.com/?a=1",
			"https://u:p@example.com",
			"",
			42,
		]) {
			await expect(createLinkSigner({ keys: KEYS, baseUrl } as never), String(baseUrl)).rejects.toThrow(TypeError);
		}
	});

	it("come in input order for many recipients, from arrays and other iterables", () => {
		const recipients = Array.from({ length: 1000 }, (_, i) => ({ email: `user${i}@example.com` }));
		const options = { channel: "email" as const, topic: "news", issuedAt: NOW };
		const batch = signer.forRecipients(recipients, options);
		expect(batch).toEqual(recipients.map((recipient) => signer.forRecipient(recipient, options)));
		function* generate() {
			yield* recipients.slice(0, 3);
		}
		expect(signer.forRecipients(generate(), options)).toEqual(batch.slice(0, 3));
	});
});

describe("key rotation", () => {
	it("signs with the first key; links of an older key verify while the service lists it", async () => {
		const oldOnly = JSON.stringify({ k1: SECRETS.k1 });
		const before = await createLinkSigner({ keys: oldOnly, baseUrl: BASE });
		const after = await createLinkSigner({ keys: KEYS, baseUrl: BASE });
		expect(before.keyId).toBe("k1");
		expect(after.keyId).toBe("k2");
		const oldLink = before.forRecipient({ email: "ann@example.de" }).unsubscribeUrl;
		const newLink = after.forRecipient({ email: "ann@example.de" }).unsubscribeUrl;
		expect(tokenOf(oldLink).startsWith("k1.")).toBe(true);
		expect(tokenOf(newLink).startsWith("k2.")).toBe(true);
		await verified(oldLink, SECRETS);
		await verified(newLink, SECRETS);
		await expect(verified(oldLink, { k2: SECRETS.k2 as string })).rejects.toThrow("unknown key k1");
		// The keys as an object, or only the first of them: the same tokens.
		const objectKeys = await createLinkSigner({ keys: { k2: SECRETS.k2 as string }, baseUrl: BASE });
		expect(objectKeys.token({ externalId: "u" }, { issuedAt: NOW })).toBe(
			after.token({ externalId: "u" }, { issuedAt: NOW }),
		);
	});

	it("refuses keys the service would refuse", async () => {
		for (const keys of ["", "not json", "[]", "{}", '{"1": "integer-like-key-id-0123456789"}', '{"k1": "short"}']) {
			await expect(createLinkSigner({ keys, baseUrl: BASE }), keys).rejects.toThrow(/LINK_SIGNING_KEYS/);
		}
		await expect(createLinkSigner({ baseUrl: BASE } as never)).rejects.toThrow(TypeError);
	});
});

describe("invalid input", () => {
	const links = signer;
	it.each([
		["nothing", undefined],
		["a string", "ann@example.de"],
		["no identifier", { businessUnit: "de" }],
		["two identifiers", { email: "ann@example.de", externalId: "u1" }],
		["an unknown field", { email: "ann@example.de", bussinessUnit: "de" }],
		["a bad email", { email: "ann@" }],
		["a bad phone", { phone: "0176" }],
		["a bad business unit", { email: "ann@example.de", businessUnit: "D E" }],
		["a business unit with an externalId", { externalId: "u1", businessUnit: "de" }],
		["an empty externalId", { externalId: "" }],
		["a control character", { externalId: "a\nb" }],
		["a long externalId", { externalId: "x".repeat(257) }],
		["a number", { contactId: 42 }],
	])("throws a TypeError for a recipient with %s", (_, recipient) => {
		expect(() => links.forRecipient(recipient as never)).toThrow(TypeError);
		expect(() => links.forRecipients([{ externalId: "ok" }, recipient as never])).toThrow(TypeError);
	});

	it.each([
		["an unknown field (a misspelt topic would unsubscribe from everything)", { topics: "news" }],
		["an unknown channel", { channel: "fax" }],
		["a bad topic key", { topic: "Not A Key" }],
		["a long campaign", { campaign: "x".repeat(129) }],
		["an empty campaign", { campaign: "" }],
		["a negative issuedAt", { issuedAt: -1 }],
		["a fractional issuedAt", { issuedAt: 1.5 }],
		["an invalid Date", { issuedAt: new Date("nope") }],
	])("throws a TypeError for options with %s", (_, options) => {
		expect(() => links.forRecipient({ externalId: "u1" }, options as never)).toThrow(TypeError);
		// A valid topic or campaign before does not let a bad one through after.
		links.forRecipient({ externalId: "u1" }, { topic: "news", campaign: "c" });
		expect(() => links.token({ externalId: "u1" }, options as never)).toThrow(TypeError);
	});
});

describe("as an installed package", () => {
	it("imports from its packed tarball in plain Node and type-checks under nodenext", () => {
		const dir = node.mkdtempSync(node.join(node.tmpdir(), "consent-edge-links-"));
		try {
			// The very tarball npm would publish, unpacked where npm would install it.
			const packed = node.spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
				cwd: packageRoot,
				encoding: "utf8",
			});
			expect(packed.status, packed.stderr).toBe(0);
			const tarball = node.join(dir, JSON.parse(packed.stdout)[0].filename);
			const installed = node.join(dir, "node_modules", "@consent-edge", "links");
			node.mkdirSync(installed, { recursive: true });
			const untar = node.spawnSync("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"], {
				encoding: "utf8",
			});
			expect(untar.status, untar.stderr).toBe(0);
			expect(node.existsSync(node.join(installed, "src"))).toBe(false);

			node.writeFileSync(node.join(dir, "package.json"), JSON.stringify({ name: "sender", type: "module" }));
			const program = `import { createLinkSigner } from "@consent-edge/links";
const links = await createLinkSigner({ keys: process.env.LINK_SIGNING_KEYS, baseUrl: "https://consent.example.com" });
const made = links.forRecipient({ email: "ann@example.de", businessUnit: "de" }, { channel: "email", topic: "news", campaign: "c1" });
console.log(JSON.stringify({ keyId: links.keyId, made }));
`;
			node.writeFileSync(node.join(dir, "send.mjs"), program);
			const run = node.spawnSync(nodeProcess.execPath, ["send.mjs"], {
				cwd: dir,
				encoding: "utf8",
				env: { ...nodeProcess.env, LINK_SIGNING_KEYS: KEYS },
			});
			expect(run.status, run.stderr).toBe(0);
			const { keyId, made } = JSON.parse(run.stdout);
			expect(keyId).toBe("k2");
			expect(made.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");

			node.writeFileSync(
				node.join(dir, "send.mts"),
				`${program.replace("process.env.LINK_SIGNING_KEYS", '"{}"').replace("console.log", "declare function show(value: unknown): void;\nshow")}
import type { Links, Recipient } from "@consent-edge/links";
const typed: Links = made;
const recipient: Recipient = { phone: "+4917612345678" };
// @ts-expect-error: the header values are fixed strings
const wrong: Links["headers"]["List-Unsubscribe-Post"] = "yes";
show([typed, recipient, wrong]);
`,
			);
			node.writeFileSync(
				node.join(dir, "tsconfig.json"),
				JSON.stringify({
					compilerOptions: { strict: true, noEmit: true, module: "nodenext", target: "es2022", types: [] },
					files: ["send.mts"],
				}),
			);
			const tsc = node.spawnSync(
				nodeProcess.execPath,
				[node.join(repositoryRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "."],
				{ cwd: dir, encoding: "utf8" },
			);
			expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
		} finally {
			node.rmSync(dir, { recursive: true, force: true });
		}
	});
});
