import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TaskCancelledError, TaskTimeoutError } from "./index.js";
import { nextEvent } from "./testing/deadline.js";
import { aborted, gate, leasedTask } from "./testing/fixtures.js";
import { WorkerHarness } from "./testing/harness.js";

let harness: WorkerHarness;

beforeEach(async () => {
  harness = await WorkerHarness.start();
});

afterEach(async () => {
  await harness.close();
});

describe("task control", () => {
  it("aborts the handler's signal on cancel and still reports a result", async () => {
    const seen = gate<unknown>();
    const { worker, stream } = await harness.connect({
      handlers: {
        long: async (task) => {
          seen.open(await aborted(task.signal));
          throw task.signal.reason;
        },
      },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "c1", type: "long" })] } });
    await started;
    stream.send({ case: "cancel", value: { taskId: "c1", leaseToken: "lease-c1", reason: "user asked" } });
    const { results } = await stream.expect("results");
    expect(results[0]).toMatchObject({
      taskId: "c1",
      leaseToken: "lease-c1",
      outcome: { case: "failure", value: { message: "cancelled" } },
    });
    expect(await seen.promise).toBeInstanceOf(TaskCancelledError);
  });

  it("gives a handler that first looks at its signal after a cancel an aborted signal", async () => {
    const release = gate();
    const seen = gate<{ aborted: boolean; reason: unknown; same: boolean }>();
    const { worker, stream } = await harness.connect({
      handlers: {
        late: async (task) => {
          await release.promise;
          seen.open({ aborted: task.signal.aborted, reason: task.signal.reason, same: task.signal === task.signal });
        },
      },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "c0", type: "late" })] } });
    await started;
    stream.send({ case: "cancel", value: { taskId: "c0", leaseToken: "lease-c0", reason: "user asked" } });
    const { results } = await stream.expect("results");
    expect(results[0].outcome).toMatchObject({ case: "failure", value: { type: "CancelledError" } });
    release.open();
    const view = await seen.promise;
    expect(view).toMatchObject({ aborted: true, same: true });
    expect(view.reason).toBeInstanceOf(TaskCancelledError);
  });

  it("lets a handler destructure its context", async () => {
    const seen = gate<unknown[]>();
    const { stream } = await harness.connect({
      handlers: {
        parts: ({ id, payload, signal, progress, logger }) => {
          progress(50, "half");
          seen.open([id, payload, signal.aborted, typeof logger.info]);
        },
      },
    });
    await stream.expect("credit");
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "d1", type: "parts", payload: [1] })] } });
    expect(await stream.expect("progress")).toMatchObject({ taskId: "d1", percent: 50, message: "half" });
    expect(await seen.promise).toEqual(["d1", [1], false, "function"]);
  });

  it("ignores a cancel for another lease of the task", async () => {
    const release = gate();
    const { worker, stream } = await harness.connect({
      handlers: { long: async (task) => (await release.promise, task.signal.aborted) },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "c2", type: "long" })] } });
    await started;
    stream.send({ case: "cancel", value: { taskId: "c2", leaseToken: "an-old-lease", reason: "stale" } });
    stream.send({ case: "heartbeatAck", value: {} });
    release.open();
    const { results } = await stream.expect("results");
    expect(results[0].outcome).toMatchObject({ case: "success" });
  });

  it("aborts a task at its timeout and reports a retryable TimeoutError", async () => {
    let reason: unknown;
    const { stream } = await harness.connect({
      handlers: {
        slow: async (task) => {
          reason = await aborted(task.signal);
          return "too late";
        },
      },
    });
    await stream.expect("credit");
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "to1", type: "slow", timeoutMs: 50 })] } });
    const { results } = await stream.expect("results");
    expect(results[0].outcome).toMatchObject({
      case: "failure",
      value: { type: "TimeoutError", nonRetryable: false },
    });
    expect(reason).toBeInstanceOf(TaskTimeoutError);
  });

  it("throttles progress reports and delivers the latest one", async () => {
    const release = gate();
    const { stream } = await harness.connect({
      progressIntervalMs: 100,
      handlers: {
        steps: async (task) => {
          for (let percent = 10; percent <= 50; percent += 10) task.progress(percent, `step ${percent}`);
          await release.promise;
        },
      },
    });
    await stream.expect("credit");
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "p1", type: "steps" })] } });
    const first = await stream.next();
    expect(first.message).toMatchObject({ case: "progress", value: { taskId: "p1", percent: 10 } });
    const last = await stream.next();
    expect(last.message).toMatchObject({
      case: "progress",
      value: { taskId: "p1", leaseToken: "lease-p1", percent: 50, message: "step 50" },
    });
    release.open();
    await stream.expect("results");
    const progress = stream.received.filter((r) => r.message.case === "progress");
    expect(progress).toHaveLength(2);
  });

  it("fails tasks of unknown types without running anything", async () => {
    const { stream } = await harness.connect({ handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "u1", type: "nope" })] } });
    const { results } = await stream.expect("results");
    expect(results[0].outcome).toMatchObject({ case: "failure", value: { type: "UnknownTaskTypeError" } });
  });

  it("gives the handler its task's fields", async () => {
    const seen = gate<Record<string, unknown>>();
    const { stream } = await harness.connect({
      handlers: {
        look: (task) => {
          seen.open({ ...task, signal: undefined, logger: undefined, progress: undefined });
        },
      },
    });
    await stream.expect("credit");
    stream.send({
      case: "assignment",
      value: { tasks: [leasedTask({ id: "l1", type: "look", queue: "q-look", payload: { n: 1 }, attempt: 2, timeoutMs: 5_000 })] },
    });
    expect(await seen.promise).toMatchObject({
      id: "l1",
      queue: "q-look",
      type: "look",
      payload: { n: 1 },
      attempt: 2,
      maxAttempts: 3,
      leaseToken: "lease-l1",
      labels: { origin: "test" },
      timeoutMs: 5_000,
    });
  });
});
