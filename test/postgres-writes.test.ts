import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { newTaskId } from "../server/engine/ids.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { insertOrphanTask } from "./support/task-db.js";

let ts: TestServer;
let worker: Worker;
const queue = uniqueQueue("pg-writes");

beforeAll(async () => {
  ts = await startTestServer({ recoveryIntervalMs: 500 });
  worker = createWorker({ address: ts.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
});

describe("Postgres writes", () => {
  it("records outcomes as heap-only (HOT) updates, which write no index entry", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ i }) });
      ids.push(task!.id);
    }
    for (const id of ids) await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
    // A row version written by a HOT update carries the HEAP_ONLY_TUPLE flag (no index points
    // at it); read the flags of every row version on the table's pages.
    await ts.pool.query("CREATE EXTENSION IF NOT EXISTS pageinspect");
    const { rows } = await ts.pool.query<{ heap_only: string }>(`
      SELECT count(*) FILTER (WHERE (items.t_infomask2 & 32768) <> 0) AS heap_only
      FROM generate_series(0, (pg_relation_size('tasks') / current_setting('block_size')::int)::int - 1) AS page,
        LATERAL heap_page_items(get_raw_page('tasks', page)) AS items`);
    expect(Number(rows[0]!.heap_only)).toBeGreaterThanOrEqual(ids.length * 0.9);
  });

  it("runs the outcome function with its generic plan and key-lookup planner settings", async () => {
    // Without force_generic_plan, Postgres plans the function's statements anew on every call
    // (migration 0006); a later CREATE OR REPLACE that forgot the setting would fail here.
    const { rows } = await ts.pool.query<{ proconfig: string[] }>(
      "SELECT proconfig FROM pg_proc WHERE proname = 'tq_record_transitions'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.proconfig).toEqual(
      expect.arrayContaining([
        "plan_cache_mode=force_generic_plan",
        "enable_seqscan=off",
        "enable_hashjoin=off",
        "enable_mergejoin=off",
      ]),
    );
  });

  it("has the regular recovery sweep enqueue a recently created task Redis never got", async () => {
    // Created 2.5 s ago (its id says so), committed, but never enqueued: as after a crash
    // between the commit and the enqueue.
    const id = newTaskId(Date.now() - 2_500);
    await insertOrphanTask(ts.pool, id, queue, 2_500);
    const done = await waitForState(ts.grpc, id, TaskState.SUCCEEDED, 5_000);
    expect(done.attempt).toBe(1);
  });
});
