import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueService } from "../../gen/taskqueue/v1/queue_service_pb.js";
import { startRedisProcess, type RedisProcess } from "../../tools/local-services/redis-process.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess, WorkerProcess } from "../support/processes.js";
import { readAttemptsOfQueues } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { maxOverlap } from "../support/overlap.js";

// A private Redis: this file restarts it empty.
let redis: RedisProcess;
let stack: FaultStack;
let server: ServerProcess;
const LIMIT = 3;

beforeAll(async () => {
  redis = await startRedisProcess();
  stack = await FaultStack.create({
    redisUrl: redis.url,
    serverEnv: { RECOVERY_INTERVAL_MS: "500", LEASE_DURATION_MS: "3000", REAPER_INTERVAL_MS: "200" },
  });
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
  await redis?.stop();
});

/**
 * Worker-side spans of the attempts whose result was accepted: those ran under a lease the
 * running counters counted. (Attempts cut off by the Redis loss ran on uncounted: README.)
 */
async function acceptedSpans(queue: string, workers: WorkerProcess[]): Promise<Array<{ taskId: string; span: [number, number] }>> {
  const accepted = new Set(
    (await readAttemptsOfQueues(stack.pool, [queue])).filter((a) => a.outcome === "SUCCEEDED").map((a) => `${a.task_id}/${a.attempt}`),
  );
  const out: Array<{ taskId: string; span: [number, number] }> = [];
  for (const w of workers) {
    for (const line of w.process.find({ msg: "task completed" })) {
      const f = line.fields as { taskId: string; attempt: number; durationMs: number; time: string | number };
      // The worker's own clock: pino's time (ISO text here), logged as the handler returned.
      const end = typeof f.time === "number" ? f.time : Date.parse(f.time);
      if (accepted.has(`${f.taskId}/${f.attempt}`)) out.push({ taskId: f.taskId, span: [end - f.durationMs, end] });
    }
  }
  return out;
}

/** Kills one of `workers` once `first` attempts started, then Redis once `second` did, and waits for recovery. */
async function crashWorkerThenRedis(queue: string, workers: WorkerProcess[], first: number, second: number): Promise<void> {
  await waitFor(async () => (await readAttemptsOfQueues(stack.pool, [queue])).length >= first, {
    timeoutMs: 10_000,
    intervalMs: 20,
    message: "a few attempts to start",
  });
  await workers[0]!.kill("SIGKILL");
  await waitFor(async () => (await readAttemptsOfQueues(stack.pool, [queue])).length >= second, {
    timeoutMs: 10_000,
    intervalMs: 20,
    message: "more attempts to start after the worker crash",
  });
  const since = server.process.nextSeq;
  await redis.kill("SIGKILL");
  await redis.restart();
  await server.waitForLog({ msg: "recovery sweep done", where: (e) => e.fields.full === true }, { since, timeoutMs: 10_000 });
}

describe("a queue's concurrency limit through a worker SIGKILL and a Redis restart", () => {
  it("holds for every attempt that ran under a lease, and nothing is lost", async () => {
    const queue = uniqueQueue("limit-faults");
    const queues = createClient(QueueService, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
    await queues.updateQueue({ name: queue, settings: { maxConcurrency: LIMIT }, updateMask: { paths: ["max_concurrency"] } });
    // Debug level: each completed task is logged with its duration (worker-side times).
    const workers: WorkerProcess[] = await Promise.all(
      [1, 2, 3].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4, logLevel: "debug" })),
    );
    const client = stack.client(server);
    const ledger = new TaskLedger();
    await ledger.submitBatch(client, Array.from({ length: 40 }, () => sleepTask(queue, 150)));
    await crashWorkerThenRedis(queue, workers, 6, 15);
    await ledger.submitBatch(client, Array.from({ length: 10 }, () => sleepTask(queue, 150)));

    const final = await stack.waitAllDone([queue], ledger.expected.size, 30_000);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`limit ${LIMIT} through a worker SIGKILL and a Redis restart: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);

    const spans = (await acceptedSpans(queue, workers.slice(1))).map((a) => a.span);
    expect(spans.length).toBeGreaterThan(30);
    console.log(`limit ${LIMIT}: ${spans.length} accepted attempts, at most ${maxOverlap(spans)} running at once (worker-side times)`);
    expect(maxOverlap(spans)).toBeLessThanOrEqual(LIMIT);
    expect(maxOverlap(spans)).toBeGreaterThan(1);
    for (const w of workers.slice(1)) await w.stop();
  }, 90_000);

  it("holds each concurrency key's limit the same way, and nothing is lost", async () => {
    const queue = uniqueQueue("key-faults");
    const perKey = 2;
    const queues = createClient(QueueService, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
    await queues.updateQueue({ name: queue, settings: { maxConcurrencyPerKey: perKey }, updateMask: { paths: ["max_concurrency_per_key"] } });
    const workers: WorkerProcess[] = await Promise.all(
      [1, 2, 3].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4, logLevel: "debug" })),
    );
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const keyOf = new Map<string, string>();
    const submit = async (key: string, n: number) => {
      const planned = Array.from({ length: n }, () => {
        const task = sleepTask(queue, 150);
        task.request.concurrencyKey = key;
        return task;
      });
      for (const id of await ledger.submitBatch(client, planned)) keyOf.set(id, key);
    };
    await submit("A", 30);
    await submit("B", 10);
    await crashWorkerThenRedis(queue, workers, 4, 10);
    await submit("A", 5);
    await submit("C", 5);

    const final = await stack.waitAllDone([queue], ledger.expected.size, 45_000);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`per-key limit ${perKey} through a worker SIGKILL and a Redis restart: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    const byKey = new Map<string, Array<[number, number]>>();
    for (const { taskId, span } of await acceptedSpans(queue, workers.slice(1))) {
      const key = keyOf.get(taskId)!;
      byKey.set(key, [...(byKey.get(key) ?? []), span]);
    }
    const overlaps = [...byKey].map(([key, spans]) => [key, maxOverlap(spans)] as const);
    console.log(`per-key limit ${perKey}: at most running at once by key (worker-side times): ${overlaps.map(([k, n]) => `${k} ${n}`).join(", ")}`);
    for (const [, most] of overlaps) expect(most).toBeLessThanOrEqual(perKey);
    expect(byKey.get("A")!.length).toBeGreaterThan(20);
    expect(maxOverlap(byKey.get("A")!)).toBe(perKey);
    for (const w of workers.slice(1)) await w.stop();
  }, 90_000);
});
