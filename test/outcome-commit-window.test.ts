import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/** A server with the given outcome window and a worker running its example handlers. */
async function startWithWindow(outcomeCommitWindowMs: number, queue: string): Promise<{ ts: TestServer; worker: Worker }> {
  const ts = await startTestServer({ outcomeCommitWindowMs });
  const worker = createWorker({ address: ts.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
  return { ts, worker };
}

/** The transaction that last wrote each task row (rows written by one commit share it). */
async function writingTransactions(ts: TestServer, ids: string[]): Promise<Set<string>> {
  const { rows } = await ts.pool.query<{ xmin: string }>("SELECT xmin::text AS xmin FROM tasks WHERE id = ANY($1::uuid[])", [ids]);
  expect(rows).toHaveLength(ids.length);
  return new Set(rows.map((r) => r.xmin));
}

/** Submits three echo tasks one after the other, calling `after` with each id; returns the ids. */
async function submitThree(ts: TestServer, queue: string, after: (id: string) => Promise<unknown> = async () => undefined): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ i }) });
    ids.push(task!.id);
    await after(task!.id);
  }
  return ids;
}

describe("outcome commit window (OUTCOME_COMMIT_WINDOW_MS)", () => {
  const windowed = uniqueQueue("outcome-window");
  const unwindowed = uniqueQueue("outcome-nowindow");
  let withWindow: { ts: TestServer; worker: Worker };
  let withoutWindow: { ts: TestServer; worker: Worker };

  beforeAll(async () => {
    [withWindow, withoutWindow] = await Promise.all([startWithWindow(8_000, windowed), startWithWindow(0, unwindowed)]);
  });

  afterAll(async () => {
    for (const s of [withWindow, withoutWindow]) {
      await s?.worker.stop({ timeoutMs: 2_000 });
      await s?.ts.stop();
    }
  });

  it("commits results that arrive one by one within the window in one transaction", async () => {
    const { ts } = withWindow;
    const ids = await submitThree(ts, windowed);
    for (const id of ids) await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
    expect((await writingTransactions(ts, ids)).size).toBe(1);
  });

  it("with a window of 0, commits a result that arrives alone on its own", async () => {
    const { ts } = withoutWindow;
    const ids = await submitThree(ts, unwindowed, (id) => waitForState(ts.grpc, id, TaskState.SUCCEEDED));
    expect((await writingTransactions(ts, ids)).size).toBe(3);
  });
});
