import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/*
 * The per-queue metrics after a short real run: depth gauges from Redis' counters and the
 * dead-letter table, the attempt duration histogram by queue, type and outcome, retries,
 * dead letters, and the latency of the server's Redis and Postgres calls (group commits and
 * the reads of GetTask and ListTasks).
 */

let ts: TestServer;
let worker: Worker;
const served = uniqueQueue("obs-served");
const idle = uniqueQueue("obs-idle");

beforeAll(async () => {
  ts = await startTestServer({ defaultInitialBackoffMs: 20, defaultMaxBackoffMs: 50, metricsRefreshMs: 100 });
  worker = createWorker({ address: ts.grpcAddress, queues: [served], concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${ts.httpBaseUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of the sample whose name and labels are exactly `series`, or NaN. */
function sample(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return Number.NaN;
}

describe("per-queue metrics", () => {
  it("counts attempts by outcome, retries and dead letters, and times attempts by queue and type", async () => {
    const submit = (type: string, payload: Record<string, number | boolean>) => ts.grpc.submitTask({ queue: served, type, payloadData: jsonPayload(payload) });
    const echoes = await Promise.all([1, 2, 3].map((n) => submit("echo", { n })));
    const retried = await submit("fail", { times: 1 });
    const dead = await submit("fail", { times: 1, retryable: false });
    for (const { task } of echoes) await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    await waitForState(ts.grpc, retried.task!.id, TaskState.SUCCEEDED);
    await waitForState(ts.grpc, dead.task!.id, TaskState.DEAD);

    const q = `queue="${served}"`;
    // The gauges are refreshed every 100 ms here, each from one read of Redis and Postgres:
    // wait for a refresh made after every task finished.
    const text = await waitFor(
      async () => {
        const t = await scrape();
        const settled = ["queued", "scheduled", "running"].every((state) => sample(t, `taskqueue_queue_tasks{${q},state="${state}"}`) === 0);
        return settled && sample(t, `taskqueue_queue_tasks{${q},state="dead"}`) === 1 ? t : undefined;
      },
      { timeoutMs: 10_000, message: "the depth gauges to show the dead letter and nothing unfinished" },
    );
    expect(sample(text, `taskqueue_task_attempt_duration_seconds_count{${q},type="echo",outcome="succeeded"}`)).toBe(3);
    expect(sample(text, `taskqueue_task_attempt_duration_seconds_count{${q},type="fail",outcome="failed"}`)).toBe(1);
    expect(sample(text, `taskqueue_task_attempt_duration_seconds_count{${q},type="fail",outcome="succeeded"}`)).toBe(1);
    expect(sample(text, `taskqueue_task_attempt_duration_seconds_count{${q},type="fail",outcome="fatal"}`)).toBe(1);
    expect(sample(text, `taskqueue_task_attempt_duration_seconds_bucket{le="3600",${q},type="echo",outcome="succeeded"}`)).toBe(3);
    expect(sample(text, `taskqueue_tasks_finished_total{${q},outcome="succeeded"}`)).toBe(4);
    expect(sample(text, `taskqueue_tasks_finished_total{${q},outcome="dead"}`)).toBe(1);
    expect(sample(text, `taskqueue_task_retries_total{${q}}`)).toBe(1);
    expect(sample(text, `taskqueue_tasks_dead_lettered_total{${q}}`)).toBe(1);
    for (const state of ["queued", "scheduled", "running"]) expect(sample(text, `taskqueue_queue_tasks{${q},state="${state}"}`)).toBe(0);
    expect(sample(text, `taskqueue_queue_oldest_task_age_seconds{${q}}`)).toBe(0);
    expect(sample(text, `taskqueue_queue_workers{${q}}`)).toBe(1);
  });

  it("shows the depth and the oldest task's age of a queue nobody serves", async () => {
    const before = Date.now();
    await ts.grpc.submitTasks({ tasks: [1, 2, 3].map(() => ({ queue: idle, type: "echo" })) });
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return sample(t, `taskqueue_queue_tasks{queue="${idle}",state="queued"}`) === 3 ? t : undefined;
      },
      { timeoutMs: 10_000, message: "the depth gauge to show the queued tasks" },
    );
    const age = await waitFor(
      async () => {
        const a = sample(await scrape(), `taskqueue_queue_oldest_task_age_seconds{queue="${idle}"}`);
        return a > 0 ? a : undefined;
      },
      { timeoutMs: 10_000, message: "the oldest task's age to grow" },
    );
    expect(age).toBeLessThanOrEqual((Date.now() - before) / 1000 + 1);
    expect(sample(text, `taskqueue_queue_tasks{queue="${idle}",state="running"}`)).toBe(0);
    expect(sample(text, `taskqueue_queue_workers{queue="${idle}"}`)).toBeNaN();
  });

  it("times the Redis script calls, the Postgres group commits and the reads of GetTask and ListTasks", async () => {
    const before = await scrape();
    const reads = (text: string, query: string) => sample(text, `taskqueue_postgres_query_duration_seconds_count{query="${query}"}`);
    const { task } = await ts.grpc.submitTask({ queue: idle, type: "echo", payloadData: jsonPayload({}) });
    await ts.grpc.getTask({ id: task!.id, includeAttempts: true });
    await ts.grpc.listTasks({ queue: idle });
    const text = await scrape();
    for (const query of ["get_task", "task_attempts", "list_tasks"]) {
      expect(reads(text, query), query).toBeGreaterThan(reads(before, query) || 0);
      expect(sample(text, `taskqueue_postgres_query_errors_total{query="${query}"}`), query).toBe(0);
    }
    expect(sample(text, `taskqueue_redis_call_duration_seconds_count{script="enqueue"}`)).toBeGreaterThan(0);
    expect(sample(text, `taskqueue_redis_call_duration_seconds_count{script="complete"}`)).toBeGreaterThan(0);
    expect(sample(text, `taskqueue_redis_call_errors_total{script="lease"}`)).toBe(0);
    expect(sample(text, `taskqueue_group_commit_batch_size_count{writer="task_insert"}`)).toBeGreaterThan(0);
    expect(sample(text, `taskqueue_group_commit_duration_seconds_count{writer="transition_write"}`)).toBeGreaterThan(0);
    expect(sample(text, `taskqueue_group_commit_errors_total{writer="task_insert"}`)).toBe(0);
    expect(sample(text, "taskqueue_connected_workers")).toBe(1);
  });
});
