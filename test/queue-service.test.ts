import { DispatchKeys } from "../server/redis/keys.js";
import { connectDispatchRedis, wipeDispatchState } from "./support/dispatch-state.js";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { type QueueInfo, QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";
import { failureOf } from "./support/call-failure.js";

const servers: TestServer[] = [];
const workers: RawWorker[] = [];

afterAll(async () => {
  for (const w of workers) w.cancel();
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
});

function queuesOf(ts: TestServer): Client<typeof QueueService> {
  return createClient(QueueService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
}

async function rawWorker(ts: TestServer, queues: string[], credits: number): Promise<RawWorker> {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  await w.hello(queues);
  w.send({ case: "credit", value: { credits } });
  return w;
}

/** Task ids leased to `w` so far. */
function leasedIds(w: RawWorker): string[] {
  return w.received.flatMap((m) => (m.message.case === "assignment" ? m.message.value.tasks.map((t) => t.taskId) : []));
}

async function getQueue(client: Client<typeof QueueService>, name: string): Promise<QueueInfo> {
  return (await client.getQueue({ name })).queue!;
}

/** Waits until GetQueue shows what `check` accepts; returns that view. */
async function waitForQueue(client: Client<typeof QueueService>, name: string, what: string, check: (q: QueueInfo) => boolean): Promise<QueueInfo> {
  return waitFor(
    async () => {
      const q = await getQueue(client, name);
      return check(q) ? q : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 20, message: `queue ${name}: ${what}` },
  );
}


describe("QueueService counts", () => {
  let ts: TestServer;
  let queues: Client<typeof QueueService>;
  beforeAll(async () => {
    ts = await startTestServer();
    servers.push(ts);
    queues = queuesOf(ts);
  });

  it("answers an empty page for an empty system, then pages through the queues by name", async () => {
    expect((await queues.listQueues({})).queues).toEqual([]);
    const names = ["page-a", "page-b", "page-c"].map((n) => uniqueQueue(n));
    for (const queue of names) await ts.grpc.submitTask({ queue, type: "echo" });
    const first = await queues.listQueues({ pageSize: 2 });
    expect(first.queues.map((q) => q.name)).toEqual(names.slice(0, 2));
    expect(first.nextPageToken).not.toBe("");
    const second = await queues.listQueues({ pageSize: 2, pageToken: first.nextPageToken });
    expect(second.queues.map((q) => q.name)).toEqual(names.slice(2));
    expect(second.nextPageToken).toBe("");
    expect(Number(second.queues[0]!.counts!.queued)).toBe(1);
  });

  it("follows a task through queued, running and succeeded", async () => {
    const queue = uniqueQueue("counts");
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload(1) });
    const queued = await getQueue(queues, queue);
    expect(queued.counts).toMatchObject({ queued: 1n, scheduled: 0n, running: 0n, dead: 0n });
    expect(queued.oldestQueuedAge).toBeDefined();
    expect(queued.paused).toBe(false);
    expect(queued.settings!.maxAttempts).toBeGreaterThan(0);

    const w = await rawWorker(ts, [queue], 1);
    const [leased] = await w.tasks(1);
    expect(leased!.taskId).toBe(task!.id);
    // Dispatch and results are not writes the shared snapshot tracks: they show within QUEUE_OVERVIEW_CACHE_MS.
    const running = await waitForQueue(queues, queue, "one RUNNING", (q) => q.counts!.running === 1n);
    expect(running.counts).toMatchObject({ queued: 0n, running: 1n });
    expect(running.oldestQueuedAge).toBeUndefined();
    expect(running.workers).toMatchObject({ connected: 1, capacity: 10, inFlight: 1 });

    w.send({ case: "results", value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "success", value: {} } }] } });
    await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    const done = await waitForQueue(queues, queue, "one SUCCEEDED", (q) => q.throughput!.last1m!.succeeded === 1n);
    expect(done.counts).toMatchObject({ queued: 0n, running: 0n, scheduled: 0n, dead: 0n });
    expect(done.throughput!.last1m).toMatchObject({ succeeded: 1n, failed: 0n, cancelled: 0n });
    expect(done.throughput!.last15m!.succeeded).toBe(1n);
    // The per-minute series behind a sparkline: 15 minutes, oldest first, adding up to the window.
    expect(done.throughput!.succeededPerMinute).toHaveLength(15);
    expect(done.throughput!.failedPerMinute).toHaveLength(15);
    expect(done.throughput!.succeededPerMinute.reduce((a, b) => a + b, 0n)).toBe(1n);
    expect(done.throughput!.succeededPerMinute.slice(0, 13).every((n) => n === 0n)).toBe(true);
    expect(done.workers!.inFlight).toBe(0);
  });

  it("counts a retryable failure as scheduled, a non-retryable one as dead, and a redrive as queued again", async () => {
    const queue = uniqueQueue("dead");
    const { task } = await ts.grpc.submitTask({
      queue,
      type: "echo",
      retryPolicy: { maxAttempts: 3, initialBackoff: { seconds: 3600n }, maxBackoff: { seconds: 3600n } },
    });
    const w = await rawWorker(ts, [queue], 2);
    const [first] = await w.tasks(1);
    w.send({ case: "results", value: { results: [{ taskId: first!.taskId, leaseToken: first!.leaseToken, outcome: { case: "failure", value: { message: "try again" } } }] } });
    await waitForState(ts.grpc, task!.id, TaskState.FAILED);
    const waiting = await getQueue(queues, queue);
    expect(waiting.counts).toMatchObject({ queued: 0n, scheduled: 1n, running: 0n, dead: 0n });
    expect(waiting.throughput!.last1m!.failed).toBe(1n);
    // Cancel the waiting retry (counted as cancelled), then run a second task to a fatal failure.
    await ts.grpc.cancelTask({ id: task!.id });
    const cancelled = await getQueue(queues, queue);
    expect(cancelled.counts!.scheduled).toBe(0n);
    expect(cancelled.throughput!.last1m!.cancelled).toBe(1n);

    const fatal = (await ts.grpc.submitTask({ queue, type: "echo" })).task!;
    const [second] = (await w.tasks(2)).slice(1);
    expect(second!.taskId).toBe(fatal.id);
    w.send({
      case: "results",
      value: { results: [{ taskId: second!.taskId, leaseToken: second!.leaseToken, outcome: { case: "failure", value: { message: "bad input", nonRetryable: true } } }] },
    });
    await waitForState(ts.grpc, fatal.id, TaskState.DEAD);
    const dead = await waitForQueue(queues, queue, "one DEAD", (q) => q.counts!.dead === 1n);
    expect(dead.counts).toMatchObject({ queued: 0n, scheduled: 0n, running: 0n });
    expect(dead.throughput!.last1m!.failed).toBe(2n);

    // The worker has no credit left: the re-driven task stays queued.
    const deadLetters = createClient(DeadLetterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    await deadLetters.redriveDeadTasks({ ids: [fatal.id] });
    const redriven = await getQueue(queues, queue);
    expect(redriven.counts).toMatchObject({ queued: 1n, dead: 0n, running: 0n });
  });

  it("puts a task whose stream dropped back among the queued, and counts a cancelled running task", async () => {
    const queue = uniqueQueue("dropped");
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    const first = await rawWorker(ts, [queue], 1);
    await first.tasks(1);
    expect((await getQueue(queues, queue)).counts).toMatchObject({ running: 1n, queued: 0n });
    first.cancel();
    await waitForQueue(queues, queue, "the task queued again", (q) => q.counts!.queued === 1n && q.counts!.running === 0n);

    const second = await rawWorker(ts, [queue], 1);
    const [leased] = await second.tasks(1);
    expect(leased!.taskId).toBe(task!.id);
    await ts.grpc.cancelTask({ id: task!.id });
    await second.next((m) => m.message.case === "cancel", "the cancel");
    second.send({ case: "results", value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "failure", value: { message: "aborted" } } }] } });
    await waitForState(ts.grpc, task!.id, TaskState.CANCELLED);
    const done = await getQueue(queues, queue);
    expect(done.counts).toMatchObject({ queued: 0n, running: 0n, scheduled: 0n });
    expect(done.throughput!.last1m).toMatchObject({ cancelled: 1n, failed: 0n, succeeded: 0n });
  });

  it("refuses bad input naming the field, writes nothing, and answers NOT_FOUND for unknown queues", async () => {
    const unknown = uniqueQueue("unknown");
    expect(await failureOf(queues.getQueue({ name: unknown }))).toMatchObject({ code: Code.NotFound });
    expect(await failureOf(queues.resumeQueue({ name: unknown }))).toMatchObject({ code: Code.NotFound });
    const empty = await failureOf(queues.getQueue({ name: "" }));
    expect(empty.code).toBe(Code.InvalidArgument);
    expect(empty.message).toMatch(/^name/);
    const badName = await failureOf(queues.pauseQueue({ name: "no spaces allowed" }));
    expect(badName.code).toBe(Code.InvalidArgument);
    expect(badName.message).toMatch(/^name/);
    const longReason = await failureOf(queues.pauseQueue({ name: unknown, reason: "x".repeat(1025) }));
    expect(longReason.code).toBe(Code.InvalidArgument);
    expect(longReason.message).toMatch(/^reason/);
    expect(await failureOf(queues.getQueue({ name: unknown }))).toMatchObject({ code: Code.NotFound });
    expect((await failureOf(queues.listQueues({ pageSize: -1 }))).message).toMatch(/^page_size/);
    expect((await failureOf(queues.listQueues({ pageSize: 1001 }))).message).toMatch(/^page_size/);
    expect((await failureOf(queues.listQueues({ pageToken: "garbage" }))).message).toMatch(/^page_token/);
  });

  it("serves the same over Connect JSON through the gateway", async () => {
    const queue = uniqueQueue("json");
    await ts.grpc.submitTask({ queue, type: "echo" });
    const json = createClient(QueueService, createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1", useBinaryFormat: false }));
    expect((await json.getQueue({ name: queue })).queue!.counts!.queued).toBe(1n);
  });
});

