import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createWorker, type Worker } from "../worker/index.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createLogger } from "../server/observability/logger.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { waitFor } from "./support/wait-for.js";

let ts: TestServer;
let worker: Worker;
const queue = uniqueQueue("life");

beforeAll(async () => {
  ts = await startTestServer({ defaultInitialBackoffMs: 50, defaultMaxBackoffMs: 200 });
  worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
});

describe("a task's whole life", () => {
  it("runs over gRPC: submitted, leased to the worker, result stored durably", async () => {
    const { task, existing } = await ts.grpc.submitTask({
      queue,
      type: "echo",
      payloadData: jsonPayload({ hello: "world" }),
      labels: { origin: "grpc-test" },
    });
    expect(existing).toBe(false);
    expect(task!.state).toBe(TaskState.QUEUED);
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.resultData.case).toBe("result");
    expect(toJson(ValueSchema, done.resultData.value as never)).toEqual({ hello: "world" });
    expect(done.attempt).toBe(1);
    expect(done.labels).toEqual({ origin: "grpc-test" });
    expect(done.startedAt).toBeDefined();
    expect(done.finishedAt).toBeDefined();
    const { attempts } = await ts.grpc.getTask({ id: task!.id, includeAttempts: true });
    expect(attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.SUCCEEDED]);
    const row = await ts.pool.query("select state, result from tasks where id = $1", [task!.id]);
    expect(row.rows[0].state).toBe("SUCCEEDED");
    expect(JSON.parse(row.rows[0].result.toString())).toEqual({ hello: "world" });
  });

  it("runs over Connect JSON (curl-style): payload and result are plain JSON", async () => {
    const post = async (method: string, body: unknown) => {
      const res = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const submitted = await post("SubmitTask", { queue, type: "echo", payload: { to: "a@b.c", n: [1, 2] } });
    expect(submitted.status).toBe(200);
    expect(submitted.body.task.state).toBe("TASK_STATE_QUEUED");
    expect(submitted.body.task.payload).toEqual({ to: "a@b.c", n: [1, 2] });
    await waitForState(ts.connect, submitted.body.task.id, TaskState.SUCCEEDED);
    const got = await post("GetTask", { id: submitted.body.task.id });
    expect(got.body.task.state).toBe("TASK_STATE_SUCCEEDED");
    expect(got.body.task.result).toEqual({ to: "a@b.c", n: [1, 2] });
  });

  it("carries opaque bytes payloads and results", async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: { case: "payloadBytes", value: bytes } });
    expect(task!.payloadData).toEqual({ case: "payloadBytes", value: bytes });
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.resultData).toEqual({ case: "resultBytes", value: bytes });
  });

  it("retries a failed attempt with back-off, then succeeds", async () => {
    const { task } = await ts.connect.submitTask({
      queue,
      type: "fail",
      payloadData: jsonPayload({ times: 2 }),
    });
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.attempt).toBe(3);
    const { attempts } = await ts.grpc.getTask({ id: task!.id, includeAttempts: true });
    expect(attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.FAILED, AttemptOutcome.FAILED, AttemptOutcome.SUCCEEDED]);
    expect(attempts[0]!.error?.message).toMatch(/attempt 1/);
    expect(attempts.every((a) => a.finishedAt !== undefined)).toBe(true);
    // The successful attempt is recorded by the task row, not by an attempt row.
    const rows = await ts.pool.query("select attempt from task_attempts where task_id = $1 order by attempt", [task!.id]);
    expect(rows.rows.map((r) => r.attempt)).toEqual([1, 2]);
    expect(attempts[2]).toMatchObject({ attempt: 3, workerId: done.workerId, startedAt: done.startedAt, finishedAt: done.finishedAt });
  });

  it("lists a long task's attempt once, with its outcome, though a row was written while it ran", async () => {
    const { task } = await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 400 }) });
    const running = await waitForState(ts.grpc, task!.id, TaskState.RUNNING);
    // The RUNNING mark and its attempt row are written by one statement.
    const marked = await ts.pool.query("select outcome from task_attempts where task_id = $1", [task!.id]);
    expect(marked.rows).toEqual([{ outcome: null }]);
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    const { attempts } = await ts.grpc.getTask({ id: task!.id, includeAttempts: true });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      attempt: 1,
      outcome: AttemptOutcome.SUCCEEDED,
      workerId: running.workerId,
      finishedAt: done.finishedAt,
    });
  });

  it("dead-letters a non-retryable failure at once with its error", async () => {
    const { task } = await ts.grpc.submitTask({
      queue,
      type: "fail",
      payloadData: jsonPayload({ times: 5, retryable: false }),
    });
    const dead = await waitForState(ts.grpc, task!.id, TaskState.DEAD);
    expect(dead.attempt).toBe(1);
    expect(dead.lastError?.nonRetryable).toBe(true);
  });

  it("dead-letters a task whose attempts are exhausted", async () => {
    const { task } = await ts.grpc.submitTask({
      queue,
      type: "fail",
      retryPolicy: { maxAttempts: 2 },
      payloadData: jsonPayload({ times: 9 }),
    });
    const dead = await waitForState(ts.grpc, task!.id, TaskState.DEAD);
    expect(dead.attempt).toBe(2);
    expect(dead.lastError?.attempt).toBe(2);
  });

  it("holds a task with a future run_at as SCHEDULED, then runs it", async () => {
    const runAt = new Date(Date.now() + 300);
    const { task } = await ts.grpc.submitTask({
      queue,
      type: "echo",
      runAt: { seconds: BigInt(Math.floor(runAt.getTime() / 1000)), nanos: (runAt.getTime() % 1000) * 1e6 },
    });
    expect(task!.state).toBe(TaskState.SCHEDULED);
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.startedAt!.seconds * 1000n + BigInt(Math.floor(done.startedAt!.nanos / 1e6))).toBeGreaterThanOrEqual(
      BigInt(runAt.getTime()),
    );
  });

  it("exposes Prometheus metrics of what happened, on the HTTP port", async () => {
    const res = await fetch(`${ts.httpBaseUrl}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? NaN);
    expect(value(new RegExp(`taskqueue_tasks_submitted_total\\{queue="${queue}"\\} (\\d+)`))).toBeGreaterThanOrEqual(7);
    expect(value(new RegExp(`taskqueue_lease_ends_total\\{queue="${queue}",how="succeeded",state="SUCCEEDED"\\} (\\d+)`))).toBeGreaterThanOrEqual(5);
    expect(value(new RegExp(`taskqueue_lease_ends_total\\{queue="${queue}",how="fatal",state="DEAD"\\} (\\d+)`))).toBe(1);
    expect(value(/taskqueue_connected_workers (\d+)/)).toBe(1);
    expect(text).toMatch(/taskqueue_dispatch_delay_seconds_bucket/);
  });

  it("keeps creation times to the microsecond, in Postgres and in what workers receive", async () => {
    const preciseQueue = uniqueQueue("precise");
    const received = new Map<string, number | undefined>();
    const marker = createWorker({
      address: ts.grpcAddress,
      queues: [preciseQueue],
      concurrency: 8,
      handlers: {
        mark: (t) => {
          received.set(t.id, t.createdAtMs);
          return null;
        },
      },
      logger: createLogger({ level: "silent" }),
    });
    await marker.start();
    try {
      const { results } = await ts.grpc.submitTasks({ tasks: Array.from({ length: 8 }, () => ({ queue: preciseQueue, type: "mark" })) });
      const ids = results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));
      await waitFor(() => received.size === ids.length, { timeoutMs: 10_000, message: "every task to reach the worker" });
      const { rows } = await ts.pool.query<{ id: string; ms: number }>(
        "select id::text, (extract(epoch from created_at) * 1000)::float8 as ms from tasks where id = any($1::uuid[])",
        [ids],
      );
      expect(rows).toHaveLength(ids.length);
      for (const row of rows) expect(received.get(row.id)).toBeCloseTo(row.ms, 2);
      // With whole milliseconds, eight creation times would all be integers (1 chance in 10^24 otherwise).
      expect([...received.values()].some((ms) => ms !== undefined && !Number.isInteger(ms))).toBe(true);
    } finally {
      await marker.stop({ timeoutMs: 2_000 });
    }
  });

  it("returns the existing task for a repeated idempotency key", async () => {
    const first = await ts.grpc.submitTask({ queue, type: "echo", idempotencyKey: "order-42" });
    const second = await ts.grpc.submitTask({ queue, type: "echo", idempotencyKey: "order-42" });
    expect(second.existing).toBe(true);
    expect(second.task!.id).toBe(first.task!.id);
    const rows = await ts.pool.query("select count(*)::int as n from tasks where idempotency_key = 'order-42'");
    expect(rows.rows[0].n).toBe(1);
  });
});
