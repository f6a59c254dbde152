import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WorkerOptionsError } from "./index.js";
import { nextEvent, withDeadline } from "./testing/deadline.js";
import { WorkerHarness } from "./testing/harness.js";

let harness: WorkerHarness;

beforeEach(async () => {
  harness = await WorkerHarness.start();
});

afterEach(async () => {
  await harness.close();
});

const handlers = { echo: (task: { payload: unknown }) => task.payload };

describe("queue names", () => {
  it.each(["my queue", "", "a".repeat(129), "q/1"])("rejects %j at start, before any connection", async (queue) => {
    const worker = harness.create({ handlers, queues: ["ok", queue] });
    const error = await worker.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerOptionsError);
    expect((error as WorkerOptionsError).field).toBe("queues[1]");
    const problem = queue === "" ? "must not be empty" : "must be 1-128 characters of letters, digits and . _ : -";
    expect((error as Error).message).toContain(problem);
    if (queue === "my queue") expect((error as Error).message).toBe('queues[1]: "my queue" must be 1-128 characters of letters, digits and . _ : -');
    expect(harness.server.streams).toHaveLength(0);
  });

  it("accepts every character of the server's rule", async () => {
    const { hello } = await harness.connect({ handlers, queues: ["A-z_0.9:x", "b".repeat(128)] });
    expect(hello.queues).toEqual(["A-z_0.9:x", "b".repeat(128)]);
  });
});

describe("a refused hello", () => {
  it.each([
    [Code.InvalidArgument, "hello.capacity: must be between 1 and 5, got 10"],
    [Code.FailedPrecondition, "hello.worker_id: refused"],
  ])("with code %s rejects start() with the server's error and opens no second stream", async (code, message) => {
    const worker = harness.create({ handlers });
    let reconnects = 0;
    worker.on("reconnecting", () => reconnects++);
    const stopped = nextEvent(worker, "stopped", 2_000);
    const started = worker.start();
    const stream = await harness.server.nextStream();
    await stream.expect("hello");
    stream.fail(new ConnectError(message, code));

    const error = await withDeadline(started.catch((e: unknown) => e), 2_000, "start() to reject");
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(code);
    expect((error as ConnectError).rawMessage).toBe(message);
    expect((await stopped).error).toBe(error);
    // The worker's loop has returned before start() rejected: nothing is left to reconnect.
    expect(reconnects).toBe(0);
    expect(harness.server.streams).toHaveLength(1);
    await withDeadline(worker.stop(), 1_000, "stop() of a stopped worker");
    await expect(worker.start()).rejects.toBe(error);
  });

  it("on a later reconnect stops the worker with the error in its stopped event", async () => {
    const { worker, stream } = await harness.connect({ handlers });
    await stream.expect("credit");
    const stopped = nextEvent(worker, "stopped", 2_000);
    stream.end();
    const second = await harness.server.nextStream();
    await second.expect("hello");
    second.fail(new ConnectError("hello.queues[0]: gone", Code.InvalidArgument));

    const { error } = await stopped;
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect(worker.stats().connected).toBe(false);
    expect(harness.server.streams).toHaveLength(2);
  });

  it("is retried when the code says the server may accept it later (UNAVAILABLE)", async () => {
    const worker = harness.create({ handlers });
    const started = worker.start();
    const first = await harness.server.nextStream();
    await first.expect("hello");
    first.fail(new ConnectError("draining", Code.Unavailable));
    const second = await harness.server.nextStream();
    await second.expect("hello");
    second.welcome();
    await withDeadline(started, 2_000, "start()");
  });

  it("is told apart from a stream that fails after the welcome, which is retried", async () => {
    const { worker, stream } = await harness.connect({ handlers });
    await stream.expect("credit");
    const disconnected = nextEvent(worker, "disconnected", 2_000);
    stream.fail(new ConnectError("credit.credits: must be between 1 and 10, got 11", Code.InvalidArgument));
    expect(await disconnected).toMatchObject({ reason: "failed", welcomed: true });
    const second = await harness.server.nextStream();
    await second.expect("hello");
  });
});
