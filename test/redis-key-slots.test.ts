import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import type { NewTask } from "../server/engine/task-records.js";
import { createLogger } from "../server/observability/logger.js";
import { DispatchKeys } from "../server/redis/keys.js";
import { ensureDispatchLayout } from "../server/redis/layout.js";
import { QueueStats } from "../server/redis/queue-stats.js";
import { QueueStore } from "../server/redis/queue-store.js";
import { findFreePort } from "../tools/local-services/free-port.js";
import { startRedisProcess, type RedisProcess } from "../tools/local-services/redis-process.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

// Two enforcers of the key layout (server/redis/keys.ts), on a private redis-server started with
// cluster mode on and owning every hash slot:
// - cluster mode refuses a command or a script call whose declared keys span hash slots
//   (CROSSSLOT): every script call's KEYS must lie in one queue's slot, and multi-key commands
//   on cross-queue keys in the `{prefix}` slot. (A one-node cluster does not refuse a script's
//   access to an undeclared key of another slot: the ACL below does.)
// - an ACL user allowed only one queue's keys (`~{<prefix><queue>}:*`) and the cross-queue keys
//   (`~{<prefix>}:*`) fails on any touch of another key, inside scripts too: a script that
//   reaches outside the queue it was called for fails, declared key or not.

let redisServer: RedisProcess;
let url: string;
const servers: TestServer[] = [];
const PASSWORD = "slot-test-secret";

beforeAll(async () => {
  const clusterPort = await findFreePort();
  redisServer = await startRedisProcess({
    args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(clusterPort)],
  });
  url = redisServer.url;
  const admin = new Redis(url);
  try {
    await admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    await waitFor(async () => /cluster_state:ok/.test(String(await admin.call("CLUSTER", "INFO"))), {
      timeoutMs: 10_000,
      message: "the one-node cluster to own every slot",
    });
  } finally {
    admin.disconnect();
  }
});

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
  await redisServer?.stop();
});

/** Creates an ACL user that may touch only `queue`'s keys and the cross-queue keys of `prefix`. */
async function restrictedUrl(prefix: string, queue: string): Promise<string> {
  const user = `only-${queue}`;
  const keys = new DispatchKeys(prefix);
  const admin = new Redis(url);
  try {
    // Patterns are globs: the tags' braces are literal there.
    const own = `${keys.queue(queue).tagged}*`;
    const crossQueue = `${keys.crossQueue}*`;
    // Read-only: the older layout's markers, which a start-up with no layout key looks for.
    const legacy = keys.legacyMarkers.map((key) => `%R~${key}`);
    await admin.call("ACL", "SETUSER", user, "reset", "on", `>${PASSWORD}`, `~${own}`, `~${crossQueue}`, ...legacy, "&*", "+@all");
  } finally {
    admin.disconnect();
  }
  const at = new URL(url);
  at.username = user;
  at.password = PASSWORD;
  return at.toString();
}

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
async function exercise(redis: Redis, prefix: string, queues: string[]): Promise<void> {
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

describe("Redis key layout", () => {
  it("keeps every script call in one hash slot, across queues (cluster mode refuses cross-slot keys)", async () => {
    const redis = new Redis(url);
    try {
      // The enforcer bites: a script whose keys span two queues' slots is refused.
      const keys = new DispatchKeys("slots-probe:");
      await expect(
        redis.eval("return redis.call('EXISTS', KEYS[1], KEYS[2])", 2, keys.queue("a").types, keys.queue("b").types),
      ).rejects.toThrow(/CROSSSLOT|same slot/);
      await exercise(redis, "slots:", ["alpha", "beta", "gamma"]);
    } finally {
      redis.disconnect();
    }
  });

  it("lets a script touch only the keys of the queue it was called for (an ACL user of one queue)", async () => {
    const prefix = "acl:";
    const redis = new Redis(await restrictedUrl(prefix, "mine"));
    try {
      // The enforcer bites: another queue's keys are refused, from a script as well.
      const other = new DispatchKeys(prefix).queue("other");
      await expect(redis.scard(other.types)).rejects.toThrow(/NOPERM/);
      await expect(redis.eval("return redis.call('SCARD', ARGV[1])", 1, new DispatchKeys(prefix).queue("mine").types, other.types)).rejects.toThrow(
        /can't access/,
      );
      await exercise(redis, prefix, ["mine"]);
    } finally {
      redis.disconnect();
    }
  });

  it("runs a whole server on it: tasks of two queues succeed, retry, wait for their time and get cancelled", async () => {
    const ts = await startTestServer({ redisUrl: url, defaultInitialBackoffMs: 50, defaultMaxBackoffMs: 100 });
    servers.push(ts);
    await runTasksThrough(ts, [uniqueQueue("slot-a"), uniqueQueue("slot-b")]);
  });

  it("runs a whole server as an ACL user allowed one queue's keys only", async () => {
    const queue = uniqueQueue("acl");
    const ts = await startTestServer({
      redisUrl: await restrictedUrl("acl-server:", queue),
      redisPrefix: "acl-server:",
      defaultInitialBackoffMs: 50,
      defaultMaxBackoffMs: 100,
    });
    servers.push(ts);
    await runTasksThrough(ts, [queue]);
  });
});

/** Submits echo, failing-then-succeeding, delayed and cancelled tasks to `queues`; all end as planned. */
async function runTasksThrough(ts: TestServer, queues: string[]): Promise<void> {
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
