import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer({ leaseDurationMs: 1_000, heartbeatIntervalMs: 200, reaperIntervalMs: 50, idempotencyRetentionMs: 3_600_000 });
});

afterAll(async () => {
  await ts?.stop();
});

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1_000_000 });

describe("timeouts and deadlines", () => {
  it("ends a task not started before its start deadline as EXPIRED, with its own reason", async () => {
    const queue = uniqueQueue("start-deadline");
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", startTimeout: ms(200) });
    expect(task!.startDeadline).toBeDefined();
    const expired = await waitForState(ts.grpc, task!.id, TaskState.EXPIRED, 5_000);
    expect(expired.lastError?.type).toBe("StartDeadlineExceeded");
    expect(expired.attempt).toBe(0);
    // A worker arriving later never gets it.
    const w = new RawWorker(ts.grpcAddress);
    await w.hello([queue]);
    const { task: other } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 5 } });
    const [first] = await w.tasks(1);
    expect(first!.taskId).toBe(other!.id);
    w.close();
  });

  it("a task started in time is not expired", async () => {
    const queue = uniqueQueue("start-ok");
    const worker = createWorker({ address: ts.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await worker.start();
    try {
      const { task } = await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 400 }), startTimeout: ms(200) });
      const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
      expect(done.attempt).toBe(1);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });

  it("tells a worker that overruns the execution timeout to abort, and fails the attempt", async () => {
    const queue = uniqueQueue("timeout");
    const w = new RawWorker(ts.grpcAddress);
    await w.hello([queue]);
    const { task } = await ts.grpc.submitTask({ queue, type: "sleep", timeout: ms(100), retryPolicy: { maxAttempts: 1 } });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    // The worker keeps heartbeating but never answers: the timeout (plus grace) ends the lease.
    const beat = setInterval(() => w.send({ case: "heartbeat", value: { taskIds: [leased!.taskId] } }), 100);
    try {
      const cancel = await w.next((m) => m.message.case === "cancel", "cancel after the timeout", 8_000);
      expect(cancel.message.case === "cancel" && cancel.message.value.reason).toMatch(/timed out/);
      const dead = await waitForState(ts.grpc, task!.id, TaskState.DEAD);
      expect(dead.lastError?.type).toBe("TimeoutError");
      const { attempts } = await ts.grpc.getTask({ id: task!.id, includeAttempts: true });
      expect(attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.LEASE_EXPIRED]);
    } finally {
      clearInterval(beat);
      w.close();
    }
  });

  it("releases an idempotency key after its retention window", async () => {
    const queue = uniqueQueue("retention");
    const first = await ts.grpc.submitTask({ queue, type: "echo", idempotencyKey: "daily-report" });
    const again = await ts.grpc.submitTask({ queue, type: "echo", idempotencyKey: "daily-report" });
    expect(again.existing).toBe(true);
    // Retention is one hour in this server: age the first task past it.
    await ts.pool.query("update tasks set created_at = created_at - interval '61 minutes' where id = $1", [first.task!.id]);
    const later = await ts.grpc.submitTask({ queue, type: "echo", idempotencyKey: "daily-report" });
    expect(later.existing).toBe(false);
    expect(later.task!.id).not.toBe(first.task!.id);
  });

  it("deduplicates one key used twice inside one batch and by concurrent submits", async () => {
    const queue = uniqueQueue("dedupe");
    const results = await Promise.all(
      Array.from({ length: 8 }, () => ts.connect.submitTask({ queue, type: "echo", idempotencyKey: "same" })),
    );
    expect(new Set(results.map((r) => r.task!.id)).size).toBe(1);
    expect(results.filter((r) => !r.existing)).toHaveLength(1);
    const { rows } = await ts.pool.query("select count(*)::int as n from tasks where queue = $1", [queue]);
    expect(rows[0].n).toBe(1);
  });
});
