import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { readTask } from "./support/task-db.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
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

/** A server with a worker serving `queue` (example handlers). */
async function serverWithWorker(queue: string, overrides: Parameters<typeof startTestServer>[0]): Promise<[TestServer, Worker]> {
  const ts = await startTestServer({ defaultInitialBackoffMs: 10, defaultMaxBackoffMs: 20, ...overrides });
  const worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
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
    await waitForState(ts.grpc, retried, TaskState.SUCCEEDED);
    await waitForState(ts.grpc, dead, TaskState.DEAD);
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
    await waitForState(ts.grpc, dead, TaskState.DEAD);
    await waitForState(ts.grpc, done, TaskState.SUCCEEDED);
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
