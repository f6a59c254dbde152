import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "vitest";
import { TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import type { NewTask } from "../../server/engine/task-records.js";
import { createLogger } from "../../server/observability/logger.js";
import type { RedisClient } from "../../server/redis/connection.js";
import { DispatchKeys } from "../../server/redis/keys.js";
import { ensureDispatchLayout } from "../../server/redis/layout.js";
import { QueueStats } from "../../server/redis/queue-stats.js";
import { QueueStore } from "../../server/redis/queue-store.js";
import { exampleHandlers } from "../../worker/example/handlers.js";
import { createWorker } from "../../worker/index.js";
import { jsonPayload, waitForState } from "./tasks.js";
import type { TestServer } from "./test-server.js";

// Drives the whole dispatch state (every store call, and a server's task mix) over several
// queues: the key-layout tests run it on a one-node cluster and as a one-queue ACL user, the
// Redis Cluster tests on queues spread over several masters.

let counter = 0;
function task(queue: string, clock: number, overrides: Partial<NewTask> = {}): NewTask {
  counter++;
  return {
    id: `slot-task-${counter}`,
    queue,
    type: "t",
    payload: Buffer.from("{}"),
    payloadFormat: 1,
    priority: 0,
    maxAttempts: 3,
    backoffInitialMs: 100,
    backoffMaxMs: 100,
    backoffMultiplier: 1,
    timeoutMs: null,
    idempotencyKey: null,
    labels: {},
    createdMs: clock,
    runAt: null,
    startDeadline: null,
    ...overrides,
  };
}

/**
 * Drives every QueueStore and QueueStats call over `queues` (each call spanning all of them
 * where it can), on a controlled clock: enqueue (ready, delayed, with a start deadline, with a
 * timeout), lease, heartbeat, results (success, failure), promote, reap, release, cancel,
 * expire, probe, stats, pause.
 */
export async function exercise(redis: RedisClient, prefix: string, queues: string[]): Promise<void> {
  let clock = 1_800_000_000_000;
  const store = new QueueStore({ redis, prefix, serverId: "slot-server", now: () => clock, random: () => 0.5 });
  const stats = new QueueStats({ redis, prefix, now: () => clock });
  const keys = new DispatchKeys(prefix);
  expect(await ensureDispatchLayout(redis, prefix)).toBe("initialized");
  expect(await store.ensureEpochMarker()).toBe(true);
  await redis.set(keys.server("slot-server"), "1");

  const session = "session-1";
  const plan = queues.map((queue) => ({
    queue,
    ok: task(queue, clock),
    // Concurrency keys (braces included: the queue's hash tag comes first in every key name).
    flaky: task(queue, clock, { concurrencyKey: "tenant-{a}" }),
    slow: task(queue, clock, { timeoutMs: 1000, concurrencyKey: "tenant-b" }),
    held: task(queue, clock, { concurrencyKey: "tenant-c" }),
    // Parked behind `held` (one per key) until held's lease ends.
    twin: task(queue, clock, { concurrencyKey: "tenant-c" }),
    later: task(queue, clock),
    stale: task(queue, clock, { startDeadline: new Date(clock + 10) }),
    queuedCancel: task(queue, clock),
  }));
  const items = plan.flatMap((p) => [
    ...[p.ok, p.flaky, p.slow, p.held, p.twin].map((t) => ({ task: t, attempt: 0, dueMs: 0 })),
    { task: p.later, attempt: 0, dueMs: clock + 60_000 },
    { task: p.stale, attempt: 0, dueMs: clock + 60_000 },
  ]);
  expect((await store.enqueue(items)).added).toBe(items.length);
  const leased = new Map<string, { leaseToken: string }>();
  for (const p of plan) {
    const result = await store.lease(p.queue, [{ sessionId: session, workerId: "w", count: 10, tokenPrefix: `tok-${p.queue}` }], 30_000, {
      maxConcurrency: 0,
      maxPerKey: 1,
      rateLimit: null,
    });
    expect(result.leased).toHaveLength(4);
    expect(result.limited).toBe(true);
    for (const l of result.leased) leased.set(l.id, l);
  }
  expect(await store.extend(session, queues, 30_000)).toBe(4 * queues.length);
  const ends = await store.complete(
    plan.flatMap((p) => [
      { id: p.ok.id, queue: p.queue, sessionId: session, leaseToken: leased.get(p.ok.id)!.leaseToken, how: "succeeded" as const },
      { id: p.flaky.id, queue: p.queue, sessionId: session, leaseToken: leased.get(p.flaky.id)!.leaseToken, how: "failed" as const },
    ]),
  );
  expect(ends.map((e) => (e ? e.state : e))).toEqual(plan.flatMap(() => ["SUCCEEDED", "FAILED"]));
  await store.enqueue(plan.map((p) => ({ task: p.queuedCancel, attempt: 0, dueMs: 0 })));
  for (const p of plan) {
    expect(await store.cancel(p.queue, p.queuedCancel.id, "no longer needed")).toEqual({ kind: "removed" });
    expect(await store.cancel(p.queue, p.held.id, "stop")).toMatchObject({ kind: "running" });
  }
  clock += 3_100;
  const reaped = await store.reap(100);
  expect(reaped.map((e) => e.id).sort()).toEqual(plan.map((p) => p.slow.id).sort());
  const released = await store.release(session, queues);
  expect(released.map((e) => e.state)).toEqual(plan.map(() => "CANCELLED"));
  const promoted = await store.promote(100);
  expect(promoted.promoted.map((p) => p.id).sort()).toEqual(plan.map((p) => p.flaky.id).sort());
  expect((await store.expire(100)).expired.sort()).toEqual(plan.map((p) => p.stale.id).sort());
  const findings = await store.inspect(plan.flatMap((p) => [p.ok, p.queuedCancel, task(p.queue, clock)].map((t) => ({ id: t.id, queue: p.queue }))));
  expect(findings.map((f) => f.kind)).toEqual(plan.flatMap(() => ["cancelled", "absent"]));
  await redis.del(keys.server("slot-server"));
  expect((await store.inspect(plan.map((p) => ({ id: p.ok.id, queue: p.queue })))).map((f) => f.kind)).toEqual(plan.map(() => "lost"));

  await stats.setPaused(queues[0]!, true);
  expect((await store.lease(queues[0]!, [{ sessionId: session, workerId: "w", count: 10, tokenPrefix: "p" }], 30_000)).leased).toEqual([]);
  await stats.replacePaused([]);
  const figures = await stats.read(queues);
  // Queued: flaky (promoted), slow (reaped) and twin (its key's lease ended).
  expect(figures.map((f) => [f.queued, f.running, f.scheduled, f.paused])).toEqual(plan.map(() => [3, 0, 1, false]));
  expect((await stats.knownQueues()).sort()).toEqual([...queues].sort());
  expect(await stats.isKnown(queues[0]!)).toBe(true);
}

/** Submits echo, failing-then-succeeding, delayed and cancelled tasks to `queues`; all end as planned. */
export async function runTasksThrough(ts: TestServer, queues: string[]): Promise<void> {
  const worker = createWorker({ address: ts.grpcAddress, queues, concurrency: 8, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
  try {
    const ids: string[] = [];
    for (const queue of queues) {
      const { results } = await ts.grpc.submitTasks({
        tasks: [
          ...Array.from({ length: 20 }, (_, n) => ({ queue, type: "echo", payloadData: jsonPayload({ n }) })),
          { queue, type: "fail", payloadData: jsonPayload({ times: 1 }) },
          { queue, type: "echo", payloadData: jsonPayload({}), runAt: timestampFromMs(Date.now() + 300) },
        ],
      });
      for (const r of results) {
        if (r.outcome.case !== "task") throw new Error(`submit refused: ${JSON.stringify(r.outcome.value)}`);
        ids.push(r.outcome.value.id);
      }
      const slow = (await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 60_000 }) })).task!;
      await waitForState(ts.grpc, slow.id, TaskState.RUNNING);
      await ts.grpc.cancelTask({ id: slow.id, reason: "test" });
      await waitForState(ts.grpc, slow.id, TaskState.CANCELLED);
    }
    for (const id of ids) await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
  } finally {
    await worker.stop({ timeoutMs: 2_000 });
  }
}
