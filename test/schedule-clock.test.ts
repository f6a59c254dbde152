import { create } from "@bufbuild/protobuf";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatchupPolicy, ScheduleSchema } from "../gen/taskqueue/v1/schedule_service_pb.js";
import { migrate } from "../server/db/migrate.js";
import { TaskInserter } from "../server/db/task-inserter.js";
import type { NewTask } from "../server/engine/task-records.js";
import { createLogger } from "../server/observability/logger.js";
import { ScheduleFirer } from "../server/schedules/schedule-firer.js";
import { ScheduleRepository } from "../server/schedules/schedule-repository.js";
import { definitionOf } from "../server/services/schedule-input.js";
import type { SubmitPolicy } from "../server/services/submit-validation.js";
import { tasksPerTick } from "./support/schedules.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";

/**
 * The firing engine on a real Postgres with an injected clock: days on which clocks change,
 * and catch-up across them, without waiting for them.
 */
const logger = createLogger({ level: "silent" });
const policy: SubmitPolicy = {
  maxPayloadBytes: 1 << 20,
  defaultMaxAttempts: 3,
  defaultInitialBackoffMs: 1000,
  defaultMaxBackoffMs: 60_000,
  defaultBackoffMultiplier: 2,
};
let pool: pg.Pool;
let repository: ScheduleRepository;
let clock = 0;
const enqueued: NewTask[] = [];

function firer(): ScheduleFirer {
  return new ScheduleFirer({
    pool,
    inserter: new TaskInserter({ pool, windowMs: 1, maxBatch: 100, idempotencyRetentionMs: 24 * 3600_000 }),
    policy,
    enqueue: async (tasks) => void enqueued.push(...tasks),
    logger,
    catchupMax: 100,
    misfireGraceMs: 5_000,
    now: () => clock,
  });
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 6 });
  await migrate(pool, logger);
  repository = new ScheduleRepository(pool);
});

afterAll(async () => {
  await pool?.end();
});

let serial = 0;
/** Creates a New York cron schedule at `at`. */
async function nyCron(cron: string, at: string, catchupPolicy = CatchupPolicy.LATEST): Promise<string> {
  clock = Date.parse(at);
  const schedule = create(ScheduleSchema, {
    id: `dst-${++serial}`,
    spec: { case: "cron", value: cron },
    timeZone: "America/New_York",
    task: { queue: uniqueQueue("dst"), type: "t" },
    catchupPolicy,
  });
  await repository.create(definitionOf(schedule, policy, clock), clock);
  return schedule.id;
}

/** Moves the clock just past each next tick until `until`, firing each; returns the ticks fired. */
async function fireThrough(id: string, until: string): Promise<string[]> {
  const f = firer();
  for (;;) {
    const next = (await repository.get(id))!.nextFireAt;
    if (!next || next.getTime() > Date.parse(until)) break;
    clock = next.getTime() + 7;
    await f.fireOne(id);
  }
  return [...(await tasksPerTick(pool, id)).keys()];
}

describe("time zones and daylight saving time (injected clock)", () => {
  it("spring forward: a local time that does not exist does not fire", async () => {
    // 2026-03-08 in New York: 02:00 EST becomes 03:00 EDT.
    const daily = await nyCron("30 2 * * *", "2026-03-07T12:00:00Z");
    expect(await fireThrough(daily, "2026-03-10T12:00:00Z")).toEqual(["2026-03-09T06:30:00.000Z", "2026-03-10T06:30:00.000Z"]);
    const halfHourly = await nyCron("*/30 * * * *", "2026-03-08T05:50:00Z");
    expect(await fireThrough(halfHourly, "2026-03-08T08:00:00Z")).toEqual([
      "2026-03-08T06:00:00.000Z", // 01:00 EST
      "2026-03-08T06:30:00.000Z", // 01:30 EST
      "2026-03-08T07:00:00.000Z", // 03:00 EDT
      "2026-03-08T07:30:00.000Z",
      "2026-03-08T08:00:00.000Z",
    ]);
  });

  it("fall back: a local time that occurs twice fires once", async () => {
    // 2026-11-01 in New York: 02:00 EDT becomes 01:00 EST; 01:xx happens twice.
    const daily = await nyCron("30 1 * * *", "2026-10-31T12:00:00Z");
    expect(await fireThrough(daily, "2026-11-02T12:00:00Z")).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    const hourly = await nyCron("0 * * * *", "2026-11-01T03:30:00Z");
    expect(await fireThrough(hourly, "2026-11-01T08:00:00Z")).toEqual([
      "2026-11-01T04:00:00.000Z", // 00:00 EDT
      "2026-11-01T05:00:00.000Z", // 01:00 EDT; 01:00 EST (06:00Z) does not fire again
      "2026-11-01T07:00:00.000Z", // 02:00 EST
      "2026-11-01T08:00:00.000Z",
    ]);
  });

  it("catch-up ALL across the fall-back hour fires each missed tick once", async () => {
    const hourly = await nyCron("0 * * * *", "2026-11-01T03:30:00Z", CatchupPolicy.ALL);
    // No server ran from 03:30Z to 08:30Z; one pass at 08:30Z.
    clock = Date.parse("2026-11-01T08:30:00Z");
    await firer().fireOne(hourly);
    expect([...(await tasksPerTick(pool, hourly)).keys()]).toEqual([
      "2026-11-01T04:00:00.000Z",
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T07:00:00.000Z",
      "2026-11-01T08:00:00.000Z",
    ]);
    expect((await repository.get(hourly))!.nextFireAt!.toISOString()).toBe("2026-11-01T09:00:00.000Z");
  });

  it("firers racing on the same ticks create exactly one task per tick", async () => {
    const id = await nyCron("* * * * * *", "2026-06-01T00:00:00Z", CatchupPolicy.ALL);
    const racers = [firer(), firer(), firer(), firer()];
    for (let i = 1; i <= 20; i++) {
      clock = Date.parse("2026-06-01T00:00:00Z") + i * 1000 + 3;
      await Promise.all(racers.map((f) => f.fireDue()));
    }
    const perTick = await tasksPerTick(pool, id);
    expect(perTick.size).toBe(20);
    expect([...perTick.values()].every((n) => n === 1)).toBe(true);
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM schedule_firings WHERE schedule_id = $1", [id]);
    expect(rows[0].n).toBe(20);
  });
});
