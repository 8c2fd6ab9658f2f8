/**
 * The few Node built-ins the browser tests and their global setup use, typed by hand: the project's
 * TypeScript types are the Workers runtime's (no @types/node), and `import(name as string)` keeps
 * tsc from resolving them (as test/node/node.ts does).
 */

export interface ChildProcess {
	pid?: number;
	exitCode: number | null;
	signalCode: string | null;
	stdout: { on(event: "data", listener: (chunk: Uint8Array | string) => void): void };
	stderr: { on(event: "data", listener: (chunk: Uint8Array | string) => void): void };
	on(event: "exit", listener: (code: number | null, signal: string | null) => void): void;
	on(event: "error", listener: (error: Error) => void): void;
	once(event: "exit", listener: (code: number | null, signal: string | null) => void): void;
}

interface SpawnResult {
	status: number | null;
	stdout: string;
	stderr: string;
	error?: Error;
}

interface Server {
	listen(port: number, host: string, callback: () => void): void;
	address(): { port: number } | string | null;
	close(callback: (error?: Error) => void): void;
	on(event: "error", listener: (error: Error) => void): void;
}

interface NodeApi {
	spawn(
		command: string,
		args: string[],
		options: {
			cwd?: string;
			env?: Record<string, string | undefined>;
			detached?: boolean;
			stdio?: ["ignore" | "pipe", "pipe", "pipe"];
		},
	): ChildProcess;
	spawnSync(
		command: string,
		args: string[],
		options: { cwd?: string; encoding: "utf8"; env?: Record<string, string | undefined>; timeout?: number },
	): SpawnResult;
	createServer(): Server;
	mkdtempSync(prefix: string): string;
	mkdirSync(path: string, options?: { recursive: boolean }): void;
	writeFileSync(path: string, data: string): void;
	readFileSync(path: string, encoding: "utf8"): string;
	existsSync(path: string): boolean;
	rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
	tmpdir(): string;
	join(...parts: string[]): string;
	fileURLToPath(url: URL): string;
}

const load = async (name: string) => (await import(name as string)) as Record<string, unknown>;
const [childProcess, net, fs, os, path, url] = await Promise.all(
	["node:child_process", "node:net", "node:fs", "node:os", "node:path", "node:url"].map(load),
);

export const node = { ...childProcess, ...net, ...fs, ...os, ...path, ...url } as unknown as NodeApi;

export const nodeProcess = (
	globalThis as unknown as {
		process: {
			env: Record<string, string | undefined>;
			kill(pid: number, signal?: string | number): boolean;
			once(event: "exit", listener: () => void): void;
			removeListener(event: "exit", listener: () => void): void;
		};
	}
).process;

/** The repository root. */
export const root = node.fileURLToPath(new URL("../../", (import.meta as unknown as { url: string }).url));
