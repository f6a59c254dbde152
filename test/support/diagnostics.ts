import { DispatchKeys } from "../../server/redis/keys.js";
import type pg from "pg";
import { readAttempts, readTasks, TERMINAL_STATES, type TaskRecord } from "./task-db.js";
import { readTaskKey } from "../../server/redis/task-key.js";
import { connectDispatchRedis } from "./dispatch-state.js";

/** Where to look for a task's dispatch state. */
export interface DispatchStateSource {
  redisUrl: string;
  /** Redis Cluster seeds, or "" for the single Redis at `redisUrl`. */
  redisClusterNodes: string;
  redisPrefix: string;
}

/**
 * Describes every unfinished task of `queues` (at most `limit`): its Postgres row and attempt
 * rows, and what Redis holds for it (task hash without payload, ready-queue, delayed and
 * lease scores), so a failed fault test explains where a task got stuck.
 */
export async function describeUnfinished(
  pool: pg.Pool,
  queues: readonly string[],
  source: DispatchStateSource,
  limit = 10,
): Promise<string> {
  const unfinished = (await readTasks(pool, queues)).filter((t) => !(TERMINAL_STATES as readonly string[]).includes(t.state));
  if (unfinished.length === 0) return "no unfinished task";
  return `${unfinished.length} unfinished task(s):\n${await describeTasks(pool, unfinished.slice(0, limit), source)}`;
}

/**
 * Describes each task of `tasks`, one line each: its Postgres row and attempt rows, and what
 * Redis holds for it (task hash without payload, ready-queue, delayed and lease scores).
 */
export async function describeTasks(pool: pg.Pool, tasks: readonly TaskRecord[], source: DispatchStateSource): Promise<string> {
  const redis = connectDispatchRedis(source, { maxRetriesPerRequest: 1, lazyConnect: true });
  const p = source.redisPrefix;
  const lines: string[] = [];
  try {
    await redis.connect();
    for (const task of tasks) {
      const contents = await readTaskKey(redis, p, task.queue, task.id);
      const qk = new DispatchKeys(p).queue(task.queue);
      const [ready, delayed, lease] = await Promise.all([
        redis.zscore(qk.ready(task.type), task.id),
        redis.zscore(qk.delayed, task.id),
        redis.zscore(qk.leases, task.id),
      ]);
      const attempts = (await readAttempts(pool, task.id)).map(
        (a) => `${a.attempt}:${a.outcome ?? "-"}@${a.worker_id}@${a.started_at.toISOString()}${a.finished_at ? `..${a.finished_at.toISOString()}` : ""}`,
      );
      lines.push(
        `- ${task.id} ${task.type} pg=${task.state}/attempt ${task.attempt}/worker ${task.worker_id ?? "-"} attempts=[${attempts.join(" ")}] ` +
          `redis=${JSON.stringify(contents)} ready=${ready ?? "-"} delayed=${delayed ?? "-"} lease=${lease ?? "-"} now=${Date.now()}`,
      );
    }
  } catch (error) {
    lines.push(`(redis not readable: ${(error as Error).message})`);
  } finally {
    redis.disconnect();
  }
  return lines.join("\n");
}
