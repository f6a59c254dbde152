import { describe, expect, it } from "vitest";
import { compareDispatchPolicy, compareWithDurablePeers, type ScenarioSummary } from "./report.js";

function summary(metrics: Record<string, number>): ScenarioSummary {
  return { ...metrics, runs: [metrics], notes: [] } as unknown as ScenarioSummary;
}

describe("bench report: vs_durable", () => {
  it("compares throughput_batch with the fastest durable peer that ran", () => {
    const scenarios = {
      throughput_batch: summary({ tasks_per_s: 18_000 }),
      graphile_worker: summary({ jobs_per_s: 22_500 }),
      river: summary({ jobs_per_s: 20_000 }),
      river_defaults: summary({ jobs_per_s: 4_000 }),
      bullmq: summary({ jobs_per_s: 30_000 }),
    };
    expect(compareWithDurablePeers(scenarios)).toEqual({
      best_peer: "graphile_worker",
      peer_tasks_per_s: 22_500,
      taskqueue_scenario: "throughput_batch",
      taskqueue_tasks_per_s: 18_000,
      ratio: 0.8,
    });
  });

  it("takes taskqueue's faster run: throughput_batch or its tuned throughput_batch_500", () => {
    const peers = { graphile_worker: summary({ jobs_per_s: 20_000 }) };
    expect(
      compareWithDurablePeers({ ...peers, throughput_batch: summary({ tasks_per_s: 18_000 }), throughput_batch_500: summary({ tasks_per_s: 25_000 }) }),
    ).toMatchObject({ taskqueue_scenario: "throughput_batch_500", taskqueue_tasks_per_s: 25_000, ratio: 1.25 });
    expect(
      compareWithDurablePeers({ ...peers, throughput_batch: summary({ tasks_per_s: 18_000 }), throughput_batch_500: summary({ tasks_per_s: 17_000 }) }),
    ).toMatchObject({ taskqueue_scenario: "throughput_batch", ratio: 0.9 });
    expect(compareWithDurablePeers({ ...peers, throughput_batch_500: summary({ tasks_per_s: 10_000 }) })).toMatchObject({ taskqueue_scenario: "throughput_batch_500", ratio: 0.5 });
  });

  it("is null without throughput_batch or without a durable peer, and skips a failed peer", () => {
    expect(compareWithDurablePeers({ throughput_batch: summary({ tasks_per_s: 1 }), bullmq: summary({ jobs_per_s: 1 }) })).toBeNull();
    expect(compareWithDurablePeers({ river: summary({ jobs_per_s: 1 }) })).toBeNull();
    const failed = { ...summary({}), error: "boom" } as unknown as ScenarioSummary;
    expect(compareWithDurablePeers({ throughput_batch: summary({ tasks_per_s: 10 }), graphile_worker: failed, river: summary({ jobs_per_s: 5 }) })).toMatchObject({
      best_peer: "river",
      ratio: 2,
    });
  });
});

describe("bench report: dispatch_policy", () => {
  it("divides each policy scenario by its controls, null where either did not run or failed", () => {
    const failed = { ...summary({}), error: "boom" } as unknown as ScenarioSummary;
    expect(
      compareDispatchPolicy({
        throughput_batch: summary({ tasks_per_s: 20_000 }),
        limited_50: summary({ tasks_per_s: 10_000 }),
        concurrency_50: summary({ tasks_per_s: 8_000 }),
        routing_4_types: summary({ tasks_per_s: 15_000 }),
        one_type_4_workers: failed,
      }),
    ).toEqual({
      limited_50_vs_throughput_batch: 0.5,
      limited_50_vs_concurrency_50: 1.25,
      routing_4_types_vs_throughput_batch: 0.75,
      routing_4_types_vs_one_type_4_workers: null,
    });
  });
});
