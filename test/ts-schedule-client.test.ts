import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatchupPolicy, createScheduleClient, FiringOutcome, OverlapPolicy, type ScheduleClient } from "../clients/ts/index.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/** `createScheduleClient` against a real server: typed wrappers and the update mask built from the changes. */

let ts: TestServer;
let client: ScheduleClient;

beforeAll(async () => {
  ts = await startTestServer();
  client = createScheduleClient({ address: ts.grpcAddress });
});

afterAll(async () => {
  client?.close();
  await ts?.stop();
});

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe("createScheduleClient", () => {
  it("creates, updates only the named fields, triggers, pauses, resumes, lists and deletes", async () => {
    const id = uniqueQueue("ts-sched");
    const queue = uniqueQueue("ts-sched-q");
    const created = await client.createSchedule({
      id,
      cron: "0 8 * * MON",
      timeZone: "Europe/Paris",
      task: { queue, type: "digest.send", payload: { list: "weekly" }, labels: { team: "growth" }, retryPolicy: { maxAttempts: 4, initialBackoffMs: 2000 } },
      overlapPolicy: "SKIP",
      catchupPolicy: CatchupPolicy.ALL,
      endTime: new Date("2099-01-01T00:00:00Z"),
    });
    expect(created).toMatchObject({ id, spec: { case: "cron", value: "0 8 * * MON" }, timeZone: "Europe/Paris", overlapPolicy: OverlapPolicy.SKIP, catchupPolicy: CatchupPolicy.ALL, paused: false });
    expect(created.nextFireTime).toBeDefined();

    // taskChanges merges into the stored template; null puts a field back to its default.
    const updated = await client.updateSchedule(id, { intervalMs: 3_600_000, taskChanges: { priority: 90, retryPolicy: { maxAttempts: 6 } }, overlapPolicy: null, endTime: null });
    expect(updated.spec).toMatchObject({ case: "interval", value: { seconds: 3600n } });
    expect(updated.task).toMatchObject({ queue, type: "digest.send", priority: 90, labels: { team: "growth" }, payloadData: { case: "payload" } });
    expect(updated.task?.retryPolicy).toMatchObject({ maxAttempts: 6, initialBackoff: { seconds: 2n } });
    expect(updated.overlapPolicy).not.toBe(OverlapPolicy.SKIP);
    expect(updated.catchupPolicy).toBe(CatchupPolicy.ALL);
    expect(updated.endTime).toBeUndefined();
    const replaced = await client.updateSchedule(id, { task: { queue, type: "digest.other" } });
    expect(replaced.task).toMatchObject({ type: "digest.other", labels: {} });
    expect(replaced.task?.priority).toBeUndefined();

    const { task, firing } = await client.triggerSchedule(id);
    expect(task.labels.schedule).toBe(id);
    expect(firing).toMatchObject({ outcome: FiringOutcome.TRIGGERED, taskId: task.id });
    expect((await client.pauseSchedule(id)).paused).toBe(true);
    expect((await client.getSchedule(id)).nextFireTimes).toEqual([]);
    expect((await client.resumeSchedule(id)).paused).toBe(false);
    const details = await client.getSchedule(id);
    expect(details.nextFireTimes).toHaveLength(5);
    expect(details.recentFirings.map((f) => f.taskId)).toEqual([task.id]);
    expect((await client.listAllSchedules()).map((s) => s.id)).toContain(id);
    const page = await client.listSchedules({ pageSize: 1 });
    expect(page.schedules).toHaveLength(1);

    await client.deleteSchedule(id);
    expect((await failure(client.getSchedule(id))).code).toBe(Code.NotFound);
  });

  it("refuses bad values before sending, naming the field; the server names its own", async () => {
    const local = [
      client.updateSchedule("x", {}),
      client.updateSchedule("x", { cron: "* * * * *", intervalMs: 1000 }),
      client.updateSchedule("x", { nope: 1 } as never),
      client.createSchedule({ id: "x", cron: "* * * * *", task: { queue: "q", type: "t" }, overlapPolicy: "SOMETIMES" as never }),
      client.createSchedule({ id: "x", cron: "* * * * *" } as never),
    ];
    const messages = await Promise.all(local.map(async (call) => (await failure(call)).rawMessage));
    expect(messages).toEqual([
      expect.stringMatching(/^changes: names no field/),
      expect.stringMatching(/^cron: give cron or intervalMs/),
      expect.stringMatching(/^changes\.nope: is not a schedule field/),
      expect.stringMatching(/^overlapPolicy: must be one of ALLOW, SKIP, BUFFER_ONE/),
      expect.stringMatching(/^task: is required/),
    ]);
    const server = await failure(client.createSchedule({ id: uniqueQueue("bad"), cron: "61 * * * *", task: { queue: "q", type: "t" } }));
    expect(server.code).toBe(Code.InvalidArgument);
    expect(server.rawMessage).toMatch(/^cron: /);
    expect((await failure(client.updateSchedule(uniqueQueue("none"), { taskChanges: { priority: 1 } }))).code).toBe(Code.NotFound);
  });
});
