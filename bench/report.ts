import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import { formatClusterLine, type ClusterComparison } from "./report-cluster.js";
import type { ScenarioResult } from "./scenarios/context.js";
import { median, round } from "./stats.js";

/** The machine a run measured. */
export interface MachineInfo {
  cpus: number;
  model: string;
  memory: number;
  node: string;
  /** 1-minute load average when the run started and ended (other work on the machine adds noise). */
  loadavg_start: number;
  loadavg_end?: number;
}

/** One scenario in the results: the median of each metric, every run, and notes. */
export type ScenarioSummary = Record<string, number> & {
  runs: Array<Record<string, number>>;
  notes: string[];
  error?: string;
};

/** The peer comparison: taskqueue throughput_batch against BullMQ. */
export interface VsBullmq {
  taskqueue_tasks_per_s: number;
  bullmq_jobs_per_s: number;
  ratio: number;
}

/**
 * The durable-peer comparison: taskqueue's faster throughput run (throughput_batch, or
 * throughput_batch_500: its tuned setting) against the fastest Postgres-backed peer.
 */
export interface VsDurable {
  /** Scenario of the fastest durable peer run (graphile_worker, river, or one at its defaults). */
  best_peer: string;
  peer_tasks_per_s: number;
  /** Scenario of taskqueue's figure: throughput_batch or throughput_batch_500. */
  taskqueue_scenario: string;
  taskqueue_tasks_per_s: number;
  /** taskqueue ÷ the best peer. */
  ratio: number;
}

/**
 * Dispatch policy against its controls, each `a ÷ b` of tasks/s (null when either did not
 * run): the limited queue against the unlimited one and against the same 50 tasks in flight
 * without a limit; 4 routed types against one type with 2 workers and with the same 4 workers.
 */
export interface DispatchPolicyRatios {
  limited_50_vs_throughput_batch: number | null;
  limited_50_vs_concurrency_50: number | null;
  routing_4_types_vs_throughput_batch: number | null;
  routing_4_types_vs_one_type_4_workers: number | null;
}

/** Scenarios of the durable (Postgres-backed) peers. */
export const DURABLE_PEERS = ["graphile_worker", "graphile_worker_defaults", "river", "river_defaults"] as const;

/** Contents of `bench/results/latest.json`. */
export interface BenchResults {
  started_at: string;
  finished_at?: string;
  quick: boolean;
  options: Record<string, unknown>;
  machine: MachineInfo;
  scenarios: Record<string, ScenarioSummary>;
  vs_bullmq: VsBullmq | null;
  vs_durable: VsDurable | null;
  dispatch_policy: DispatchPolicyRatios;
  /** The cluster scenario's headline (see `report-cluster.ts`), null when it did not run. */
  cluster: ClusterComparison | null;
  /** Measured windows on the monotonic clock (µs), to cut a server CPU profile to them. */
  profile_windows: ProfileWindow[];
}

/** One measured window of one scenario run. */
export interface ProfileWindow {
  scenario: string;
  run: number;
  from_us: number;
  to_us: number;
}

/** Describes the current machine. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model ?? "unknown",
    memory: totalmem(),
    node: process.version,
    loadavg_start: round(loadavg()[0]!, 2),
  };
}

/** Summarises the runs of one scenario: per-metric medians (failed runs are listed in `error`). */
export function summarizeRuns(results: readonly ScenarioResult[], errors: readonly string[]): ScenarioSummary {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const medians = Object.fromEntries(names.map((n) => [n, round(median(results.map((r) => r.metrics[n]!).filter(Number.isFinite)), 3)]));
  const summary = {
    ...medians,
    runs: results.map((r) => Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, round(v, 3)]))),
    notes: [...new Set(results.flatMap((r) => r.notes ?? []))],
  } as ScenarioSummary;
  if (errors.length > 0) summary.error = errors.join("; ");
  return summary;
}

/** The comparison, when both throughput_batch and bullmq ran. */
export function compareWithBullmq(scenarios: Record<string, ScenarioSummary>): VsBullmq | null {
  const ours = scenarios.throughput_batch?.tasks_per_s;
  const theirs = scenarios.bullmq?.jobs_per_s;
  if (ours === undefined || theirs === undefined || !Number.isFinite(ours) || !Number.isFinite(theirs)) return null;
  return { taskqueue_tasks_per_s: round(ours, 0), bullmq_jobs_per_s: round(theirs, 0), ratio: round(ours / theirs, 3) };
}

/** taskqueue's throughput scenarios that `vs_durable` takes the faster of. */
const TASKQUEUE_THROUGHPUT = ["throughput_batch", "throughput_batch_500"] as const;

