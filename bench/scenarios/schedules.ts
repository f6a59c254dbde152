import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ScheduleSchema, ScheduleService } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { durationFromMs } from "../../server/services/proto-time.js";
import { BenchVerificationError } from "../errors.js";
import { ProcessMeter } from "../process-meter.js";
import { monotonicUs, uniqueQueue, type Scenario } from "./context.js";

/** Concurrent CreateSchedule calls while setting up. */
const CREATE_IN_FLIGHT = 32;

/**
 * schedules: `--schedules` interval schedules of `--schedule-interval-s` each (60: one per
 * minute), their first ticks spread evenly over one interval that starts once all exist.
 * Measures the server's CPU while they all wait (idle, `--idle-s`), then while each fires
 * its first tick, and how late each tick's task was submitted (fire delay: the firing's time
 * minus the tick, from `schedule_firings`). Checks one task per tick from Postgres.
 */
export const schedules: Scenario = async ({ options, stack }) => {
  const count = options.schedules;
  const intervalMs = options.scheduleIntervalS * 1000;
  const queue = uniqueQueue("sched");
  const prefix = `${queue}-`;
  const client = createClient(ScheduleService, createGrpcTransport({ baseUrl: `http://${stack.server.grpcAddress}` }));
  // Created with their first tick a day away; once all exist, their first ticks are moved in
  // Postgres to spread over one interval that starts after the idle window.
  const parkedMs = Math.ceil((Date.now() + 24 * 3600_000) / 1000) * 1000;
  const next = { i: 0 };
  await Promise.all(
    Array.from({ length: CREATE_IN_FLIGHT }, async () => {
      for (let i = next.i++; i < count; i = next.i++) {
        await client.createSchedule({
          schedule: create(ScheduleSchema, {
            id: `${prefix}${i}`,
            spec: { case: "interval", value: durationFromMs(intervalMs) },
            startTime: { seconds: BigInt(parkedMs / 1000) },
            task: { queue, type: "noop" },
          }),
        });
      }
    }),
  );
  const firstTickMs = Math.ceil((Date.now() + options.idleS * 1000 + 3_000) / 1000) * 1000;
  await stack.pool.query(
    `UPDATE schedules SET start_at = s.at, next_fire_at = s.at, wake_at = s.at
     FROM (SELECT id, to_timestamp(($2 + floor(split_part(id, '-', -1)::bigint * $3 / $4)) / 1000.0) AS at
           FROM schedules WHERE id LIKE $1) s
     WHERE schedules.id = s.id`,
    [`${prefix}%`, firstTickMs, intervalMs, count],
  );
  // Any change through the API re-arms the server's timer: it now sleeps until the first tick.
  await client.createSchedule({
    schedule: create(ScheduleSchema, { id: `${prefix}sentinel`, spec: { case: "interval", value: durationFromMs(intervalMs) }, paused: true, task: { queue, type: "noop" } }),
  });
  const pid = stack.server.pid;
  const idleMeter = new ProcessMeter(pid);
  await idleMeter.start();
  await new Promise((resolve) => setTimeout(resolve, options.idleS * 1000)); // the idle measuring window
  const idle = await idleMeter.stop();

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstTickMs - Date.now()))); // until the first tick
  const busyMeter = new ProcessMeter(pid);
  await busyMeter.start();
  const fromUs = monotonicUs();
  const lastTickMs = firstTickMs + Math.floor(((count - 1) * intervalMs) / count);
  const deadline = lastTickMs + Math.max(30_000, intervalMs);
  for (;;) {
    const { rows } = await stack.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM schedule_firings WHERE schedule_id LIKE $1 AND outcome = 'SUBMITTED' AND tick_at < $2",
      [`${prefix}%`, new Date(firstTickMs + intervalMs)],
    );
    if (rows[0]!.n >= count) break;
    if (Date.now() > deadline) throw new BenchVerificationError(`schedules: ${rows[0]!.n} of ${count} first ticks fired by the deadline`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // progress poll of the harness, not of the server
  }
  const busy = await busyMeter.stop();
  const toUs = monotonicUs();
  const { rows: delay } = await stack.pool.query<{ p50: number; p99: number; max: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max
     FROM (SELECT extract(epoch FROM fired_at - tick_at) * 1000 AS ms FROM schedule_firings
           WHERE schedule_id LIKE $1 AND outcome = 'SUBMITTED' AND tick_at < $2) d`,
    [`${prefix}%`, new Date(firstTickMs + intervalMs)],
  );
  const { rows: dup } = await stack.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM (SELECT labels->>'tick' FROM tasks WHERE queue = $1 GROUP BY labels->>'schedule', labels->>'tick' HAVING count(*) > 1) d",
    [queue],
  );
  if (dup[0]!.n > 0) throw new BenchVerificationError(`schedules: ${dup[0]!.n} ticks have more than one task`);
  await stack.pool.query("DELETE FROM schedules WHERE id LIKE $1", [`${prefix}%`]);
  return {
    metrics: {
      schedules: count,
      interval_s: options.scheduleIntervalS,
      idle_cpu_pct: idle.cpuPct,
      fire_delay_p50_ms: Number(delay[0]!.p50),
      fire_delay_p99_ms: Number(delay[0]!.p99),
      fire_delay_max_ms: Number(delay[0]!.max),
      firing_cpu_pct: busy.cpuPct,
      firing_window_s: (Date.now() - firstTickMs) / 1000,
    },
    windowUs: [fromUs, toUs],
    notes: [
      `schedules: ${count} interval schedules of ${options.scheduleIntervalS} s, first ticks spread over one interval; ` +
        `idle = all waiting (${options.idleS} s), firing = the interval in which each fires once; delay = firing time − tick`,
    ],
  };
};
