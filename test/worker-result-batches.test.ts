import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { createWorker, type Worker } from "../worker/index.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * The TypeScript SDK keeps each results message within the server's receive limit (4 MiB
 * here, stated in the welcome): results finishing together are split over several messages,
 * and a result too large for any message fails its task instead of the whole stream.
 */

const MiB = 1024 * 1024;
let ts: TestServer;
const workers: Worker[] = [];

beforeAll(async () => {
  // The defaults: results up to 1 MiB, requests up to 4 MiB.
  ts = await startTestServer();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 2_000 })));
});

afterAll(async () => {
  await ts?.stop();
});

/** A worker whose `big` handlers all return together, once `together` of them run. */
async function startWorker(queue: string, together: number): Promise<{ worker: Worker; failures: unknown[] }> {
  let started = 0;
  let release!: () => void;
  const allStarted = new Promise<void>((resolve) => (release = resolve));
  const worker = createWorker({
    address: ts.grpcAddress,
    queues: [queue],
    concurrency: together,
    logger: createLogger({ level: "silent" }),
    handlers: {
      async big(task) {
        if (++started === together) release();
        await allStarted;
        const { bytes } = task.payload as { bytes: number };
        return new Uint8Array(bytes).fill(7);
      },
    },
  });
  const failures: unknown[] = [];
  worker.on("disconnected", (end) => failures.push(end.error ?? end.reason));
  workers.push(worker);
  await worker.start();
  return { worker, failures };
}

async function submitBig(queue: string, sizes: number[]): Promise<string[]> {
  const { results } = await ts.grpc.submitTasks({
    tasks: sizes.map((bytes) => ({ queue, type: "big", payloadData: { case: "payload" as const, value: { kind: { case: "structValue" as const, value: { fields: { bytes: { kind: { case: "numberValue" as const, value: bytes } } } } } } } })),
  });
  return results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));
}

describe("results messages within the server's limit", () => {
  it("splits five ~1 MB results that finish together over several messages", async () => {
    const queue = uniqueQueue("results");
    const { failures } = await startWorker(queue, 5);
    const ids = await submitBig(queue, [1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    for (const id of ids) {
      const done = await waitForState(ts.grpc, id, TaskState.SUCCEEDED, 20_000);
      expect(done.attempt).toBe(1);
      expect(done.resultData.case === "resultBytes" && done.resultData.value.length).toBe(1_000_000);
    }
    expect(failures).toEqual([]);
  });

  it("fails a result too large for any message, and only that task", async () => {
    const queue = uniqueQueue("too-large");
    const { failures } = await startWorker(queue, 2);
    const [huge, small] = await submitBig(queue, [4 * MiB + 10, 10]);
    const dead = await waitForState(ts.grpc, huge!, TaskState.DEAD, 20_000);
    expect(dead.attempt).toBe(1);
    expect(dead.lastError).toMatchObject({ type: "ResultTooLarge", nonRetryable: true });
    expect(dead.lastError?.message).toBe(`result too large to send: the server accepts messages of at most ${4 * MiB} bytes`);
    expect((await waitForState(ts.grpc, small!, TaskState.SUCCEEDED, 20_000)).attempt).toBe(1);
    expect(failures).toEqual([]);
  });
});