/** The fastest of `names` that ran, by `metric`, or undefined. */
function fastest(scenarios: Record<string, ScenarioSummary>, names: readonly string[], metric: "tasks_per_s" | "jobs_per_s"): readonly [string, number] | undefined {
  const ran = names.flatMap((name) => {
    const rate = (scenarios[name] as Record<string, unknown> | undefined)?.[metric];
    return typeof rate === "number" && Number.isFinite(rate) ? [[name, rate] as const] : [];
  });
  return ran.length === 0 ? undefined : ran.reduce((a, b) => (b[1] > a[1] ? b : a));
}

/** The comparison, when a taskqueue throughput run and at least one durable peer ran. */
export function compareWithDurablePeers(scenarios: Record<string, ScenarioSummary>): VsDurable | null {
  const ours = fastest(scenarios, TASKQUEUE_THROUGHPUT, "tasks_per_s");
  const theirs = fastest(scenarios, DURABLE_PEERS, "jobs_per_s");
  if (!ours || !theirs) return null;
  return {
    best_peer: theirs[0],
    peer_tasks_per_s: round(theirs[1], 0),
    taskqueue_scenario: ours[0],
    taskqueue_tasks_per_s: round(ours[1], 0),
    ratio: round(ours[1] / theirs[1], 3),
  };
}

/** The dispatch policy scenarios against their controls (see {@link DispatchPolicyRatios}). */
export function compareDispatchPolicy(scenarios: Record<string, ScenarioSummary>): DispatchPolicyRatios {
  const ratio = (a: string, b: string): number | null => {
    const [x, y] = [scenarios[a]?.tasks_per_s, scenarios[b]?.tasks_per_s];
    return x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y) && y > 0 ? round(x / y, 3) : null;
  };
  return {
    limited_50_vs_throughput_batch: ratio("limited_50", "throughput_batch"),
    limited_50_vs_concurrency_50: ratio("limited_50", "concurrency_50"),
    routing_4_types_vs_throughput_batch: ratio("routing_4_types", "throughput_batch"),
    routing_4_types_vs_one_type_4_workers: ratio("routing_4_types", "one_type_4_workers"),
  };
}

/** Formats the results as a plain-text table (scenario, metric, value, and the spread of runs). */
export function formatTable(results: BenchResults): string {
  const rows: string[][] = [["scenario", "metric", "value", "runs (min – max)"]];
  for (const [name, summary] of Object.entries(results.scenarios)) {
    if (summary.error) rows.push([name, "ERROR", summary.error.split("\n")[0]!.slice(0, 100), ""]);
    for (const [metric, value] of Object.entries(summary)) {
      if (typeof value !== "number") continue;
      const values = summary.runs.map((r) => r[metric]).filter((v): v is number => typeof v === "number");
      const spread = values.length > 1 ? `${formatNumber(Math.min(...values))} – ${formatNumber(Math.max(...values))}` : "";
      rows.push([name, metric, formatNumber(value), spread]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  const out = [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
  const notes = Object.values(results.scenarios).flatMap((s) => s.notes);
  if (notes.length > 0) out.push("", ...notes.map((n) => `* ${n}`));
  const m = results.machine;
  out.push(
    "",
    `machine: ${m.cpus} × ${m.model}, ${(m.memory / 2 ** 30).toFixed(1)} GiB, node ${m.node}, load ${m.loadavg_start} → ${m.loadavg_end ?? "?"}`,
  );
  const vs = results.vs_bullmq;
  out.push(
    vs
      ? `taskqueue vs BullMQ: ${formatNumber(vs.taskqueue_tasks_per_s)} tasks/s vs ${formatNumber(vs.bullmq_jobs_per_s)} jobs/s = ratio ${vs.ratio}`
      : "taskqueue vs BullMQ: not measured (run throughput_batch and bullmq)",
  );
  const durable = results.vs_durable;
  out.push(
    durable
      ? `taskqueue (${durable.taskqueue_scenario}) vs the best durable peer (${durable.best_peer}): ${formatNumber(durable.taskqueue_tasks_per_s)} tasks/s vs ${formatNumber(durable.peer_tasks_per_s)} jobs/s = ratio ${durable.ratio}`
      : "taskqueue vs the durable peers: not measured (run throughput_batch and graphile_worker or river)",
  );
  const measured = Object.entries(results.dispatch_policy ?? {}).filter(([, v]) => v !== null);
  if (measured.length > 0) out.push(`dispatch policy (tasks/s ratios): ${measured.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  if (results.cluster) out.push(formatClusterLine(results.cluster));
  return out.join("\n");
}

/** Writes the results as JSON, creating the folder if needed. */
export async function writeResults(path: string, results: BenchResults): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
}
