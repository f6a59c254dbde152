import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConnectResponse, LeasedTask } from "../gen/taskqueue/v1/worker_service_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { createWorker } from "../worker/index.js";
import { RawBytesStream } from "./support/raw-bytes-stream.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload } from "./support/tasks.js";
import { waitFor } from "./support/wait-for.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * Flow control: a stream's capacity is a hard cap on what it holds and on the credit it can
 * bank, credit values out of range (also past 32 bits) end the stream, and a lease pass
 * spreads a partial supply over the streams of a queue.
 */

const MAX_CAPACITY = 50;
let ts: TestServer;
const workers: RawWorker[] = [];
const rawStreams: RawBytesStream[] = [];

beforeAll(async () => {
  ts = await startTestServer({ maxWorkerCapacity: MAX_CAPACITY });
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
  for (const s of rawStreams.splice(0)) s.close();
});

afterAll(async () => {
  await ts?.stop();
});

function rawBytesStream(): RawBytesStream {
  const stream = new RawBytesStream(ts.grpcAddress);
  rawStreams.push(stream);
  return stream;
}

function rawWorker(): RawWorker {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  return w;
}

async function connected(queue: string, workerId: string, capacity: number): Promise<RawWorker> {
  const w = rawWorker();
  await w.hello([queue], workerId, capacity);
  return w;
}

async function submit(queue: string, count: number): Promise<string[]> {
  const { results } = await ts.grpc.submitTasks({
    tasks: Array.from({ length: count }, (_, i) => ({ queue, type: "echo", payloadData: jsonPayload(i) })),
  });
  return results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));
}

/** Reports `tasks` done on `w` and waits for their acks. */
async function complete(w: RawWorker, tasks: LeasedTask[]): Promise<void> {
  const from = w.received.length;
  w.send({
    case: "results",
    value: { results: tasks.map((t) => ({ taskId: t.taskId, leaseToken: t.leaseToken, outcome: { case: "success" as const, value: {} } })) },
  });
  await w.next((m) => m.message.case === "acks" && m.message.value.acks.length === tasks.length, "acks", 10_000, from);
}

describe("worker capacity and credits", () => {
  it("refuses a hello whose capacity is 0 or above MAX_WORKER_CAPACITY, naming hello.capacity", async () => {
    for (const capacity of [0, -1, MAX_CAPACITY + 1]) {
      const w = rawWorker();
      w.send({ case: "hello", value: { workerId: "w", queues: [uniqueQueue()], capacity } });
      const error = await w.end();
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.rawMessage).toBe(`hello.capacity: must be between 1 and ${MAX_CAPACITY}, got ${capacity}`);
    }
    await connected(uniqueQueue(), "at-the-cap", MAX_CAPACITY);
  });

  it("makes the TypeScript SDK's start() reject, naming hello.capacity, when its concurrency is above the cap", async () => {
    const worker = createWorker({
      address: ts.grpcAddress,
      queues: [uniqueQueue()],
      concurrency: MAX_CAPACITY + 1,
      handlers: { echo: (task) => task.payload },
      logger: createLogger({ level: "silent" }),
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    let reconnects = 0;
    worker.on("reconnecting", () => reconnects++);
    try {
      const error = await worker.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.InvalidArgument);
      expect((error as ConnectError).rawMessage).toBe(`hello.capacity: must be between 1 and ${MAX_CAPACITY}, got ${MAX_CAPACITY + 1}`);
      expect(reconnects).toBe(0);
    } finally {
      await worker.stop({ timeoutMs: 200 });
    }
  });

  it("refuses a single grant above the capacity, naming credit.credits", async () => {
    const w = await connected(uniqueQueue(), "w", 3);
    w.send({ case: "credit", value: { credits: 4 } });
    const error = await w.end();
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toBe("credit.credits: must be between 1 and the hello's capacity (3), got 4");
  });

  it("refuses credits and a capacity whose varint does not fit 32 bits instead of reading their low bits", async () => {
    const wide = 2n ** 32n + 1n;
    const hello = (capacity: bigint) =>
      new BinaryWriter().tag(1, 2).fork().tag(1, 2).string("w").tag(2, 2).string(uniqueQueue()).tag(4, 0).uint64(capacity).join().finish();
    const isWelcome = (m: ConnectResponse) => m.message.case === "welcome";

    const credit = rawBytesStream();
    credit.write(hello(10n));
    await credit.next(isWelcome, "welcome");
    credit.write(new BinaryWriter().tag(2, 2).fork().tag(1, 0).uint64(wide).join().finish());
    const creditStatus = await credit.status;
    expect(creditStatus.code).toBe(Code.InvalidArgument);
    expect(creditStatus.details).toBe("credit.credits: must be between 1 and the hello's capacity (10), got 4294967297");

    const capacity = rawBytesStream();
    capacity.write(hello(wide));
    const capacityStatus = await capacity.status;
    expect(capacityStatus.code).toBe(Code.InvalidArgument);
    expect(capacityStatus.details).toBe(`hello.capacity: must be between 1 and ${MAX_CAPACITY}, got 4294967297`);

    // The same frames with small values are fine.
    const fine = rawBytesStream();
    fine.write(hello(2n));
    await fine.next(isWelcome, "welcome");
    fine.send({ case: "credit", value: { credits: 2 } });
    fine.end();
    expect((await fine.status).code).toBe(GrpcStatus.OK);
  });

  it("caps a stream's unused credit at its capacity: grants beyond it are dropped, not banked", async () => {
    const queue = uniqueQueue("bank");
    const greedy = await connected(queue, "greedy", 2);
    // Five grants of 2: valid one by one, but at most 2 unused credits are kept.
    for (let i = 0; i < 5; i++) await greedy.sendAndSync({ case: "credit", value: { credits: 2 } });
    await submit(queue, 2);
    await complete(greedy, await greedy.tasks(2));
    // The greedy stream holds nothing and has no credit left: had it banked the excess, it
    // would take a share of these four.
    const honest = await connected(queue, "honest", 2);
    await honest.sendAndSync({ case: "credit", value: { credits: 2 } });
    const ids = await submit(queue, 4);
    await complete(honest, await honest.tasks(2));
    honest.send({ case: "credit", value: { credits: 2 } });
    const got = await honest.tasks(4);
    expect(got.map((t) => t.taskId).sort()).toEqual([...ids].sort());
    expect(greedy.received.flatMap((m) => (m.message.case === "assignment" ? m.message.value.tasks : []))).toHaveLength(2);
  });

  it("spreads a partial supply over every stream of the queue in one lease pass", async () => {
    const queue = uniqueQueue("rotation");
    const streams = [await connected(queue, "w10a", 10), await connected(queue, "w10b", 10), await connected(queue, "w4", 4)];
    for (const [i, w] of streams.entries()) await w.sendAndSync({ case: "credit", value: { credits: [10, 10, 4][i]! } });
    // 20 tasks for 24 credits: one enqueue, one lease pass.
    await submit(queue, 20);
    const count = (w: RawWorker) => w.received.flatMap((m) => (m.message.case === "assignment" ? m.message.value.tasks : [])).length;
    await waitFor(() => streams.reduce((n, w) => n + count(w), 0) === 20, { timeoutMs: 10_000, message: "all 20 tasks to be leased" });
    const counts = streams.map(count);
    expect(counts.every((n) => n > 0)).toBe(true);
    expect(counts).toEqual([8, 8, 4]);
  });
});
