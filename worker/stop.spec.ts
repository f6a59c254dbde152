import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWorker, WorkerOptionsError, WorkerStoppingError } from "./index.js";
import { nextEvent, withDeadline } from "./testing/deadline.js";
import { aborted, gate, leasedTask, testLogger } from "./testing/fixtures.js";
import { sendAcks, WorkerHarness } from "./testing/harness.js";

let harness: WorkerHarness;

beforeEach(async () => {
  harness = await WorkerHarness.start();
});

afterEach(async () => {
  await harness.close();
});

describe("graceful stop", () => {
  it("announces draining, keeps heartbeating and waits for the running task and its ack", async () => {
    const release = gate();
    const { worker, stream } = await harness.connect({
      concurrency: 3,
      heartbeatIntervalMs: 50,
      handlers: { wait: async () => (await release.promise, "done") },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "g1", type: "wait" })] } });
    await started;

    let stopped = false;
    const stopping = worker.stop({ timeoutMs: 10_000 }).then(() => {
      stopped = true;
    });
    expect(await stream.expect("draining")).toMatchObject({ reason: "worker stopping" });
    const beat = await stream.next();
    expect(beat.message).toMatchObject({ case: "heartbeat", value: { taskIds: ["g1"] } });
    expect(stopped).toBe(false);

    release.open();
    const { results } = await stream.expect("results");
    expect(results.map((r) => r.taskId)).toEqual(["g1"]);
    expect(stopped).toBe(false);
    expect(stream.requestsEnded).toBe(false);
    sendAcks(stream, results);
    await stream.requestEnd();
    await withDeadline(stopping, 2_000, "stop()");
    // No credit was granted once stopping began.
    const afterDraining = stream.received.slice(stream.received.findIndex((r) => r.message.case === "draining"));
    expect(afterDraining.some((r) => r.message.case === "credit")).toBe(false);
  });

  it("aborts what is still running at the timeout, then closes", async () => {
    const reason = gate<unknown>();
    const { worker, stream } = await harness.connect({
      handlers: {
        stubborn: async (task) => {
          reason.open(await aborted(task.signal));
        },
      },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "s1", type: "stubborn" })] } });
    await started;
    const lost = nextEvent(worker, "task:lost", 2_000);
    await withDeadline(worker.stop({ timeoutMs: 100 }), 2_000, "stop()");
    expect(await reason.promise).toBeInstanceOf(WorkerStoppingError);
    expect(await lost).toMatchObject({ task: { id: "s1" }, reason: "worker stopping" });
    expect(stream.received.some((r) => r.message.case === "results")).toBe(false);
    expect(worker.stats().running).toBe(0);
  });

  it("emits stopped without an error once a graceful stop is done", async () => {
    const { worker, stream } = await harness.connect({ handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    const stopped = nextEvent(worker, "stopped", 2_000);
    await withDeadline(worker.stop({ timeoutMs: 100 }), 2_000, "stop()");
    expect(await stopped).toEqual({ error: undefined });
  });

  it("stops a worker that never started, and start() rejects bad options", async () => {
    const idle = createWorker({ address: harness.server.address, queues: ["q"], handlers: { a: () => 1 }, logger: testLogger() });
    await idle.stop();
    const bad = createWorker({ queues: [], handlers: { a: () => 1 }, logger: testLogger() });
    await expect(bad.start()).rejects.toBeInstanceOf(WorkerOptionsError);
    await expect(bad.start()).rejects.toMatchObject({ field: "queues" });
    const noHandlers = createWorker({ queues: ["q"], handlers: {}, logger: testLogger() });
    await expect(noHandlers.start()).rejects.toMatchObject({ field: "handlers" });
  });
});
