// Resident memory of the worker's workerd processes, from /proc (Linux only; elsewhere the
// functions return null and the suites report n/a). startServer() starts each worker detached, in a
// process group of its own whose id is the child's pid: `wrangler dev` (Node) with its workerd
// processes (the worker's and the dev proxy's), or start-miniflare.mjs (Node) with one workerd.
// Only workerd processes of that group are counted: the Node parent holds no worker state. Each
// gets a role: with one workerd it is the worker ("worker"); with more (`wrangler dev`), the one
// listening on the worker's public port is wrangler's dev proxy ("dev proxy": its ProxyWorker and
// InspectorProxyWorker, through which every request and every DevTools event passes), the others
// run the worker.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** { pid, ppid, pgrp, comm, state } of a process, or null when it is gone. */
function statOf(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses, so split at the last ")".
		const close = stat.lastIndexOf(")");
		const comm = stat.slice(stat.indexOf("(") + 1, close);
		const [state, ppid, pgrp] = stat.slice(close + 2).split(" ");
		return { pid, ppid: Number(ppid), pgrp: Number(pgrp), comm, state };
	} catch {
		return null;
	}
}

/** Inode of the socket listening on 127.0.0.1:`port` (IPv4), or null. */
function listeningInode(port) {
	try {
		const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
		for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
			const fields = line.trim().split(/\s+/);
			if (fields[1] === wanted && fields[3] === "0A") return fields[9];
		}
	} catch {
		// no /proc/net/tcp
	}
	return null;
}

function holdsSocket(pid, inode) {
	try {
		return readdirSync(`/proc/${pid}/fd`).some((fd) => {
			try {
				return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
			} catch {
				return false;
			}
		});
	} catch {
		return false;
	}
}

/**
 * The workerd processes of process group `pgid` (the worker's) as { pid, role }, or null without
 * /proc. `port` is the worker's public port (tells the dev proxy from the worker under `wrangler dev`).
 */
export function workerdProcesses(pgid, port) {
	let entries;
	try {
		entries = readdirSync("/proc");
	} catch {
		return null;
	}
	const found = [];
	for (const entry of entries) {
		if (!/^\d+$/.test(entry)) continue;
		const stat = statOf(Number(entry));
		if (stat && stat.pgrp === pgid && stat.comm === "workerd") found.push({ pid: stat.pid, role: "worker" });
	}
	if (found.length > 1) {
		const inode = listeningInode(Number(port));
		for (const candidate of found) if (inode && holdsSocket(candidate.pid, inode)) candidate.role = "dev proxy";
	}
	return found;
}

/** VmRSS of one process in bytes; 0 when it is gone. */
function rssOf(pid) {
	try {
		const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
		return match ? Number(match[1]) * 1024 : 0;
	} catch {
		return 0;
	}
}

/** The summed RSS of the given processes now, in bytes. */
export const rssNow = (processes) => processes.reduce((sum, { pid }) => sum + rssOf(pid), 0);

/**
 * Samples the RSS of `processes` every `intervalMs` until stop(), which returns, for their sum:
 * { beforeBytes, peakBytes, firstHalfPeakBytes, afterBytes, samples } (RSS at the start, the highest
 * sample, the first and the last included, the highest in the first half of the sampling time:
 * memory that grows with the work done keeps rising in the second half, flat memory does not, and
 * the last), and `byRole`: { [role]: { beforeBytes, peakBytes } } for the processes of each role.
 * Sampling runs on the bench's own event loop with synchronous reads of /proc (a few microseconds
 * each), so it keeps going while a response streams in.
 */
export function sampleRss(processes, intervalMs = 50) {
	const started = performance.now();
	/** [ms since start, RSS of each process] */
	const samples = [];
	const take = () => samples.push([performance.now() - started, processes.map(({ pid }) => rssOf(pid))]);
	take();
	const timer = setInterval(take, intervalMs);
	return {
		stop() {
			clearInterval(timer);
			take();
			const half = (performance.now() - started) / 2;
			const sum = (values, include = () => true) =>
				values.reduce((total, value, i) => total + (include(processes[i]) ? value : 0), 0);
			let peakBytes = 0;
			let firstHalfPeakBytes = 0;
			const byRole = {};
			for (const [at, values] of samples) {
				const total = sum(values);
				peakBytes = Math.max(peakBytes, total);
				if (at <= half) firstHalfPeakBytes = Math.max(firstHalfPeakBytes, total);
				for (const role of new Set(processes.map((p) => p.role))) {
					const value = sum(values, (p) => p.role === role);
					byRole[role] ??= { beforeBytes: value, peakBytes: 0 };
					byRole[role].peakBytes = Math.max(byRole[role].peakBytes, value);
				}
			}
			return {
				beforeBytes: sum(samples[0][1]),
				peakBytes,
				firstHalfPeakBytes,
				afterBytes: sum(samples[samples.length - 1][1]),
				samples: samples.length,
				byRole,
			};
		},
	};
}

/**
 * Process groups of every workerd on this machine and how many processes each: the run's own
 * workers and anything else (another bench run, tests, `wrangler dev`), or null without /proc.
 * @returns {Map<number, number> | null}
 */
export function workerdGroups() {
	let entries;
	try {
		entries = readdirSync("/proc");
	} catch {
		return null;
	}
	const groups = new Map();
	for (const entry of entries) {
		if (!/^\d+$/.test(entry)) continue;
		const stat = statOf(Number(entry));
		// A zombie (Z: exited, not yet reaped) uses no CPU.
		if (stat?.comm === "workerd" && stat.state !== "Z") groups.set(stat.pgrp, (groups.get(stat.pgrp) ?? 0) + 1);
	}
	return groups;
}

/** Open file descriptors of the given processes, summed (0 for a process that is gone). */
export function openFiles(processes) {
	let total = 0;
	for (const { pid } of processes) {
		try {
			total += readdirSync(`/proc/${pid}/fd`).length;
		} catch {
			// gone
		}
	}
	return total;
}

/**
 * Locally every SQLite-backed Durable Object (each contact's ContactActor) holds a SQLite database
 * open in the worker's workerd: three file descriptors (database, WAL, shared memory). One workerd
 * holds at most about 3,400 of them at once (about 10,170 descriptors, whatever the process's
 * limit): past that, opening one more fails with SQLITE_NOMEM, and so does any other SQLite work of
 * the process, the local D1 database's included (internal errors, 500s). Idle objects are evicted
 * after a few seconds, more slowly while the process is busy. Suites that create many objects call
 * this between rounds: it waits, up to `timeoutMs`, until the worker holds at most `maxObjects`
 * more objects than when `baseline` (its descriptor count at the start) was taken, and answers how
 * long it waited and whether it got there. Without /proc it waits `fallbackMs` instead.
 */
export async function settleDurableObjects(
	processes,
	baseline,
	{ maxObjects = 500, timeoutMs = 60_000, fallbackMs = 5000 } = {},
) {
	const started = performance.now();
	const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
	if (!processes || processes.length === 0) {
		await sleep(fallbackMs);
		return { waitedMs: performance.now() - started, settled: false };
	}
	for (;;) {
		const objects = (openFiles(processes) - baseline) / 3;
		if (objects <= maxObjects) return { waitedMs: performance.now() - started, settled: true, objects };
		if (performance.now() - started > timeoutMs)
			return { waitedMs: performance.now() - started, settled: false, objects };
		await sleep(250);
	}
}
