import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CatchupPolicy,
  FiringOutcome,
  OverlapPolicy,
  ScheduleSchema,
  type Schedule,
  type ScheduleService,
} from "../gen/taskqueue/v1/schedule_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { durationFromMs } from "../server/services/proto-time.js";
import { failureOf } from "./support/call-failure.js";
import { consecutiveTicks, scheduleClient, scheduleConnectClient, tasksPerTick, waitForTicks } from "./support/schedules.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

const servers: TestServer[] = [];
let a: TestServer;
let schedules: Client<typeof ScheduleService>;

beforeAll(async () => {
  a = await startTestServer();
  servers.push(a);
  schedules = scheduleClient(a.grpcAddress);
});

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
});

type ScheduleInit = Omit<MessageInitShape<typeof ScheduleSchema>, "$typeName">;

let serial = 0;
/** A schedule firing every `intervalMs` into a fresh queue. */
function everyMs(intervalMs: number, fields: ScheduleInit = {}): Schedule {
  return create(ScheduleSchema, {
    id: `s-${++serial}-${uniqueQueue("x")}`,
    spec: { case: "interval", value: durationFromMs(intervalMs) },
    task: { queue: uniqueQueue("sched"), type: "report", payloadData: { case: "payload", value: { kind: { case: "stringValue", value: "hi" } } } },
    ...fields,
  });
}

