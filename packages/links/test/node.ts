/**
 * The few Node built-ins the tests use, typed by hand: the package has no dependencies, @types/node
 * included, and `import(name as string)` keeps tsc from resolving them.
 */

interface SpawnResult {
	status: number | null;
	stdout: string;
	stderr: string;
	error?: Error;
}

interface NodeApi {
	spawnSync(
		command: string,
		args: string[],
		options: { cwd?: string; encoding: "utf8"; env?: Record<string, string | undefined>; timeout?: number },
	): SpawnResult;
	mkdtempSync(prefix: string): string;
	mkdirSync(path: string, options?: { recursive: boolean }): void;
	writeFileSync(path: string, data: string): void;
	readFileSync(path: string, encoding: "utf8"): string;
	existsSync(path: string): boolean;
	symlinkSync(target: string, path: string, type?: "dir"): void;
	rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
	tmpdir(): string;
	join(...parts: string[]): string;
	fileURLToPath(url: URL): string;
	createHmac(
		algorithm: "sha256",
		key: string | Uint8Array,
	): { update(data: string): { digest(encoding: "base64url"): string } };
}

const load = async (name: string) => (await import(name as string)) as Record<string, unknown>;
const [childProcess, fs, os, path, url, crypto] = await Promise.all(
	["node:child_process", "node:fs", "node:os", "node:path", "node:url", "node:crypto"].map(load),
);

export const node = { ...childProcess, ...fs, ...os, ...path, ...url, ...crypto } as unknown as NodeApi;

export const nodeProcess = (
	globalThis as unknown as { process: { execPath: string; env: Record<string, string | undefined>; platform: string } }
).process;

const here = (import.meta as unknown as { url: string }).url;

/** The package directory, packages/links/ (with a trailing slash). */
export const packageRoot = node.fileURLToPath(new URL("../", here));

/** The repository root (the npm workspace root), where npm and TypeScript are installed. */
export const repositoryRoot = node.fileURLToPath(new URL("../../../", here));
