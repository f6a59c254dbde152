import { describe, expect, it } from "vitest";
import type { NewTask } from "../engine/task-records.js";
import type { LeaseEnd, LeasedRecord } from "../redis/queue-store.js";
import { createServerMetrics } from "./metrics.js";
import { recordDelivered, recordLeaseEnds, recordSubmitted } from "./task-metrics.js";

const metrics = () => createServerMetrics({ connectedWorkers: () => 0, waitingCredits: () => 0 });

async function sample(m: ReturnType<typeof metrics>, pattern: RegExp): Promise<number> {
  const match = (await m.registry.metrics()).match(pattern);
  return match ? Number(match[1]) : Number.NaN;
}

describe("task metrics", () => {
  it("counts submitted tasks per queue", async () => {
    const m = metrics();
    recordSubmitted(m, [{ queue: "a" }, { queue: "b" }, { queue: "a" }] as NewTask[]);
    expect(await sample(m, /taskqueue_tasks_submitted_total\{queue="a"\} (\d+)/)).toBe(2);
    expect(await sample(m, /taskqueue_tasks_submitted_total\{queue="b"\} (\d+)/)).toBe(1);
  });

  it("counts deliveries and observes each task's wait", async () => {
    const m = metrics();
    recordDelivered(m, "q", [{ createdMs: 1_000 }, { createdMs: 1_900 }] as LeasedRecord[], 2_000);
    expect(await sample(m, /taskqueue_tasks_dispatched_total\{queue="q"\} (\d+)/)).toBe(2);
    expect(await sample(m, /taskqueue_dispatch_delay_seconds_count\{queue="q"\} (\d+)/)).toBe(2);
    expect(await sample(m, /taskqueue_dispatch_delay_seconds_sum\{queue="q"\} ([\d.]+)/)).toBeCloseTo(1.1);
  });

  it("counts ended leases per label set", async () => {
    const m = metrics();
    const end = (how: string, state: string) => ({ queue: "q", how, state }) as LeaseEnd;
    recordLeaseEnds(m, [end("succeeded", "SUCCEEDED"), end("succeeded", "SUCCEEDED"), end("fatal", "DEAD")]);
    expect(await sample(m, /taskqueue_lease_ends_total\{queue="q",how="succeeded",state="SUCCEEDED"\} (\d+)/)).toBe(2);
    expect(await sample(m, /taskqueue_lease_ends_total\{queue="q",how="fatal",state="DEAD"\} (\d+)/)).toBe(1);
  });
});
