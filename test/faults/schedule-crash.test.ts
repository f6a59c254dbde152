import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatchupPolicy, ScheduleSchema } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { durationFromMs } from "../../server/services/proto-time.js";
import { FaultStack } from "../support/fault-stack.js";
import type { ServerProcess } from "../support/processes.js";
import { consecutiveTicks, scheduleClient, tasksPerTick } from "../support/schedules.js";
import { jsonPayload } from "../support/tasks.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

/** Schedules of one second shared by the servers: each second they race on every one. */
const SCHEDULES = 12;

let stack: FaultStack;
let servers: ServerProcess[];
const queue = uniqueQueue("sched-kill");

beforeAll(async () => {
  stack = await FaultStack.create({ serverEnv: { RECOVERY_INTERVAL_MS: "500" } });
  servers = [];
  for (let i = 0; i < 3; i++) servers.push(await stack.startServer());
});

afterAll(async () => {
  await stack?.close();
});

/** The tick (epoch ms) of the latest task of every schedule, or -Infinity while one has none. */
async function latestTickOfAll(ids: string[]): Promise<number> {
  const { rows } = await stack.pool.query<{ id: string; latest: string }>(
    "SELECT labels->>'schedule' AS id, max(labels->>'tick') AS latest FROM tasks WHERE labels->>'schedule' = ANY($1) GROUP BY 1",
    [ids],
  );
  if (rows.length < ids.length) return Number.NEGATIVE_INFINITY;
  return Math.min(...rows.map((r) => Date.parse(r.latest)));
}

describe("three servers sharing one-second schedules, one SIGKILLed mid-firing", () => {
  it("create exactly one task per tick, none missing, and every task is dispatched", async () => {
    const client = scheduleClient(servers[0]!.grpcAddress);
    const ids: string[] = [];
    for (let i = 0; i < SCHEDULES; i++) {
      const schedule = create(ScheduleSchema, {
        id: `kill-${i}-${queue}`,
        spec: { case: "interval", value: durationFromMs(1000) },
        catchupPolicy: CatchupPolicy.ALL,
        task: { queue, type: "echo", payloadData: jsonPayload({ nonce: `s${i}` }) },
      });
      await client.createSchedule({ schedule });
      ids.push(schedule.id);
    }
    // Every schedule has fired a few ticks; then the kill lands as the next tick's first task
    // commits, while the servers are firing that tick's schedules.
    const warm = await waitFor(async () => ((await latestTickOfAll(ids)) >= 0 ? latestTickOfAll(ids) : undefined), {
      timeoutMs: 10_000,
      intervalMs: 20,
      message: "every schedule to fire",
    });
    await waitFor(
      async () => {
        const { rows } = await stack.pool.query("SELECT 1 FROM tasks WHERE labels->>'schedule' = ANY($1) AND labels->>'tick' > $2 LIMIT 1", [
          ids,
          new Date(warm + 1000).toISOString(),
        ]);
        return rows.length > 0;
      },
      { timeoutMs: 10_000, intervalMs: 2, message: "a later tick to start firing" },
    );
    const killedAt = Date.now();
    await servers[1]!.kill("SIGKILL");
    // Five more seconds of ticks fired by the two left.
    await waitFor(async () => (await latestTickOfAll(ids)) >= killedAt + 5_000, {
      timeoutMs: 20_000,
      intervalMs: 50,
      message: "five more ticks after the kill",
    });
    for (const id of ids) await client.pauseSchedule({ id });

    let total = 0;
    for (const id of ids) {
      const perTick = await tasksPerTick(stack.pool, id);
      expect([...perTick.entries()].filter(([, n]) => n !== 1), id).toEqual([]);
      consecutiveTicks(perTick, 1000);
      total += perTick.size;
    }
    // Whatever the killed server committed but did not enqueue, recovery enqueues: a worker
    // finishes every task.
    await stack.startWorker(servers[0]!, { queues: [queue], concurrency: 50 });
    const counts = await stack.waitAllDone([queue], total, 30_000);
    expect(counts).toEqual({ SUCCEEDED: total });
  });
});
