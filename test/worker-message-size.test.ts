import { toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { ConnectResponseSchema, type ConnectResponse } from "../gen/taskqueue/v1/worker_service_pb.js";
import { RawBytesStream } from "./support/raw-bytes-stream.js";
import { RawWorker } from "./support/raw-worker.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * Message sizes on the worker stream: the welcome states the limits, assignments are split so
 * that a worker at gRPC's default 4 MiB receive limit takes large tasks, a payload that could
 * not fit in one message is refused at submit, and an attempt lost with its stream says why.
 */

const MiB = 1024 * 1024;
/** gRPC clients' default receive limit (grpc-go, grpcio, grpc-js). */
const DEFAULT_CLIENT_LIMIT = 4 * MiB;
let ts: TestServer;
const workers: RawWorker[] = [];
const rawStreams: RawBytesStream[] = [];

beforeAll(async () => {
  ts = await startTestServer({ defaultMaxAttempts: 3 });
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
  for (const s of rawStreams.splice(0)) s.close();
});

afterAll(async () => {
  await ts?.stop();
});

async function connected(queue: string, capacity = 10): Promise<RawWorker> {
  const w = new RawWorker(ts.grpcAddress, { readMaxBytes: DEFAULT_CLIENT_LIMIT });
  workers.push(w);
  await w.hello([queue], "size-worker", capacity);
  return w;
}

const assignments = (w: RawWorker) => w.received.filter((m) => m.message.case === "assignment");
const tasksIn = (m: ConnectResponse) => (m.message.case === "assignment" ? m.message.value.tasks : []);
const bytesOf = (m: ConnectResponse) => toBinary(ConnectResponseSchema, m).length;

/** Submits `count` tasks with opaque payloads of `bytes` bytes, one call each. */
async function submitBytes(queue: string, count: number, bytes: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { task } = await ts.grpc.submitTask({ queue, type: "blob", payloadData: { case: "payloadBytes", value: new Uint8Array(bytes).fill(i) } });
    ids.push(task!.id);
  }
  return ids;
}

describe("message sizes on the worker stream", () => {
  it("states the payload and message limits in the welcome", async () => {
    const w = await connected(uniqueQueue());
    const welcome = w.received[0]!.message;
    if (welcome.case !== "welcome") throw new Error("expected the welcome first");
    expect(welcome.value.maxPayloadBytes).toBe(MiB);
    expect(welcome.value.maxReceiveMessageBytes).toBe(4 * MiB);
    expect(welcome.value.maxSendMessageBytes).toBe(4 * MiB);
  });

  it("splits the tasks of one lease pass so that a worker at the default 4 MiB limit takes five 1 MB tasks", async () => {
    const queue = uniqueQueue("big");
    const w = await connected(queue);
    const ids = await submitBytes(queue, 5, 1_000_000);
    w.send({ case: "credit", value: { credits: 5 } });
    const got = await w.tasks(5);
    expect(got.map((t) => t.taskId).sort()).toEqual([...ids].sort());
    expect(w.ended).toBeUndefined();
    for (const m of assignments(w)) {
      expect(bytesOf(m)).toBeLessThanOrEqual(tasksIn(m).length > 1 ? MiB : 4 * MiB);
    }
    expect(got.every((t) => t.attempt === 1)).toBe(true);
  });

  it("groups smaller tasks into messages of at most 1 MiB", async () => {
    const queue = uniqueQueue("medium");
    const w = await connected(queue, 30);
    await submitBytes(queue, 30, 100_000);
    w.send({ case: "credit", value: { credits: 30 } });
    await w.tasks(30);
    const sent = assignments(w);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const m of sent) expect(bytesOf(m)).toBeLessThanOrEqual(MiB);
    // Splitting is by size, not one task per message.
    expect(sent.some((m) => tasksIn(m).length > 1)).toBe(true);
  });

  it("refuses at submit a JSON payload whose google.protobuf.Value form could not be sent in one message", async () => {
    const queue = uniqueQueue("json");
    // 1,000,001 bytes of JSON text (within MAX_PAYLOAD_BYTES), 5.5 MB as a Value.
    const body = JSON.stringify({ queue, type: "t", payload: new Array(500_000).fill(0) });
    const response = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(429);
    const error = (await response.json()) as { code: string; message: string };
    expect(error.code).toBe("resource_exhausted");
    expect(error.message).toMatch(/^payload: 5500005 bytes as a google\.protobuf\.Value exceeds the limit of 4128768 bytes/);
    expect((await ts.grpc.listTasks({ queue })).tasks).toHaveLength(0);
  });

  it("records in a lost attempt's error why its stream ended", async () => {
    const queue = uniqueQueue("lost");
    const [id] = await submitBytes(queue, 1, 10);
    const leasedTo = async (stream: RawBytesStream) =>
      stream.next((m) => m.message.case === "assignment" && m.message.value.tasks.length > 0, "the task");

    // A worker that resets its stream while it holds the task (as gRPC clients cancel).
    const cancelled = new RawBytesStream(ts.grpcAddress);
    rawStreams.push(cancelled);
    cancelled.send({ case: "hello", value: { workerId: "cancels", queues: [queue], capacity: 2 } });
    cancelled.send({ case: "credit", value: { credits: 1 } });
    await leasedTo(cancelled);
    cancelled.cancel();
    const requeued = await waitForState(ts.grpc, id!, TaskState.QUEUED, 10_000, 1);
    expect(requeued.lastError).toMatchObject({
      message: "worker stream ended while holding the task: the worker ended it (half-close, cancel or lost connection)",
      type: "LeaseLost",
    });

    // A worker whose stream the server ends for a bad message while it holds the task.
    const refused = new RawBytesStream(ts.grpcAddress);
    rawStreams.push(refused);
    refused.send({ case: "hello", value: { workerId: "refused", queues: [queue], capacity: 2 } });
    refused.send({ case: "credit", value: { credits: 1 } });
    await leasedTo(refused);
    refused.send({ case: "credit", value: { credits: 3 } });
    expect((await refused.status).code).toBe(Code.InvalidArgument);
    const { attempts } = await waitFor(
      async () => {
        const task = await ts.grpc.getTask({ id: id!, includeAttempts: true });
        return task.attempts.length === 2 && task.attempts[1]!.outcome === AttemptOutcome.WORKER_LOST ? task : undefined;
      },
      { timeoutMs: 10_000, message: "the second attempt to be lost" },
    );
    expect(attempts[1]!.error).toMatchObject({
      message: "worker stream ended while holding the task: INVALID_ARGUMENT: credit.credits: must be between 1 and the hello's capacity (2), got 3",
      type: "LeaseLost",
    });
  });
});