describe("QueueService pause and resume", () => {
  it("stops dispatch on every server sharing the queue, and resume restarts it at once", async () => {
    const a = await startTestServer();
    servers.push(a);
    const b = await startTestServer({}, { databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    servers.push(b);
    const queue = uniqueQueue("paused");
    const controlA = uniqueQueue("control-a");
    const controlB = uniqueQueue("control-b");
    const wa = await rawWorker(a, [queue, controlA], 5);
    const wb = await rawWorker(b, [queue, controlB], 5);

    const paused = (await queuesOf(a).pauseQueue({ name: queue, reason: "maintenance" })).queue!;
    expect(paused).toMatchObject({ paused: true, pauseReason: "maintenance" });
    expect(paused.pausedTime).toBeDefined();
    // Idempotent: the first reason stays.
    expect((await queuesOf(b).pauseQueue({ name: queue, reason: "again" })).queue!.pauseReason).toBe("maintenance");

    const held = (await a.grpc.submitTask({ queue, type: "echo" })).task!;
    // Tasks submitted after it, on other queues, reach each worker: their servers' lease passes
    // ran after the one that found the paused queue.
    const ca = (await a.grpc.submitTask({ queue: controlA, type: "echo" })).task!;
    const cb = (await b.grpc.submitTask({ queue: controlB, type: "echo" })).task!;
    await waitFor(() => leasedIds(wa).includes(ca.id), { timeoutMs: 10_000, message: "control task on server A" });
    await waitFor(() => leasedIds(wb).includes(cb.id), { timeoutMs: 10_000, message: "control task on server B" });
    expect([...leasedIds(wa), ...leasedIds(wb)]).not.toContain(held.id);
    const onB = await getQueue(queuesOf(b), queue);
    expect(onB).toMatchObject({ paused: true, pauseReason: "maintenance" });
    expect(onB.counts).toMatchObject({ queued: 1n, running: 0n });
    // Both servers' workers serve the queue: each server counts the other's through the
    // cluster directory.
    expect(onB.workers).toMatchObject({ connected: 2, capacity: 20 });
    expect((await getQueue(queuesOf(a), queue)).workers).toMatchObject({ connected: 2, capacity: 20 });

    const resumed = (await queuesOf(b).resumeQueue({ name: queue })).queue!;
    expect(resumed).toMatchObject({ paused: false, pauseReason: "" });
    expect(resumed.pausedTime).toBeUndefined();
    await waitFor(() => [...leasedIds(wa), ...leasedIds(wb)].includes(held.id), { timeoutMs: 5_000, message: "the held task to be pushed after resume" });
  });

  it("survives a server restart and Redis losing its copy", async () => {
    const first = await startTestServer();
    servers.push(first);
    const queue = uniqueQueue("restart");
    const control = uniqueQueue("restart-control");
    await queuesOf(first).pauseQueue({ name: queue, reason: "held" });
    await first.stop();
    servers.splice(servers.indexOf(first), 1);

    const second = await startTestServer({}, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
    servers.push(second);
    expect(await getQueue(queuesOf(second), queue)).toMatchObject({ paused: true, pauseReason: "held" });
    const held = (await second.grpc.submitTask({ queue, type: "echo" })).task!;
    // Redis loses everything under the prefix: the full recovery sweep restores the paused
    // names from Postgres before it re-enqueues the held task.
    const redis = connectDispatchRedis(second);
    try {
      await wipeDispatchState(redis, second.redisPrefix);
      await second.server.recover();
      expect(await redis.exists(new DispatchKeys(second.redisPrefix).queue(queue).paused)).toBe(1);
    } finally {
      redis.disconnect();
    }
    expect((await getQueue(queuesOf(second), queue)).counts).toMatchObject({ queued: 1n, running: 0n });
    const w = await rawWorker(second, [queue, control], 5);
    const c = (await second.grpc.submitTask({ queue: control, type: "echo" })).task!;
    await waitFor(() => leasedIds(w).includes(c.id), { timeoutMs: 10_000, message: "control task" });
    expect(leasedIds(w)).not.toContain(held.id);
    await queuesOf(second).resumeQueue({ name: queue });
    await waitFor(() => leasedIds(w).includes(held.id), { timeoutMs: 5_000, message: "the held task after resume" });
  });
});

describe("QueueService.UpdateQueue", () => {
  it("stores settings that new tasks get on every server, and clears them back to the server's", async () => {
    const a = await startTestServer();
    servers.push(a);
    const b = await startTestServer({}, { databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    servers.push(b);
    const queue = uniqueQueue("settings");
    const serverDefault = (await queuesOf(a).updateQueue({ name: queue, settings: { maxAttempts: 5 } })).queue!.settings!;
    expect(serverDefault.maxAttempts).toBe(5);
    const updated = (
      await queuesOf(a).updateQueue({
        name: queue,
        settings: { maxAttempts: 7, defaultPriority: 9, defaultTimeout: { seconds: 30n }, initialBackoff: { seconds: 2n } },
        updateMask: { paths: ["default_priority", "default_timeout"] },
      })
    ).queue!.settings!;
    // Only the masked fields changed.
    expect(updated).toMatchObject({ maxAttempts: 5, defaultPriority: 9, defaultTimeout: { seconds: 30n } });
    expect(updated.initialBackoff!.seconds).toBe(1n);

    // Server B hears of the change and applies it to its submits.
    const onB = await waitFor(
      async () => {
        const { task } = await b.grpc.submitTask({ queue, type: "echo" });
        return task!.priority === 9 ? task! : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20, message: "server B to apply the queue's settings" },
    );
    expect(onB).toMatchObject({ maxAttempts: 5, timeout: { seconds: 30n } });
    // A task's own values win.
    const own = (await a.grpc.submitTask({ queue, type: "echo", priority: 3, timeout: { seconds: 5n }, retryPolicy: { maxAttempts: 2 } })).task!;
    expect(own).toMatchObject({ priority: 3, maxAttempts: 2, timeout: { seconds: 5n } });
    // An explicit priority 0 (the field has explicit presence) is kept; an unset one takes the default.
    expect((await a.grpc.submitTask({ queue, type: "echo", priority: 0 })).task!.priority).toBe(0);
    const batch = await b.grpc.submitTasks({ tasks: [{ queue, type: "echo", priority: 0 }, { queue, type: "echo" }, { queue, type: "echo", priority: 4 }] });
    expect(batch.results.map((r) => (r.outcome.case === "task" ? r.outcome.value.priority : r.outcome.case))).toEqual([0, 9, 4]);
    const overJson = await fetch(`${a.httpBaseUrl}/taskqueue.v1.TaskService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ queue, type: "echo", priority: 0 }),
    });
    expect(((await overJson.json()) as { task: { priority?: number } }).task.priority ?? 0).toBe(0);

    // A masked field left unset goes back to the server's setting.
    const cleared = (await queuesOf(b).updateQueue({ name: queue, updateMask: { paths: ["max_attempts", "default_timeout"] } })).queue!.settings!;
    expect(cleared.maxAttempts).toBe(3);
    expect(cleared.defaultTimeout).toBeUndefined();
    expect(cleared.defaultPriority).toBe(9);
    const after = (await b.grpc.submitTask({ queue, type: "echo" })).task!;
    expect(after).toMatchObject({ maxAttempts: 3, priority: 9 });
    expect(after.timeout).toBeUndefined();
  });

  it("refuses unknown mask paths and bad values naming the field, writing nothing", async () => {
    const ts = servers[0]!;
    const queues = queuesOf(ts);
    const name = uniqueQueue("bad-settings");
    const cases: Array<[Parameters<typeof queues.updateQueue>[0], RegExp]> = [
      [{ name, settings: { maxAttempts: 5 }, updateMask: { paths: ["max_atempts"] } }, /^update_mask\.paths\[0\]: "max_atempts" is not a field/],
      [{ name, settings: { finishedRetention: { seconds: -60n } }, updateMask: { paths: ["finished_retention"] } }, /^settings\.finished_retention: must be between 0s and 3650 days/],
      [{ name, settings: { deadRetention: { seconds: 3651n * 86_400n } } }, /^settings\.dead_retention: must be between 0s and 3650 days/],
      [{ name, settings: { maxAttempts: 5 }, updateMask: { paths: ["*", "max_attempts"] } }, /^update_mask/],
      [{ name }, /^update_mask: is empty/],
      [{ name, settings: { maxAttempts: 101 } }, /^settings\.max_attempts: must be between 1 and 100/],
      [{ name, settings: { backoffMultiplier: Number.NaN }, updateMask: { paths: ["backoff_multiplier"] } }, /^settings\.backoff_multiplier/],
      [{ name, settings: { defaultTimeout: { seconds: 0n } }, updateMask: { paths: ["default_timeout"] } }, /^settings\.default_timeout/],
      [{ name, settings: { defaultPriority: 101 } }, /^settings\.default_priority/],
      [{ name, settings: { initialBackoff: { seconds: 600n }, maxBackoff: { seconds: 60n } } }, /^settings\.max_backoff: must be at least initial_backoff/],
      [{ name: "", settings: { maxAttempts: 5 } }, /^name/],
    ];
    for (const [request, message] of cases) {
      const result = await failureOf(queues.updateQueue(request));
      expect(result.code, result.message).toBe(Code.InvalidArgument);
      expect(result.message).toMatch(message);
    }
    expect(await failureOf(queues.getQueue({ name }))).toMatchObject({ code: Code.NotFound });
  });
});
