import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { readTask } from "./support/task-db.js";
import { jsonPayload } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

const HOUR_MS = 3_600_000;

/** Attempt rows (failed attempts) stored for a task. */
async function attemptRows(ts: TestServer, id: string): Promise<number> {
  const { rows } = await ts.pool.query<{ n: number }>("select count(*)::int as n from task_attempts where task_id = $1", [id]);
  return rows[0]!.n;
}

async function deadListed(ts: TestServer, id: string): Promise<boolean> {
  const { rows } = await ts.pool.query("select 1 from dead_tasks where id = $1", [id]);
  return rows.length > 0;
}

/**
 * Waits until Postgres has the task in `state` (GetTask can answer from the dispatch state a
 * moment before the outcome's group commit, and a sweep reads Postgres).
 */
async function waitForState(ts: TestServer, id: string, state: TaskState): Promise<void> {
  const name = TaskState[state];
  await waitFor(async () => ((await readTask(ts.pool, id))?.state === name ? true : undefined), {
    timeoutMs: 10_000,
    message: `task ${id} to be ${name} in Postgres`,
  });
}

function queuesOf(ts: TestServer) {
  return createClient(QueueService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
}

/** Submits a task to `queue` and cancels it at once (no worker needed): a finished task. */
async function cancelledTask(ts: TestServer, queue: string): Promise<string> {
  const id = (await ts.grpc.submitTask({ queue, type: "echo" })).task!.id;
  await ts.grpc.cancelTask({ id, reason: "not needed" });
  return id;
}

/** A server with a worker serving `queue` (and `more`) (example handlers). */
async function serverWithWorker(queue: string, overrides: Parameters<typeof startTestServer>[0], more: string[] = []): Promise<[TestServer, Worker]> {
  const ts = await startTestServer({ defaultInitialBackoffMs: 10, defaultMaxBackoffMs: 20, ...overrides });
  const worker = createWorker({
    address: ts.grpcAddress,
    queues: [queue, ...more],
    concurrency: 4,
    handlers: exampleHandlers(),
    logger: createLogger({ level: "silent" }),
  });
  await worker.start();
  return [ts, worker];
}

describe("retention of finished tasks", () => {
  const queue = uniqueQueue("ret");
  const idle = uniqueQueue("ret-idle"); // no worker: its tasks stay queued or scheduled
  let ts: TestServer;
  let worker: Worker;

  beforeAll(async () => {
    // The periodic sweep is far off: the test runs sweeps itself.
    [ts, worker] = await serverWithWorker(queue, { finishedTaskRetentionMs: 1, deadTaskRetentionMs: 0, retentionIntervalMs: HOUR_MS });
  });
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 2_000 });
    await ts?.stop();
  });

  it("deletes finished tasks with their attempt rows, keeps unfinished and (by default) DEAD ones", async () => {
    const retried = (await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times: 1 }) })).task!.id;
    const dead = (await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times: 9 }), retryPolicy: { maxAttempts: 2 } })).task!.id;
    const cancelled = (await ts.grpc.submitTask({ queue: idle, type: "echo" })).task!.id;
    const queued = (await ts.grpc.submitTask({ queue: idle, type: "echo" })).task!.id;
    const inAnHour = Date.now() + HOUR_MS;
    const scheduled = (
      await ts.grpc.submitTask({ queue: idle, type: "echo", runAt: { seconds: BigInt(Math.floor(inAnHour / 1000)), nanos: 0 } })
    ).task!.id;
    await ts.grpc.cancelTask({ id: cancelled, reason: "not needed" });
    await waitForState(ts, retried, TaskState.SUCCEEDED);
    await waitForState(ts, dead, TaskState.DEAD);
    expect(await attemptRows(ts, retried)).toBe(1);

    expect(await ts.server.applyRetention()).toBe(2);

    expect(await readTask(ts.pool, retried)).toBeUndefined();
    expect(await readTask(ts.pool, cancelled)).toBeUndefined();
    expect(await attemptRows(ts, retried)).toBe(0);
    const notFound = await ts.grpc.getTask({ id: retried }).catch((e: unknown) => e);
    expect(ConnectError.from(notFound).code).toBe(Code.NotFound);

    expect((await readTask(ts.pool, dead))?.state).toBe("DEAD");
    expect(await deadListed(ts, dead)).toBe(true);
    expect(await attemptRows(ts, dead)).toBe(2);
    expect((await readTask(ts.pool, queued))?.state).toBe("QUEUED");
    expect((await readTask(ts.pool, scheduled))?.state).toBe("SCHEDULED");

    const metrics = await (await fetch(`${ts.httpBaseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^taskqueue_retention_deleted_tasks_total 2$/m);
  });

  it("deletes nothing more when nothing else finished", async () => {
    expect(await ts.server.applyRetention()).toBe(0);
  });

  it("keeps the finished tasks of a queue whose own finished_retention is 0s (forever)", async () => {
    const forever = uniqueQueue("ret-forever");
    const updated = await queuesOf(ts).updateQueue({ name: forever, settings: { finishedRetention: {} }, updateMask: { paths: ["finished_retention"] } });
    expect(updated.queue!.settings!.finishedRetention).toMatchObject({ seconds: 0n, nanos: 0 });
    const kept = await cancelledTask(ts, forever);
    const gone = await cancelledTask(ts, idle);

    expect(await ts.server.applyRetention()).toBe(1);

    expect((await readTask(ts.pool, kept))?.state).toBe("CANCELLED");
    expect(await readTask(ts.pool, gone)).toBeUndefined();
  });
});

describe("retention per queue", () => {
  const short = uniqueQueue("ret-short");
  const kept = uniqueQueue("ret-kept");
  let ts: TestServer;
  let worker: Worker;

  beforeAll(async () => {
    // The server keeps everything for an hour; one queue keeps its tasks for 1 ms.
    [ts, worker] = await serverWithWorker(short, { finishedTaskRetentionMs: HOUR_MS, deadTaskRetentionMs: 0, retentionIntervalMs: HOUR_MS }, [kept]);
  });
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 2_000 });
    await ts?.stop();
  });

  it("deletes a queue's finished and dead tasks past its own retention; other queues keep the server's", async () => {
    const oneMs = { seconds: 0n, nanos: 1_000_000 };
    const settings = (await queuesOf(ts).updateQueue({ name: short, settings: { finishedRetention: oneMs, deadRetention: oneMs } })).queue!.settings!;
    expect(settings).toMatchObject({ finishedRetention: oneMs, deadRetention: oneMs, maxAttempts: 3 });
    expect((await queuesOf(ts).getQueue({ name: kept })).queue!.settings!.finishedRetention).toMatchObject({ seconds: 3600n });

    const submit = (queue: string, type: string, payload: Parameters<typeof jsonPayload>[0]) => ts.grpc.submitTask({ queue, type, payloadData: jsonPayload(payload) });
    const shortDone = (await submit(short, "echo", { ok: 1 })).task!.id;
    const shortDead = (await submit(short, "fail", { times: 1, retryable: false })).task!.id;
    const keptDone = (await submit(kept, "echo", { ok: 2 })).task!.id;
    const keptDead = (await submit(kept, "fail", { times: 1, retryable: false })).task!.id;
    await Promise.all([
      waitForState(ts, shortDone, TaskState.SUCCEEDED),
      waitForState(ts, shortDead, TaskState.DEAD),
      waitForState(ts, keptDone, TaskState.SUCCEEDED),
      waitForState(ts, keptDead, TaskState.DEAD),
    ]);

    expect(await ts.server.applyRetention()).toBe(2);

    expect(await readTask(ts.pool, shortDone)).toBeUndefined();
    expect(await readTask(ts.pool, shortDead)).toBeUndefined();
    expect(await deadListed(ts, shortDead)).toBe(false);
    expect((await readTask(ts.pool, keptDone))?.state).toBe("SUCCEEDED");
    expect((await readTask(ts.pool, keptDead))?.state).toBe("DEAD");
    expect(await deadListed(ts, keptDead)).toBe(true);
  });

  it("goes back to the server's retention when the queue's is cleared", async () => {
    const cleared = (await queuesOf(ts).updateQueue({ name: short, updateMask: { paths: ["finished_retention", "dead_retention"] } })).queue!.settings!;
    expect(cleared.finishedRetention).toMatchObject({ seconds: 3600n });
    expect(cleared.deadRetention).toMatchObject({ seconds: 0n });
    const done = (await ts.grpc.submitTask({ queue: short, type: "echo" })).task!.id;
    await waitForState(ts, done, TaskState.SUCCEEDED);

    expect(await ts.server.applyRetention()).toBe(0);
    expect((await readTask(ts.pool, done))?.state).toBe("SUCCEEDED");
  });
});

describe("retention of dead tasks", () => {
  const queue = uniqueQueue("ret-dead");
  let ts: TestServer;
  let worker: Worker;

  beforeAll(async () => {
    [ts, worker] = await serverWithWorker(queue, { finishedTaskRetentionMs: HOUR_MS, deadTaskRetentionMs: 1, retentionIntervalMs: HOUR_MS });
  });
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 2_000 });
    await ts?.stop();
  });

  it("deletes DEAD tasks past their own retention, with their dead-letter entry; keeps recent successes", async () => {
    const dead = (await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times: 1, retryable: false }) })).task!.id;
    const done = (await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ ok: true }) })).task!.id;
    await waitForState(ts, dead, TaskState.DEAD);
    await waitForState(ts, done, TaskState.SUCCEEDED);
    expect(await deadListed(ts, dead)).toBe(true);

    expect(await ts.server.applyRetention()).toBe(1);

    expect(await readTask(ts.pool, dead)).toBeUndefined();
    expect(await deadListed(ts, dead)).toBe(false);
    expect(await attemptRows(ts, dead)).toBe(0);
    const client = createClient(DeadLetterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    expect((await client.listDeadTasks({ queue })).tasks).toEqual([]);
    expect((await readTask(ts.pool, done))?.state).toBe("SUCCEEDED");
  });
});

describe("periodic retention sweeps", () => {
  const queue = uniqueQueue("ret-periodic");
  let ts: TestServer;
  let worker: Worker;

  beforeAll(async () => {
    [ts, worker] = await serverWithWorker(queue, { finishedTaskRetentionMs: 1, retentionIntervalMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop({ timeoutMs: 2_000 });
    await ts?.stop();
  });

  it("delete finished tasks on their own, sweep after sweep", async () => {
    for (let round = 0; round < 2; round++) {
      const id = (await ts.grpc.submitTask({ queue, type: "echo" })).task!.id;
      await waitFor(async () => (await readTask(ts.pool, id)) === undefined, {
        timeoutMs: 10_000,
        message: `task ${id} (round ${round}) to be deleted by a retention sweep`,
      });
    }
  });
});
