import { readFileSync, readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/*
 * The shipped Grafana dashboards and Prometheus alert rules only name metrics the server
 * really exports: every `taskqueue_*` name in them is found at /metrics after a short run
 * (promtool checks their syntax: scripts/check-monitoring.sh).
 */

const root = new URL("../", import.meta.url);
let ts: TestServer;
let worker: Worker;
const queue = uniqueQueue("assets");

beforeAll(async () => {
  ts = await startTestServer({ metricsRefreshMs: 100 });
  worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 2, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
  const ok = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ n: 1 }) });
  const dead = await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times: 1, retryable: false }) });
  await waitForState(ts.grpc, ok.task!.id, TaskState.SUCCEEDED);
  await waitForState(ts.grpc, dead.task!.id, TaskState.DEAD);
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
});

/** The `taskqueue_*` metric names a file's queries use, histogram series reduced to their metric. */
function metricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/\btaskqueue_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")));
}

const assets = [
  "deploy/prometheus/alerts.yml",
  ...readdirSync(new URL("deploy/grafana/dashboards/", root)).map((f) => `deploy/grafana/dashboards/${f}`),
];

describe("monitoring assets", () => {
  it.each(assets)("%s uses only metrics the server exports", async (asset) => {
    const exported = await (await fetch(`${ts.httpBaseUrl}/metrics`)).text();
    const types = new Set([...exported.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const used = metricNames(readFileSync(new URL(asset, root), "utf8"));
    expect(used.size).toBeGreaterThan(3);
    expect([...used].filter((name) => !types.has(name))).toEqual([]);
  });

  it("the dashboards and rules together cover the fixed per-queue metrics", () => {
    const used = new Set(assets.flatMap((a) => [...metricNames(readFileSync(new URL(a, root), "utf8"))]));
    for (const name of ["taskqueue_queue_tasks", "taskqueue_queue_oldest_task_age_seconds", "taskqueue_task_attempt_duration_seconds"]) {
      expect(used).toContain(name);
    }
  });
});
