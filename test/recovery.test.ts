import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { insertOrphanTask } from "./support/task-db.js";
import { waitFor } from "./support/wait-for.js";

let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  const options = { leaseDurationMs: 800, heartbeatIntervalMs: 200, reaperIntervalMs: 50, queueRetryDefaults: { patient: { maxAttempts: 7, initialBackoffMs: 20 } } };
  a = await startTestServer(options);
  // A second server on the same Postgres database and Redis prefix: a two-server deployment.
  b = await startTestServer(options, { databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
});

afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const quietWorker = (server: TestServer, queues: string[]) =>
  createWorker({ address: server.grpcAddress, queues, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });

describe("recovery and several servers", () => {
  it("enqueues a task committed to Postgres but never enqueued in Redis (a crash in between)", async () => {
    const queue = uniqueQueue("orphan");
    const id = "01a00000-0000-7000-8000-000000000001";
    await insertOrphanTask(a.pool, id, queue, 5_000);
    const worker = quietWorker(a, [queue]);
    await worker.start();
    try {
      await a.server.recover();
      const done = await waitForState(a.grpc, id, TaskState.SUCCEEDED, 3_000);
      expect(done.attempt).toBe(1);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });

  it("dispatches a task submitted to one server to a worker connected to the other at once", async () => {
    const queue = uniqueQueue("cross");
    const worker = quietWorker(b, [queue]);
    await worker.start();
    try {
      const { task } = await a.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ via: "a" }) });
      const done = await waitForState(b.grpc, task!.id, TaskState.SUCCEEDED, 3_000);
      expect(done.resultData.case).toBe("result");
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });

  it("returns one task for one idempotency key sent to two servers at the same moment", async () => {
    const queue = uniqueQueue("idem-2");
    const calls = Array.from({ length: 6 }, (_, i) =>
      (i % 2 === 0 ? a : b).grpc.submitTask({ queue, type: "echo", idempotencyKey: "invoice-7" }),
    );
    const results = await Promise.all(calls);
    expect(new Set(results.map((r) => r.task!.id)).size).toBe(1);
    expect(results.filter((r) => !r.existing)).toHaveLength(1);
    const { rows } = await a.pool.query("select count(*)::int as n from tasks where queue = $1", [queue]);
    expect(rows[0].n).toBe(1);
  });

  it("ends a cancelled running task CANCELLED even if its worker never answers", async () => {
    const queue = uniqueQueue("mute");
    const w = new RawWorker(a.grpcAddress);
    await w.hello([queue]);
    const { task } = await a.grpc.submitTask({ queue, type: "sleep" });
    w.send({ case: "credit", value: { credits: 1 } });
    await w.tasks(1);
    await b.grpc.cancelTask({ id: task!.id, reason: "no longer needed" });
    // The cancel reaches the worker through the server holding its stream; it does not answer
    // and stops heartbeating: the lease runs out and the task ends CANCELLED, not re-queued.
    await w.next((m) => m.message.case === "cancel", "the cancel, relayed between servers");
    const done = await waitForState(a.grpc, task!.id, TaskState.CANCELLED, 5_000);
    expect(done.cancelReason).toBe("no longer needed");
    const { attempts } = await a.grpc.getTask({ id: task!.id, includeAttempts: true });
    expect(attempts.map((x) => x.outcome)).toEqual([AttemptOutcome.CANCELLED]);
    w.close();
  });

  it("closes, at the first full sweep of a server that starts, the attempt rows a stopped server left open", async () => {
    const queue = uniqueQueue("open-attempts");
    const ids = {
      movedOn: "01a00000-0000-7000-8000-0000000000b1",
      dead: "01a00000-0000-7000-8000-0000000000b2",
      succeeded: "01a00000-0000-7000-8000-0000000000b3",
    };
    // Rows as a server that stopped before writing its lease ends leaves them (and as rows
    // written before the writer closed them itself): attempt 1 started, never ended.
    await insertTaskWithOpenAttempt(a.pool, ids.movedOn, queue, "SUCCEEDED", 2);
    await insertTaskWithOpenAttempt(a.pool, ids.dead, queue, "DEAD", 1);
    await insertTaskWithOpenAttempt(a.pool, ids.succeeded, queue, "SUCCEEDED", 1);
    const c = await startTestServer({}, { databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    try {
      await waitFor(async () => (await attemptRow(a.pool, ids.dead, 1)).outcome !== null, { timeoutMs: 10_000, message: "the open attempt of the DEAD task to be closed" });
      const { attempts } = await a.grpc.getTask({ id: ids.movedOn, includeAttempts: true });
      expect(attempts.map((x) => [x.attempt, x.outcome, x.finishedAt !== undefined])).toEqual([
        [1, AttemptOutcome.WORKER_LOST, true],
        [2, AttemptOutcome.SUCCEEDED, true],
      ]);
      expect(attempts[0]!.error?.type).toBe("LeaseLost");
      expect(await attemptRow(a.pool, ids.dead, 1)).toMatchObject({ outcome: "WORKER_LOST" });
      // The final attempt of a SUCCEEDED task is recorded by the task row: its row is left alone.
      expect(await attemptRow(a.pool, ids.succeeded, 1)).toMatchObject({ outcome: null, finished_at: null });
    } finally {
      await c.stop();
    }
  });

  it("applies a queue's own retry defaults", async () => {
    const { task } = await a.grpc.submitTask({ queue: "patient", type: "echo" });
    expect(task!.maxAttempts).toBe(7);
    expect(Number(task!.retryPolicy!.initialBackoff!.nanos)).toBe(20_000_000);
    const { task: other } = await a.grpc.submitTask({ queue: uniqueQueue("plain"), type: "echo" });
    expect(other!.maxAttempts).toBe(3);
  });
});

/**
 * Inserts a task in `state` at `attempt`, last changed a minute ago, whose attempt 1 has a
 * row with no outcome (started two minutes ago).
 */
async function insertTaskWithOpenAttempt(pool: pg.Pool, id: string, queue: string, state: string, attempt: number): Promise<void> {
  const finished = state === "SUCCEEDED" || state === "DEAD";
  await pool.query(
    `insert into tasks (id, queue, type, payload, payload_format, state, attempt, max_attempts, backoff_initial_ms,
       backoff_max_ms, backoff_multiplier, worker_id, started_at, finished_at, created_at, updated_at)
     values ($1, $2, 'echo', convert_to('{}', 'UTF8'), 1, $3, $4, 3, 1000, 300000, 2, 'gone-worker',
             now() - interval '90 seconds', case when $5 then now() - interval '1 minute' end,
             now() - interval '3 minutes', now() - interval '1 minute')`,
    [id, queue, state, attempt, finished],
  );
  await pool.query(
    `insert into task_attempts (task_id, attempt, worker_id, started_at) values ($1, 1, 'gone-worker', now() - interval '2 minutes')`,
    [id],
  );
}

async function attemptRow(pool: pg.Pool, id: string, attempt: number): Promise<{ outcome: string | null; finished_at: Date | null }> {
  const { rows } = await pool.query("select outcome, finished_at from task_attempts where task_id = $1 and attempt = $2", [id, attempt]);
  return rows[0];
}
