import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResultStatus, type TaskResult } from "../gen/taskqueue/v1/worker_service_pb.js";
import { NonRetryableError } from "./index.js";
import { nextEvent } from "./testing/deadline.js";
import { gate, leasedTask } from "./testing/fixtures.js";
import { collectResults, sendAcks, successOf, WorkerHarness } from "./testing/harness.js";

let harness: WorkerHarness;

beforeEach(async () => {
  harness = await WorkerHarness.start();
});

afterEach(async () => {
  await harness.close();
});

describe("worker session flow", () => {
  it("says hello, waits for the welcome, then grants its free slots", async () => {
    const { stream, hello } = await harness.connect({
      concurrency: 3,
      queues: ["q-flow"],
      workerId: "host-1/pid-1",
      labels: { region: "eu" },
      handlers: { echo: (task) => task.payload, other: () => null },
    });
    expect(hello.workerId).toBe("host-1/pid-1");
    expect(hello.queues).toEqual(["q-flow"]);
    expect(hello.taskTypes).toEqual(["echo", "other"]);
    expect(hello.capacity).toBe(3);
    expect(hello.labels).toEqual({ region: "eu" });
    expect(hello.sdk).toBe("taskqueue-ts/0.1.0");
    expect((await stream.expect("credit")).credits).toBe(3);
  });

  it("runs an assignment, reports its result, returns the credit and counts the ack", async () => {
    const { worker, stream } = await harness.connect({ concurrency: 2, handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "t1", payload: { to: "a@b.c" } })] } });
    const { results } = await stream.expect("results");
    expect(results).toHaveLength(1);
    expect(results[0].taskId).toBe("t1");
    expect(results[0].leaseToken).toBe("lease-t1");
    expect(successOf(results[0])).toEqual({ to: "a@b.c" });
    expect((await stream.expect("credit")).credits).toBe(1);
    const acked = nextEvent(worker, "ack", 2_000);
    sendAcks(stream, results);
    expect(await acked).toMatchObject({ taskId: "t1", status: "accepted", counts: { accepted: 1 } });
  });

  it("never has more tasks outstanding than the credits it granted", async () => {
    const gates = new Map([["t1", gate()], ["t2", gate()], ["t3", gate()]]);
    const { worker, stream } = await harness.connect({
      concurrency: 2,
      handlers: { block: (task) => gates.get(task.id)?.promise },
      heartbeatIntervalMs: 100,
    });
    let maxRunning = 0;
    worker.on("task:started", () => {
      maxRunning = Math.max(maxRunning, worker.stats().running);
    });
    expect((await stream.expect("credit")).credits).toBe(2);
    stream.send({
      case: "assignment",
      value: { tasks: [leasedTask({ id: "t1", type: "block" }), leasedTask({ id: "t2", type: "block" })] },
    });
    // With both slots busy the worker grants nothing: the next message is a heartbeat.
    const beat = await stream.next(3_000);
    expect(beat.message.case).toBe("heartbeat");
    expect(beat.message.value).toMatchObject({ taskIds: ["t1", "t2"] });
    expect(worker.stats().credit).toBe(0);

    gates.get("t1")?.open();
    expect((await stream.expect("results")).results.map((r) => r.taskId)).toEqual(["t1"]);
    expect((await stream.expect("credit")).credits).toBe(1);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "t3", type: "block" })] } });
    const next = await stream.next(3_000);
    expect(next.message.case).toBe("heartbeat");
    expect(next.message.value).toMatchObject({ taskIds: ["t2", "t3"] });
    expect(maxRunning).toBe(2);
  });

  it("keeps the slot of a timed-out handler until it returns", async () => {
    const release = gate();
    const { stream } = await harness.connect({
      concurrency: 1,
      heartbeatIntervalMs: 50,
      handlers: { deaf: async () => release.promise },
    });
    expect((await stream.expect("credit")).credits).toBe(1);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "z1", type: "deaf", timeoutMs: 30 })] } });
    const { results } = await stream.expect("results");
    expect(results[0].outcome).toMatchObject({ case: "failure", value: { type: "TimeoutError" } });
    // The handler ignores its signal: it still holds the only slot, so no credit comes.
    const beat = await stream.next();
    expect(beat.message).toMatchObject({ case: "heartbeat", value: { taskIds: [] } });
    release.open();
    expect((await stream.expect("credit")).credits).toBe(1);
  });

  it("reports a server that assigns more than its credit", async () => {
    const { worker, stream } = await harness.connect({ concurrency: 1, handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    const error = nextEvent(worker, "error", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "o1" }), leasedTask({ id: "o2" })] } });
    expect(await error).toMatchObject({ name: "ProtocolError" });
    expect((await collectResults(stream, 2)).size).toBe(2);
  });

  it("batches results finished in the same tick into one message, then one credit", async () => {
    const release = gate();
    const { stream } = await harness.connect({ concurrency: 5, handlers: { wait: async () => release.promise } });
    expect((await stream.expect("credit")).credits).toBe(5);
    const tasks = ["a", "b", "c", "d", "e"].map((id) => leasedTask({ id, type: "wait" }));
    stream.send({ case: "assignment", value: { tasks } });
    let started = 0;
    await new Promise<void>((resolve) => {
      // All five handlers are running once five task:started events fired.
      const off = harness.worker!.on("task:started", () => {
        if (++started === 5) {
          off();
          resolve();
        }
      });
    });
    release.open();
    const { results } = await stream.expect("results");
    expect(results.map((r) => r.taskId)).toEqual(["a", "b", "c", "d", "e"]);
    expect(results.every((r) => successOf(r) === null)).toBe(true);
    expect((await stream.expect("credit")).credits).toBe(5);
  });

  it("reports thrown errors with their name and non-retryable errors as such", async () => {
    class PaymentError extends Error {
      override name = "PaymentError";
    }
    const { stream } = await harness.connect({
      handlers: {
        boom: () => {
          throw new PaymentError("card declined");
        },
        bad: async () => {
          throw new NonRetryableError("no such user", { type: "NotFound" });
        },
      },
    });
    await stream.expect("credit");
    stream.send({
      case: "assignment",
      value: { tasks: [leasedTask({ id: "f1", type: "boom" }), leasedTask({ id: "f2", type: "bad" })] },
    });
    const seen = await collectResults(stream, 2);
    expect(seen.get("f1")?.outcome).toMatchObject({
      case: "failure",
      value: { message: "card declined", type: "PaymentError", nonRetryable: false },
    });
    expect(seen.get("f2")?.outcome).toMatchObject({
      case: "failure",
      value: { message: "no such user", type: "NotFound", nonRetryable: true },
    });
  });

  it("passes bytes through and reports results as bytes", async () => {
    const { stream } = await harness.connect({
      handlers: { bytes: (task) => new Uint8Array([...(task.payload as Uint8Array)].reverse()) },
    });
    await stream.expect("credit");
    stream.send({
      case: "assignment",
      value: { tasks: [leasedTask({ id: "b1", type: "bytes", payloadBytes: new Uint8Array([1, 2, 3]) })] },
    });
    const { results } = await stream.expect("results");
    expect(successOf(results[0])).toEqual(new Uint8Array([3, 2, 1]));
  });

  it("logs and counts stale and rejected acks", async () => {
    const { worker, stream } = await harness.connect({ handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    stream.send({
      case: "assignment",
      value: { tasks: [leasedTask({ id: "s1", payload: 1 }), leasedTask({ id: "s2", payload: 2 })] },
    });
    const results: TaskResult[] = [];
    while (results.length < 2) results.push(...(await stream.expect("results")).results);
    const second = nextEvent(worker, "ack", 2_000, (a) => a.taskId === "s2");
    sendAcks(stream, [results.find((r) => r.taskId === "s1")!], ResultStatus.STALE);
    sendAcks(stream, [results.find((r) => r.taskId === "s2")!], ResultStatus.REJECTED);
    expect((await second).counts).toEqual({ accepted: 0, stale: 1, rejected: 1 });
    expect(worker.stats().acks).toEqual({ accepted: 0, stale: 1, rejected: 1 });
  });
});
