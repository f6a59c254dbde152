import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConnectionLostError } from "./index.js";
import { nextEvent, withDeadline } from "./testing/deadline.js";
import { aborted, gate, leasedTask } from "./testing/fixtures.js";
import { sendAcks, WorkerHarness } from "./testing/harness.js";
import { startScriptedServer } from "./testing/scripted-server.js";

let harness: WorkerHarness;

beforeEach(async () => {
  harness = await WorkerHarness.start();
});

afterEach(async () => {
  await harness.close();
});

describe("reconnect", () => {
  it("reconnects after the server ends the stream and drops the lost task's result", async () => {
    const lostReason = gate<unknown>();
    const { worker, stream } = await harness.connect({
      concurrency: 2,
      handlers: {
        long: async (task) => {
          lostReason.open(await aborted(task.signal));
          return "finished anyway";
        },
      },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "r1", type: "long" })] } });
    await started;

    const lost = nextEvent(worker, "task:lost", 2_000);
    const disconnected = nextEvent(worker, "disconnected", 2_000);
    const reconnecting = nextEvent(worker, "reconnecting", 2_000);
    stream.end();
    expect(await lost).toMatchObject({ task: { id: "r1" }, reason: "connection lost" });
    expect(await disconnected).toMatchObject({ reason: "ended", welcomed: true, lostTasks: 1 });
    expect((await reconnecting).attempt).toBe(1);
    expect(await lostReason.promise).toBeInstanceOf(ConnectionLostError);

    const second = await harness.server.nextStream();
    await second.expect("hello");
    second.welcome({ heartbeatIntervalMs: 50 });
    expect((await second.expect("credit")).credits).toBe(2);
    // The next message is a heartbeat with nothing running: no result for the lost lease.
    const beat = await second.next();
    expect(beat.message).toMatchObject({ case: "heartbeat", value: { taskIds: [] } });
  });

  it("reconnects to a server restarted on the same address", async () => {
    const { worker, stream } = await harness.connect({ handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    const port = Number(harness.server.address.split(":")[1]);
    const disconnected = nextEvent(worker, "disconnected", 2_000);
    await harness.server.close();
    await disconnected;
    const restarted = await startScriptedServer(port);
    try {
      const second = await restarted.nextStream();
      await second.expect("hello");
      const welcomed = nextEvent(worker, "welcome", 2_000);
      second.welcome({ sessionId: "session-2" });
      expect((await welcomed).sessionId).toBe("session-2");
      expect((await second.expect("credit")).credits).toBe(10);
    } finally {
      await worker.stop({ timeoutMs: 200 });
      await restarted.close();
    }
  });

  it("reports a stream error and reconnects", async () => {
    const { worker, stream } = await harness.connect({ handlers: { echo: (task) => task.payload } });
    await stream.expect("credit");
    const error = nextEvent(worker, "error", 2_000);
    const disconnected = nextEvent(worker, "disconnected", 2_000);
    stream.fail(new ConnectError("restarting", Code.Unavailable));
    expect(await error).toMatchObject({ code: Code.Unavailable });
    expect(await disconnected).toMatchObject({ reason: "failed" });
    const second = await harness.server.nextStream();
    await second.expect("hello");
  });

  it("drops a server that stays silent for three heartbeat intervals", async () => {
    const { worker, stream } = await harness.connect({
      handlers: { echo: (task) => task.payload },
      heartbeatIntervalMs: 30,
      answerHeartbeats: false,
    });
    await stream.expect("credit");
    const disconnected = await nextEvent(worker, "disconnected", 2_000);
    expect(disconnected).toMatchObject({ reason: "deaf", welcomed: true });
    const beats = stream.received.filter((r) => r.message.case === "heartbeat");
    expect(beats.length).toBeGreaterThanOrEqual(2);
    const second = await harness.server.nextStream();
    await second.expect("hello");
  });

  it("gives up on a server that never welcomes", async () => {
    const worker = harness.create({ handlers: { echo: (task) => task.payload }, welcomeTimeoutMs: 100 });
    const disconnected = nextEvent(worker, "disconnected", 2_000);
    const started = worker.start();
    const first = await harness.server.nextStream();
    await first.expect("hello");
    expect(await disconnected).toMatchObject({ reason: "deaf", welcomed: false });
    const second = await harness.server.nextStream();
    await second.expect("hello");
    second.welcome();
    await withDeadline(started, 2_000, "start()");
  });

  it("keeps retrying with growing delays while the server is down, and stops cleanly", async () => {
    await harness.server.close();
    const worker = harness.create({
      handlers: { echo: (task) => task.payload },
      reconnect: { initialDelayMs: 5, maxDelayMs: 40 },
    });
    const delays: number[] = [];
    worker.on("reconnecting", (event) => delays.push(event.delayMs));
    const started = worker.start();
    await nextEvent(worker, "reconnecting", 5_000, (event) => event.attempt === 6);
    expect(delays.slice(0, 6).every((d, i) => d >= Math.min(40, 5 * 2 ** i) / 2 && d <= 40)).toBe(true);
    await worker.stop({ timeoutMs: 1_000 });
    await withDeadline(started, 1_000, "start() to settle after stop");
  });
});

describe("server drain", () => {
  it("stops taking work, finishes what it holds, then lets the stream end and reconnects", async () => {
    const release = gate();
    const { worker, stream } = await harness.connect({
      concurrency: 2,
      handlers: { wait: async () => (await release.promise, "done") },
    });
    expect((await stream.expect("credit")).credits).toBe(2);
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "d1", type: "wait" })] } });
    await started;
    const drained = nextEvent(worker, "drain", 2_000);
    stream.send({
      case: "drain",
      value: { reason: "restarting", deadline: { seconds: BigInt(Math.floor(Date.now() / 1000) + 10) } },
    });
    expect(await drained).toMatchObject({ reason: "restarting" });
    release.open();
    const { results } = await stream.expect("results");
    expect(results.map((r) => r.taskId)).toEqual(["d1"]);
    const disconnected = nextEvent(worker, "disconnected", 2_000);
    sendAcks(stream, results);
    await stream.requestEnd();
    expect(await disconnected).toMatchObject({ reason: "drained", lostTasks: 0 });
    expect(stream.received.filter((r) => r.message.case === "credit")).toHaveLength(1);
    const second = await harness.server.nextStream();
    await second.expect("hello");
  });
});
