// Markdown report: a header describing the run and machine, then each suite's sections.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";

/** The version wrangler itself uses: its nested copy when another package hoisted a different one. */
function packageVersion(root, name) {
	for (const dir of [join(root, "node_modules", "wrangler", "node_modules", name), join(root, "node_modules", name)]) {
		try {
			return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
		} catch {
			// not here
		}
	}
	return "unknown";
}

export function machineInfo(root) {
	const cpus = os.cpus();
	// Read-only: the commit the working tree is based on (it may hold uncommitted changes).
	const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout?.trim();
	return {
		node: process.version,
		cpu: cpus[0]?.model?.trim() || "unknown",
		cores: cpus.length,
		memoryGiB: os.totalmem() / 2 ** 30,
		os: `${os.type()} ${os.release()} (${os.arch()})`,
		wrangler: packageVersion(root, "wrangler"),
		miniflare: packageVersion(root, "miniflare"),
		workerd: packageVersion(root, "workerd"),
		commit: commit || "unknown",
	};
}

const escapeCell = (value) => String(value).replaceAll("|", "\\|").replaceAll("\n", " ");

/** Label columns (the first, or `left` of them; two when the first is "runtime") left, figures right. */
export function table({ head, rows, left }) {
	const labels = left ?? (head[0] === "runtime" ? 2 : 1);
	const alignRow = head.map((_, i) => (i < labels ? "---" : "---:"));
	return [head, alignRow, ...rows]
		.map((row, index) => `| ${(index === 1 ? row : row.map(escapeCell)).join(" | ")} |`)
		.join("\n");
}

const duration = (ms) => {
	const s = Math.round(ms / 1000);
	return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
};

/**
 * @param {object} report
 * @param {Date} report.date
 * @param {string} report.command
 * @param {ReturnType<typeof machineInfo>} report.machine
 * @param {number} report.totalMs
 * @param {string[]} report.howToRead
 * @param {string[]} [report.warnings]
 * @param {{title: string, sections: {title: string, intro?: string, table?: object, notes?: string[]}[]}[]} report.suites
 */
export function renderReport({ date, command, machine, totalMs, howToRead, warnings = [], suites }) {
	const out = [
		"# consent-edge benchmarks",
		"",
		`- Date: ${date.toISOString()}`,
		`- Command: \`${command}\``,
		`- Machine: Node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.os}`,
		`- Worker: run locally with wrangler ${machine.wrangler} (Miniflare ${machine.miniflare}, workerd ${machine.workerd}) from bench/wrangler.bench.toml, an empty database in bench/.data/state per runtime`,
		`- Code: commit ${machine.commit} (plus any uncommitted changes in the working tree)`,
		`- Total run time: ${duration(totalMs)}`,
		"",
	];
	for (const warning of warnings) out.push(`> **${warning}**`, "");
	out.push("## How to read", "", ...howToRead.map((line) => `- ${line}`), "");
	for (const suite of suites) {
		out.push(`## ${suite.title}`, "");
		for (const section of suite.sections) {
			out.push(`### ${section.title}`, "");
			if (section.intro) out.push(section.intro, "");
			if (section.table) out.push(table(section.table), "");
			for (const note of section.notes ?? []) out.push(`- ${note}`);
			if (section.notes?.length) out.push("");
		}
	}
	return `${out.join("\n").trimEnd()}\n`;
}

export function writeReport(path, markdown) {
	mkdirSync(dirname(path), { recursive: true });
	writeFileSync(path, markdown);
}
