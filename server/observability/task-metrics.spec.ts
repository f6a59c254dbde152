import { describe, expect, it } from "vitest";
import type { NewTask } from "../engine/task-records.js";
import type { LeaseEnd, LeasedRecord } from "../redis/queue-store.js";
import { createServerMetrics } from "./metrics.js";
import { recordDelivered, recordLeaseEnds, recordSubmitted } from "./task-metrics.js";
import { TaskTypeMemo } from "./task-type-memo.js";

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

describe("queue label cardinality", () => {
  it("gives at most maxQueueLabels queues series of their own, the rest share queue=\"_other\"", async () => {
    const m = createServerMetrics({ connectedWorkers: () => 0, waitingCredits: () => 0, maxQueueLabels: 3 });
    const queues = Array.from({ length: 500 }, (_, i) => `invented-${i}`);
    recordSubmitted(m, queues.map((queue) => ({ queue })) as NewTask[]);
    for (const queue of queues) recordDelivered(m, queue, [{ createdMs: 0 }] as LeasedRecord[], 1);
    const text = await m.render();
    const labelled = new Set([...text.matchAll(/queue="([^"]+)"/g)].map((match) => match[1]));
    expect(labelled).toEqual(new Set(["invented-0", "invented-1", "invented-2", "_other"]));
    expect(await sample(m, /taskqueue_tasks_submitted_total\{queue="_other"\} (\d+)/)).toBe(497);
    expect(await sample(m, /taskqueue_tasks_dispatched_total\{queue="_other"\} (\d+)/)).toBe(497);
  });

  it("drops the series of a queue idle past the TTL, unless it is live, and frees its place", async () => {
    let now = 1_000_000;
    let live = ["served"];
    const m = createServerMetrics({
      connectedWorkers: () => 0,
      waitingCredits: () => 0,
      maxQueueLabels: 2,
      queueLabelTtlMs: 60_000,
      now: () => now,
      liveQueues: () => live,
    });
    const end = (queue: string) => ({ queue, how: "succeeded", state: "SUCCEEDED" }) as LeaseEnd;
    recordSubmitted(m, [{ queue: "served" }, { queue: "once" }] as NewTask[]);
    recordLeaseEnds(m, [end("once"), end("served")]);
    recordDelivered(m, "once", [{ createdMs: 0 }] as LeasedRecord[], 1);
    recordSubmitted(m, [{ queue: "late" }] as NewTask[]);
    expect(await m.render()).toContain('taskqueue_tasks_submitted_total{queue="_other"} 1');

    now += 59_000;
    expect(await m.render()).toContain('queue="once"');
    now += 2_000;
    const text = await m.render();
    // "once" is gone from every metric; "served" stays while a worker serves it.
    expect(text).not.toContain('queue="once"');
    expect(text).toContain('taskqueue_tasks_submitted_total{queue="served"} 1');
    expect(text).toContain('taskqueue_lease_ends_total{queue="served",how="succeeded",state="SUCCEEDED"} 1');
    expect(m.queueLabels.size).toBe(1);

    // The freed place goes to the next queue seen.
    recordSubmitted(m, [{ queue: "late" }] as NewTask[]);
    expect(await m.render()).toContain('taskqueue_tasks_submitted_total{queue="late"} 1');

    live = [];
    now += 61_000;
    expect(await m.render()).not.toMatch(/queue="(served|late)"/);
  });
});

describe("attempt metrics", () => {
  const end = (id: string, how: string, state: string, startedMs = 1_000) => ({ id, queue: "q", how, state, startedMs }) as LeaseEnd;

  it("labels attempts with the type noted at delivery, capped at maxTypeLabels (the rest share type=\"_other\")", async () => {
    const m = createServerMetrics({ connectedWorkers: () => 0, waitingCredits: () => 0, maxTypeLabels: 2 });
    const types = new TaskTypeMemo();
    const leased = ["a", "b", "c", "d"].map((type, i) => ({ id: `t${i}`, type, createdMs: 0 })) as LeasedRecord[];
    recordDelivered(m, "q", leased, 1_000, types);
    recordLeaseEnds(m, [end("t0", "succeeded", "SUCCEEDED"), end("t1", "succeeded", "SUCCEEDED"), end("t2", "failed", "FAILED"), end("t3", "fatal", "DEAD"), end("tx", "expired", "QUEUED")], 3_500, types);
    const text = await m.render();
    expect(text).toContain('taskqueue_task_attempt_duration_seconds_count{queue="q",type="a",outcome="succeeded"} 1');
    expect(text).toContain('taskqueue_task_attempt_duration_seconds_sum{queue="q",type="a",outcome="succeeded"} 2.5');
    expect(text).toContain('taskqueue_task_attempt_duration_seconds_count{queue="q",type="_other",outcome="failed"} 1');
    expect(text).toContain('taskqueue_task_attempt_duration_seconds_count{queue="q",type="_unknown",outcome="expired"} 1');
    expect(text).toContain('taskqueue_task_retries_total{queue="q"} 2');
    expect(text).toContain('taskqueue_tasks_dead_lettered_total{queue="q"} 1');
    expect(text).toContain('taskqueue_lease_expiries_total{queue="q",reason="expired"} 1');
    expect(text).toContain('taskqueue_tasks_finished_total{queue="q",outcome="succeeded"} 2');
    expect(types.size).toBe(0);
  });

  it("drops a forgotten queue's histogram series too", async () => {
    let now = 0;
    const m = createServerMetrics({ connectedWorkers: () => 0, waitingCredits: () => 0, queueLabelTtlMs: 1_000, now: () => now });
    recordLeaseEnds(m, [end("t0", "succeeded", "SUCCEEDED", 1)], 2);
    expect(await m.render()).toContain('queue="q"');
    now = 2_000;
    expect(await m.render()).not.toContain('queue="q"');
  });
});
