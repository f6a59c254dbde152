import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type pg from "pg";
import { ScheduleService } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { waitFor } from "./wait-for.js";

/** ScheduleService over gRPC to the server at `grpcAddress` (host:port). */
export function scheduleClient(grpcAddress: string): Client<typeof ScheduleService> {
  return createClient(ScheduleService, createGrpcTransport({ baseUrl: `http://${grpcAddress}` }));
}

/** ScheduleService over Connect JSON (HTTP/1.1) to the gateway at `httpBaseUrl`. */
export function scheduleConnectClient(httpBaseUrl: string): Client<typeof ScheduleService> {
  return createClient(ScheduleService, createConnectTransport({ baseUrl: httpBaseUrl, httpVersion: "1.1", useBinaryFormat: false }));
}

/** How many tasks of a schedule each tick has (label `tick` → count), from Postgres. */
export async function tasksPerTick(pool: pg.Pool, scheduleId: string): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ tick: string; n: string }>(
    "SELECT labels->>'tick' AS tick, count(*) AS n FROM tasks WHERE labels->>'schedule' = $1 GROUP BY 1 ORDER BY 1",
    [scheduleId],
  );
  return new Map(rows.map((r) => [r.tick, Number(r.n)]));
}

/** Waits until the schedule has tasks for at least `ticks` ticks; returns tasksPerTick. */
export async function waitForTicks(pool: pg.Pool, scheduleId: string, ticks: number, timeoutMs: number): Promise<Map<string, number>> {
  return waitFor(
    async () => {
      const perTick = await tasksPerTick(pool, scheduleId);
      return perTick.size >= ticks ? perTick : undefined;
    },
    { timeoutMs, intervalMs: 50, message: `schedule ${scheduleId} to have fired ${ticks} ticks` },
  );
}

/** Checks that ticks `ms` apart follow each other with none missing; returns the ticks as epoch ms. */
export function consecutiveTicks(perTick: Map<string, number>, stepMs: number): number[] {
  const ticks = [...perTick.keys()].map((t) => Date.parse(t)).sort((a, b) => a - b);
  for (let i = 1; i < ticks.length; i++) {
    if (ticks[i]! - ticks[i - 1]! !== stepMs) throw new Error(`ticks ${new Date(ticks[i - 1]!).toISOString()} and ${new Date(ticks[i]!).toISOString()} are not ${stepMs} ms apart`);
  }
  return ticks;
}
