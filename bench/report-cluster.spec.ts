import { describe, expect, it } from "vitest";
import type { ScenarioSummary } from "./report.js";
import { compareCluster, formatClusterLine } from "./report-cluster.js";

function summary(metrics: Record<string, number>, error?: string): ScenarioSummary {
  return { ...metrics, runs: [metrics], notes: [], ...(error ? { error } : {}) } as unknown as ScenarioSummary;
}

const CLUSTER = {
  single_tasks_per_s: 15_012.4,
  cluster_tasks_per_s: 14_020.6,
  spread_tasks_per_s: 12_500,
  single_cpu_us_per_task_total: 101.23,
  cluster_cpu_us_per_task_total: 108.77,
  spread_cpu_us_per_task_total: 120,
  single_cpu_us_per_task_redis: 25.04,
  cluster_cpu_us_per_task_redis: 27.5,
  spread_cpu_us_per_task_redis: 33,
  spread_m1_redis_share_pct: 34.44,
  spread_m2_redis_share_pct: 31.11,
  spread_m3_redis_share_pct: 34.45,
  spread_redis_share_max_min: 1.1074,
};

describe("bench report: cluster", () => {
  it("takes the cluster scenario's medians into the headline, shares per master in slot order", () => {
    const c = compareCluster({ cluster: summary(CLUSTER) });
    expect(c).toEqual({
      masters: 3,
      single_tasks_per_s: 15_012,
      cluster_tasks_per_s: 14_021,
      spread_tasks_per_s: 12_500,
      single_cpu_us_per_task: 101.2,
      cluster_cpu_us_per_task: 108.8,
      spread_cpu_us_per_task: 120,
      single_redis_us_per_task: 25,
      cluster_redis_us_per_task: 27.5,
      spread_redis_us_per_task: 33,
      spread_redis_share_pct: [34.4, 31.1, 34.5],
      spread_redis_share_max_min: 1.11,
    });
    expect(formatClusterLine(c)).toBe(
      "Redis Cluster (3 masters) vs single Redis: 14021 vs 15012 tasks/s, CPU 108.8 vs 101.2 µs/task, Redis 27.5 vs 25 µs/task; " +
        "20 queues: 12500 tasks/s, Redis 33 µs/task, shares 34.4 / 31.1 / 34.5 % (max/min 1.11)",
    );
  });

  it("is null when the scenario did not run or every run failed", () => {
    expect(compareCluster({ throughput_batch: summary({ tasks_per_s: 1 }) })).toBeNull();
    expect(compareCluster({ cluster: summary({}, "boom") })).toBeNull();
    expect(formatClusterLine(null)).toMatch(/not measured/);
  });
});
