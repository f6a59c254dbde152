import type { ScenarioSummary } from "./report.js";
import { round } from "./stats.js";

/**
 * The `cluster` scenario's headline (medians of its runs): throughput_batch's workload on
 * single Redis, on a Redis Cluster (one queue) and spread over 20 queues, with CPU per task
 * of every process and of Redis (summed over the masters), and how the spread run's Redis CPU
 * split over the masters.
 */
export interface ClusterComparison {
  masters: number;
  single_tasks_per_s: number;
  cluster_tasks_per_s: number;
  spread_tasks_per_s: number;
  /** CPU µs per task, every process metered. */
  single_cpu_us_per_task: number;
  cluster_cpu_us_per_task: number;
  spread_cpu_us_per_task: number;
  /** Redis CPU µs per task (a cluster's: summed over its masters). */
  single_redis_us_per_task: number;
  cluster_redis_us_per_task: number;
  spread_redis_us_per_task: number;
  /** Each master's share of the spread run's Redis CPU, percent, in slot order. */
  spread_redis_share_pct: number[];
  /** Largest share ÷ smallest (1: even). */
  spread_redis_share_max_min: number;
}

/** The comparison, when the cluster scenario ran (null when it did not or failed every run). */
export function compareCluster(scenarios: Record<string, ScenarioSummary>): ClusterComparison | null {
  const s = scenarios.cluster;
  const get = (name: string) => s?.[name];
  if (s === undefined || !Number.isFinite(get("single_tasks_per_s")) || !Number.isFinite(get("cluster_tasks_per_s"))) return null;
  const shares: number[] = [];
  for (let m = 1; Number.isFinite(get(`spread_m${m}_redis_share_pct`)); m++) shares.push(round(get(`spread_m${m}_redis_share_pct`)!, 1));
  const figure = (name: string, digits: number) => round(get(name) ?? Number.NaN, digits);
  return {
    masters: shares.length,
    single_tasks_per_s: figure("single_tasks_per_s", 0),
    cluster_tasks_per_s: figure("cluster_tasks_per_s", 0),
    spread_tasks_per_s: figure("spread_tasks_per_s", 0),
    single_cpu_us_per_task: figure("single_cpu_us_per_task_total", 1),
    cluster_cpu_us_per_task: figure("cluster_cpu_us_per_task_total", 1),
    spread_cpu_us_per_task: figure("spread_cpu_us_per_task_total", 1),
    single_redis_us_per_task: figure("single_cpu_us_per_task_redis", 1),
    cluster_redis_us_per_task: figure("cluster_cpu_us_per_task_redis", 1),
    spread_redis_us_per_task: figure("spread_cpu_us_per_task_redis", 1),
    spread_redis_share_pct: shares,
    spread_redis_share_max_min: figure("spread_redis_share_max_min", 2),
  };
}

/** One line for the table's footer. */
export function formatClusterLine(c: ClusterComparison | null): string {
  if (c === null) return "Redis Cluster vs single Redis: not measured (run cluster)";
  return (
    `Redis Cluster (${c.masters} masters) vs single Redis: ${c.cluster_tasks_per_s} vs ${c.single_tasks_per_s} tasks/s, ` +
    `CPU ${c.cluster_cpu_us_per_task} vs ${c.single_cpu_us_per_task} µs/task, Redis ${c.cluster_redis_us_per_task} vs ${c.single_redis_us_per_task} µs/task; ` +
    `20 queues: ${c.spread_tasks_per_s} tasks/s, Redis ${c.spread_redis_us_per_task} µs/task, shares ${c.spread_redis_share_pct.join(" / ")} % (max/min ${c.spread_redis_share_max_min})`
  );
}
