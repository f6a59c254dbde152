/**
 * Summarises a V8 `.cpuprofile` (e.g. from `npm run bench -- --server-cpu-prof DIR`): the
 * functions with the most self time, and self time by file and by package.
 * Usage: `npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--results latest.json [--scenario NAME]]`;
 * with `--results`, only the samples inside the measured windows of that run are counted
 * (both use the machine's monotonic clock).
 */
import { readFile } from "node:fs/promises";
import { REPO_ROOT } from "./paths.js";
import type { ProfileWindow } from "./report.js";

/** The parts of a V8 CPU profile this summary reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time of one entry (function, file or package), in ms and percent of the profile. */
export interface SelfTime {
  name: string;
  ms: number;
  pct: number;
}

/** Self time grouped three ways, and inclusive time of the application's own functions. */
export interface ProfileSummary {
  totalMs: number;
  functions: SelfTime[];
  files: SelfTime[];
  packages: SelfTime[];
  /** Time with an application function (outside node_modules and node:) anywhere on the stack. */
  appInclusive: SelfTime[];
}

/** A time range on the profile's clock, µs. */
export type Window = readonly [number, number];

/**
 * Groups the profile's self time by function, by file and by package (node_modules name,
 * node:, app folder). With `windows`, only samples inside them count.
 */
export function summarizeProfile(profile: CpuProfile, top = 25, windows?: readonly Window[]): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const appInclusive = new Map<string, number>();
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  const packages = new Map<string, number>();
  let totalUs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) return;
    totalUs += us;
    const frame = byId.get(id);
    if (!frame) return;
    const file = shortFile(frame.url);
    // Application files run transpiled by tsx: their line numbers do not match the sources.
    const line = file && !isApp(frame.url) ? `:${frame.lineNumber + 1}` : "";
    const fn = `${frame.functionName || "(anonymous)"} ${file}${line}`.trim();
    add(functions, fn, us);
    add(files, file || frame.functionName || "(native)", us);
    add(packages, packageOf(frame.url, frame.functionName), us);
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parentOf.get(node)) {
      const f = byId.get(node);
      if (!f || !isApp(f.url) || !f.functionName) continue;
      seen.add(`${f.functionName} ${shortFile(f.url)}`);
    }
    for (const key of seen) add(appInclusive, key, us);
  });
  const rank = (map: Map<string, number>): SelfTime[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / Math.max(1, totalUs) }));
  return {
    totalMs: totalUs / 1000,
    functions: rank(functions),
    files: rank(files),
    packages: rank(packages),
    appInclusive: rank(appInclusive),
  };
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function isApp(url: string): boolean {
  return url.startsWith("file://") && !url.includes("/node_modules/");
}

function shortFile(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  return path.startsWith(REPO_ROOT) ? path.slice(REPO_ROOT.length + 1) : path;
}

function packageOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return url.split("/")[0]!;
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1]!;
  const file = shortFile(url);
  const parts = file.split("/");
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Measured windows from a results file, optionally of one scenario. */
async function readWindows(resultsFile: string | undefined, scenario: string | undefined): Promise<Window[] | undefined> {
  if (resultsFile === undefined) return undefined;
  const results = JSON.parse(await readFile(resultsFile, "utf8")) as { profile_windows?: ProfileWindow[] };
  return (results.profile_windows ?? [])
    .filter((w) => scenario === undefined || w.scenario === scenario)
    .map((w) => [w.from_us, w.to_us] as const);
}

function printTable(title: string, rows: SelfTime[]): void {
  process.stdout.write(`\n${title}\n`);
  for (const row of rows) {
    process.stdout.write(`${row.pct.toFixed(1).padStart(6)}%  ${row.ms.toFixed(0).padStart(8)} ms  ${row.name}\n`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith("--"));
  const topIndex = args.indexOf("--top");
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  const value = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  if (!file) {
    process.stderr.write("usage: tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--results FILE [--scenario NAME]]\n");
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
  const windows = await readWindows(value("--results"), value("--scenario"));
  const summary = summarizeProfile(profile, top, windows);
  const scope = windows ? `inside ${windows.length} measured window(s)` : "whole profile";
  process.stdout.write(`${file}: ${(summary.totalMs / 1000).toFixed(1)} s sampled (${scope})\n`);
  printTable("self time by package / folder", summary.packages);
  printTable("self time by file", summary.files);
  printTable("self time by function", summary.functions);
  printTable("inclusive time of application functions", summary.appInclusive);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  await main();
}
