import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ServerClock } from "./server-clock.js";
import { nextEvent } from "./testing/deadline.js";
import { aborted, leasedTask } from "./testing/fixtures.js";
import { WorkerHarness } from "./testing/harness.js";

describe("ServerClock", () => {
  it("reads the server's times on the local clock once an ack stated the server's time", () => {
    const clock = new ServerClock();
    expect(clock.toLocal(5_000)).toBe(5_000);
    clock.observe(1_000_000, 400_000);
    expect(clock.toLocal(1_000_500)).toBe(400_500);
    clock.observe(Number.NaN, 0);
    expect(clock.toLocal(1_000_500)).toBe(400_500);
  });
});

describe("a server drain on a skewed clock", () => {
  let harness: WorkerHarness;

  beforeEach(async () => {
    harness = await WorkerHarness.start();
  });

  afterEach(async () => {
    await harness.close();
  });

  it("takes the drain deadline on the server's clock, as the last heartbeat ack told it", async () => {
    const { worker, stream } = await harness.connect({
      concurrency: 1,
      handlers: { hold: async (task) => aborted(task.signal) },
    });
    await stream.expect("credit");
    const started = nextEvent(worker, "task:started", 2_000);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "s1", type: "hold" })] } });
    await started;
    // The server's clock runs an hour ahead of the worker's; its drain leaves 200 ms.
    const serverNow = Date.now() + 3_600_000;
    stream.send({ case: "heartbeatAck", value: { serverTime: timestampFromMs(serverNow), leasesExtended: 1 } });
    stream.send({ case: "drain", value: { reason: "restarting", deadline: timestampFromMs(serverNow + 200) } });
    // Read on the worker's own clock, the deadline would be an hour away.
    expect(await nextEvent(worker, "disconnected", 5_000)).toMatchObject({ reason: "drained", lostTasks: 1 });
  });
});
