import { readFile } from "node:fs/promises";
import type { Redis } from "ioredis";
import type pg from "pg";
import { BenchTimeoutError } from "./errors.js";

/** Resident memory and CPU time used so far by one process. */
export interface ProcessSample {
  /** VmRSS, bytes. */
  rssBytes: number;
  /** User + system CPU time, seconds. */
  cpuSeconds: number;
  /** When sampled, epoch ms. */
  at: number;
}

/** Kernel clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** Reads /proc/<pid>/status (VmRSS) and /proc/<pid>/stat (utime, stime) of a live process. */
export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const [status, stat] = await Promise.all([
    readFile(`/proc/${pid}/status`, "utf8"),
    readFile(`/proc/${pid}/stat`, "utf8"),
  ]);
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / CLOCK_TICKS, at: Date.now() };
}

/** CPU use between two samples of one process, in percent of one core. */
export function cpuPercent(before: ProcessSample, after: ProcessSample): number {
  const wallSeconds = (after.at - before.at) / 1000;
  return wallSeconds <= 0 ? Number.NaN : (100 * (after.cpuSeconds - before.cpuSeconds)) / wallSeconds;
}

/** Redis `INFO memory` used_memory, bytes. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** Tasks of `queue` (or of any of the queues) in state SUCCEEDED. */
export async function countSucceeded(pool: pg.Pool, queue: string | readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("select count(*) as n from tasks where state = 'SUCCEEDED' and queue = any($1::text[])", [
    queueList(queue),
  ]);
  return Number(rows[0]!.n);
}

/** Tasks of each of `queues`, by queue name (every state). */
export async function countByQueue(pool: pg.Pool, queues: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ queue: string; n: string }>("select queue, count(*) as n from tasks where queue = any($1::text[]) group by queue", [
    [...queues],
  ]);
  return new Map(rows.map((r) => [r.queue, Number(r.n)]));
}

/**
 * Waits until `expected` tasks of `queue` are SUCCEEDED in Postgres, re-counting every
 * `intervalMs`; resolves with the count, rejects with {@link BenchTimeoutError} at the deadline.
 */
export async function waitForSucceeded(pool: pg.Pool, queue: string | readonly string[], expected: number, timeoutMs: number, intervalMs = 100): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await countSucceeded(pool, queue);
    if (count >= expected) return count;
    if (Date.now() >= deadline) throw new BenchTimeoutError(`${expected} SUCCEEDED tasks in ${queue} (have ${count})`, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `pg_total_relation_size` of the tasks table (heap, TOAST and indexes), bytes. */
export async function tasksTableBytes(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("select pg_total_relation_size('tasks') as n");
  return Number(rows[0]!.n);
}

/** Postgres' own view of a queue's (or queues') run: first created_at and last finished_at, epoch ms. */
export async function queueSpan(pool: pg.Pool, queue: string | readonly string[]): Promise<{ firstCreatedAt: number; lastFinishedAt: number }> {
  const { rows } = await pool.query<{ first: Date; last: Date }>(
    "select min(created_at) as first, max(finished_at) as last from tasks where queue = any($1::text[])",
    [queueList(queue)],
  );
  return { firstCreatedAt: rows[0]!.first?.getTime() ?? Number.NaN, lastFinishedAt: rows[0]!.last?.getTime() ?? Number.NaN };
}

function queueList(queue: string | readonly string[]): string[] {
  return typeof queue === "string" ? [queue] : [...queue];
}