describe("ScheduleService CRUD", () => {
  it("creates, gets, lists, updates, pauses, resumes and deletes", async () => {
    const created = (await schedules.createSchedule({ schedule: everyMs(3_600_000, { catchupPolicy: CatchupPolicy.ALL }) })).schedule!;
    expect(created.overlapPolicy).toBe(OverlapPolicy.ALLOW);
    expect(created.catchupPolicy).toBe(CatchupPolicy.ALL);
    expect(created.nextFireTime).toBeDefined();
    const got = await schedules.getSchedule({ id: created.id });
    expect(got.nextFireTimes.map((t) => Number(t.seconds) % 3600)).toEqual([0, 0, 0, 0, 0]);
    expect(Number(got.nextFireTimes[1]!.seconds - got.nextFireTimes[0]!.seconds)).toBe(3600);
    expect(got.recentFirings).toEqual([]);

    // Over the Connect gateway too, in JSON.
    const connect = scheduleConnectClient(a.httpBaseUrl);
    const listed = await connect.listSchedules({ pageSize: 1000 });
    expect(listed.schedules.map((s) => s.id)).toContain(created.id);

    const updated = (
      await schedules.updateSchedule({
        schedule: { id: created.id, spec: { case: "cron", value: "0 9 * * MON-FRI" }, timeZone: "Europe/Paris" },
        updateMask: { paths: ["cron", "time_zone"] },
      })
    ).schedule!;
    expect(updated.spec).toEqual({ case: "cron", value: "0 9 * * MON-FRI" });
    expect(updated.catchupPolicy).toBe(CatchupPolicy.ALL);
    const next = new Date(Number(updated.nextFireTime!.seconds) * 1000);
    expect(new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit" }).format(next)).toBe("09:00");

    const paused = (await schedules.pauseSchedule({ id: created.id })).schedule!;
    expect(paused.paused).toBe(true);
    expect(paused.nextFireTime).toBeUndefined();
    expect((await schedules.getSchedule({ id: created.id })).nextFireTimes).toEqual([]);
    const resumed = (await schedules.resumeSchedule({ id: created.id })).schedule!;
    expect(resumed.paused).toBe(false);
    expect(resumed.nextFireTime).toEqual(updated.nextFireTime);

    await schedules.deleteSchedule({ id: created.id });
    expect((await failureOf(schedules.getSchedule({ id: created.id }))).code).toBe(Code.NotFound);
    expect((await failureOf(schedules.deleteSchedule({ id: created.id }))).code).toBe(Code.NotFound);
  });

  it("refuses bad input naming the field, and writes nothing", async () => {
    const tried: string[] = [];
    const bad = async (fields: ScheduleInit) => {
      const schedule = everyMs(1000, fields);
      tried.push(schedule.id);
      return failureOf(schedules.createSchedule({ schedule }));
    };
    const cases: Array<[ScheduleInit, RegExp]> = [
      [{ spec: { case: "cron", value: "61 * * * *" } }, /^cron: .*61/],
      [{ spec: { case: "cron", value: "* * *" } }, /^cron: .*5/],
      [{ spec: { case: "cron", value: "* * * * *" }, timeZone: "Mars/Olympus_Mons" }, /^time_zone: /],
      [{ spec: { case: "interval", value: durationFromMs(500) } }, /^interval: /],
      [{ spec: { case: undefined } }, /^cron: /],
      [{ id: "has space" }, /^id: /],
      [{ task: { queue: "", type: "x" } }, /^template\.queue: /],
      [{ task: { queue: "q", type: "x", priority: 101 } }, /^template\.priority: /],
      [{ task: { queue: "q", type: "x", idempotencyKey: "k" } }, /^template\.idempotency_key: /],
      [{ task: undefined }, /^template: /],
      [{ overlapPolicy: 9 as OverlapPolicy }, /^overlap_policy: /],
      [{ startTime: { seconds: 2000n }, endTime: { seconds: 1000n } }, /^end_time: /],
    ];
    for (const [fields, message] of cases) {
      const failure = await bad(fields);
      expect(failure.code, message.source).toBe(Code.InvalidArgument);
      expect(failure.message).toMatch(message);
    }
    const { rows } = await a.pool.query("SELECT count(*)::int AS n FROM schedules WHERE id = ANY($1)", [tried]);
    expect(rows[0].n).toBe(0);
  });

  it("refuses an id already taken (ALREADY_EXISTS), unknown ids (NOT_FOUND) and bad masks", async () => {
    const s = everyMs(3_600_000);
    await schedules.createSchedule({ schedule: s });
    expect((await failureOf(schedules.createSchedule({ schedule: s }))).code).toBe(Code.AlreadyExists);
    for (const call of [
      () => schedules.getSchedule({ id: "nope" }),
      () => schedules.pauseSchedule({ id: "nope" }),
      () => schedules.resumeSchedule({ id: "nope" }),
      () => schedules.triggerSchedule({ id: "nope" }),
      () => schedules.updateSchedule({ schedule: { id: "nope", paused: true } }),
    ]) {
      expect((await failureOf(call())).code).toBe(Code.NotFound);
    }
    const mask = async (paths: string[], fields: ScheduleInit = {}) =>
      failureOf(schedules.updateSchedule({ schedule: { id: s.id, ...fields }, updateMask: { paths } }));
    expect((await mask(["bogus"])).message).toMatch(/^update_mask\.paths\[0\]: "bogus" is not an updatable field/);
    expect((await mask(["next_fire_time"])).message).toMatch(/is not updatable/);
    expect((await mask(["*", "cron"])).message).toMatch(/^update_mask: /);
    expect((await mask(["cron"])).message).toMatch(/^cron: is named in update_mask but not set/);
    expect((await mask(["time_zone"], { timeZone: "Nowhere/City" })).message).toMatch(/^time_zone: /);
    expect((await failureOf(schedules.updateSchedule({ schedule: { id: s.id } }))).message).toMatch(/^update_mask: /);
    // Nothing of the refused updates was written.
    const after = (await schedules.getSchedule({ id: s.id })).schedule!;
    expect(after.spec.case).toBe("interval");
    expect(after.timeZone).toBe("");
  });
});

describe("firing", () => {
  it("fires one task per second, labelled with the schedule and tick, and shows its firings", async () => {
    const s = (await schedules.createSchedule({ schedule: everyMs(1000, { catchupPolicy: CatchupPolicy.ALL }) })).schedule!;
    const perTick = await waitForTicks(a.pool, s.id, 3, 10_000);
    expect([...perTick.values()].every((n) => n === 1)).toBe(true);
    consecutiveTicks(perTick, 1000);
    const got = await schedules.getSchedule({ id: s.id });
    const fired = got.recentFirings.filter((f) => f.outcome === FiringOutcome.SUBMITTED);
    expect(fired.length).toBeGreaterThanOrEqual(3);
    expect(fired[0]!.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fired[0]!.taskState).toBe(TaskState.QUEUED);
    const task = (await a.grpc.getTask({ id: fired[0]!.taskId })).task!;
    expect(task.labels.schedule).toBe(s.id);
    expect(task.labels.tick).toBe(new Date(Number(fired[0]!.tickTime!.seconds) * 1000).toISOString());
    await schedules.pauseSchedule({ id: s.id });
  });

  it("a paused schedule is looked at by no server; resumed, it fires from its next tick on", async () => {
    const s = (await schedules.createSchedule({ schedule: everyMs(1000) })).schedule!;
    await waitForTicks(a.pool, s.id, 2, 10_000);
    await schedules.pauseSchedule({ id: s.id });
    const { rows } = await a.pool.query("SELECT next_fire_at, wake_at FROM schedules WHERE id = $1", [s.id]);
    expect(rows[0]).toEqual({ next_fire_at: null, wake_at: null });
    const fired = (await tasksPerTick(a.pool, s.id)).size;
    const resumedAt = Date.now();
    const resumed = (await schedules.resumeSchedule({ id: s.id })).schedule!;
    // The first tick after the resume: ticks during the pause are not caught up.
    const nextMs = Number(resumed.nextFireTime!.seconds) * 1000;
    expect(nextMs).toBeGreaterThan(resumedAt);
    expect(nextMs).toBeLessThanOrEqual(Date.now() + 1000);
    const perTick = await waitForTicks(a.pool, s.id, fired + 1, 5_000);
    const ticks = [...perTick.keys()].map((t) => Date.parse(t));
    expect(ticks.filter((t) => t > resumedAt).length).toBeGreaterThanOrEqual(1);
    await schedules.pauseSchedule({ id: s.id });
  });

  it("TriggerSchedule fires once now, also while paused", async () => {
    const s = (await schedules.createSchedule({ schedule: everyMs(3_600_000, { paused: true }) })).schedule!;
    const { task, firing } = await schedules.triggerSchedule({ id: s.id });
    expect(task!.queue).toBe(s.task!.queue);
    expect(task!.labels.schedule).toBe(s.id);
    expect(firing!.outcome).toBe(FiringOutcome.TRIGGERED);
    expect(firing!.taskId).toBe(task!.id);
    const got = await schedules.getSchedule({ id: s.id });
    expect(got.recentFirings.map((f) => [f.outcome, f.taskId])).toEqual([[FiringOutcome.TRIGGERED, task!.id]]);
    expect((await tasksPerTick(a.pool, s.id)).size).toBe(1);
  });

  it("overlap SKIP skips ticks while the previous task is unfinished, and fires again once it is", async () => {
    const s = (await schedules.createSchedule({ schedule: everyMs(1000, { overlapPolicy: OverlapPolicy.SKIP }) })).schedule!;
    // No worker serves the queue: the first tick's task stays QUEUED.
    const first = await waitFor(
      async () => {
        const f = (await schedules.getSchedule({ id: s.id })).recentFirings;
        return f.filter((x) => x.outcome === FiringOutcome.SKIPPED_OVERLAP).length >= 2 ? f : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: "two ticks skipped for overlap" },
    );
    const submitted = first.filter((f) => f.outcome === FiringOutcome.SUBMITTED);
    expect(submitted).toHaveLength(1);
    await a.grpc.cancelTask({ id: submitted[0]!.taskId });
    await waitForTicks(a.pool, s.id, 2, 5_000);
    await schedules.pauseSchedule({ id: s.id });
  });

  it("overlap BUFFER_ONE holds one tick back and fires it once the previous task finishes", async () => {
    const s = (await schedules.createSchedule({ schedule: everyMs(1000, { overlapPolicy: OverlapPolicy.BUFFER_ONE }) })).schedule!;
    const firings = await waitFor(
      async () => {
        const f = (await schedules.getSchedule({ id: s.id })).recentFirings;
        return f.some((x) => x.outcome === FiringOutcome.SKIPPED_OVERLAP) ? f : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: "a tick buffered and one skipped" },
    );
    const buffered = firings.filter((f) => f.outcome === FiringOutcome.BUFFERED);
    expect(buffered).toHaveLength(1);
    await a.grpc.cancelTask({ id: firings.find((f) => f.outcome === FiringOutcome.SUBMITTED)!.taskId });
    const perTick = await waitForTicks(a.pool, s.id, 2, 5_000);
    expect(perTick.has(new Date(Number(buffered[0]!.tickTime!.seconds) * 1000).toISOString())).toBe(true);
    await schedules.pauseSchedule({ id: s.id });
  });

  it("two servers firing the same schedules create exactly one task per tick, none missing", async () => {
    const b = await startTestServer({}, { databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    servers.push(b);
    const ids = await Promise.all(
      [0, 1, 2].map(async () => (await schedules.createSchedule({ schedule: everyMs(1000, { catchupPolicy: CatchupPolicy.ALL }) })).schedule!.id),
    );
    for (const id of ids) {
      const perTick = await waitForTicks(a.pool, id, 6, 15_000);
      expect([...perTick.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      consecutiveTicks(perTick, 1000);
    }
    await Promise.all(ids.map((id) => schedules.pauseSchedule({ id })));
  });
});

describe("changes reach every server", () => {
  it("an update made on another server re-arms this server's timer at once", async () => {
    // This server sleeps up to a minute between looks unless told of a change.
    const c = await startTestServer({ scheduleMaxSleepMs: 60_000 });
    servers.push(c);
    const other = await startTestServer({}, { databaseUrl: c.databaseUrl, redisPrefix: c.redisPrefix });
    const s = (await scheduleClient(c.grpcAddress).createSchedule({ schedule: everyMs(3_600_000) })).schedule!;
    // Moved to a tick 3 s from now on the other server, which then stops: only c can fire it.
    const tickMs = Math.ceil((Date.now() + 3_000) / 1000) * 1000;
    await scheduleClient(other.grpcAddress).updateSchedule({
      schedule: { id: s.id, spec: { case: "interval", value: durationFromMs(1000) }, startTime: { seconds: BigInt(tickMs / 1000) } },
      updateMask: { paths: ["interval", "start_time"] },
    });
    await other.stop();
    const perTick = await waitForTicks(c.pool, s.id, 1, 10_000);
    expect([...perTick.keys()][0]).toBe(new Date(tickMs).toISOString());
    const { rows } = await c.pool.query("SELECT extract(epoch FROM fired_at - tick_at) * 1000 AS late_ms FROM schedule_firings WHERE schedule_id = $1 ORDER BY tick_at LIMIT 1", [s.id]);
    expect(Number(rows[0].late_ms)).toBeLessThan(1_000);
    await scheduleClient(c.grpcAddress).pauseSchedule({ id: s.id });
  });
});

describe("catch-up after every server was down", () => {
  it("SKIP fires none of the missed ticks, LATEST one, ALL each of them", async () => {
    const c = await startTestServer({ scheduleMisfireGraceMs: 0 });
    const client = scheduleClient(c.grpcAddress);
    const hour = 3_600_000;
    const make = async (catchupPolicy: CatchupPolicy) =>
      (await client.createSchedule({ schedule: everyMs(hour, { catchupPolicy }) })).schedule!.id;
    const [skip, latest, all] = [await make(CatchupPolicy.SKIP), await make(CatchupPolicy.LATEST), await make(CatchupPolicy.ALL)];
    await c.stop();
    // As if no server had run for the last five hours: the next tick was 4 hours before the last one.
    const lastTick = Math.floor(Date.now() / hour) * hour;
    const pool = new (await import("pg")).default.Pool({ connectionString: c.databaseUrl, max: 1 });
    try {
      await pool.query("UPDATE schedules SET next_fire_at = $1, wake_at = $1", [new Date(lastTick - 4 * hour)]);
      const d = await startTestServer({ scheduleMisfireGraceMs: 0 }, { databaseUrl: c.databaseUrl, redisPrefix: c.redisPrefix });
      servers.push(d);
      const ticks = await waitForTicks(pool, all, 5, 10_000);
      expect([...ticks.keys()]).toEqual([4, 3, 2, 1, 0].map((k) => new Date(lastTick - k * hour).toISOString()));
      await waitForTicks(pool, latest, 1, 10_000);
      expect([...(await tasksPerTick(pool, latest)).keys()]).toEqual([new Date(lastTick).toISOString()]);
      const d2 = scheduleClient(d.grpcAddress);
      const missed = await waitFor(
        async () => (await d2.getSchedule({ id: skip })).recentFirings.find((f) => f.outcome === FiringOutcome.MISSED),
        { timeoutMs: 10_000, intervalMs: 50, message: "the SKIP schedule to record its missed ticks" },
      );
      expect(missed.missedTicks).toBe(5n);
      expect((await tasksPerTick(pool, skip)).size).toBe(0);
      // LATEST recorded the four others as missed.
      expect((await d2.getSchedule({ id: latest })).recentFirings.find((f) => f.outcome === FiringOutcome.MISSED)?.missedTicks).toBe(4n);
      // Each is now due at the next hour.
      for (const id of [skip, latest, all]) {
        expect(Number((await d2.getSchedule({ id })).schedule!.nextFireTime!.seconds) * 1000).toBe(lastTick + hour);
      }
    } finally {
      await pool.end();
    }
  });
});
