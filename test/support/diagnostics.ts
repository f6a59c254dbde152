import { DispatchKeys } from "../../server/redis/keys.js";
import type pg from "pg";
import { readAttempts, readTasks, TERMINAL_STATES } from "./task-db.js";
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
  const redis = connectDispatchRedis(source, { maxRetriesPerRequest: 1, lazyConnect: true });
  const p = source.redisPrefix;
  const lines: string[] = [`${unfinished.length} unfinished task(s):`];
  try {
    await redis.connect();
    for (const task of unfinished.slice(0, limit)) {
      const contents = await readTaskKey(redis, p, task.queue, task.id);
      const qk = new DispatchKeys(p).queue(task.queue);
      const [ready, delayed, lease] = await Promise.all([
        redis.zscore(qk.ready(task.type), task.id),
        redis.zscore(qk.delayed, task.id),
        redis.zscore(qk.leases, task.id),
      ]);
      const attempts = (await readAttempts(pool, task.id)).map(
        (a) => `${a.attempt}:${a.outcome ?? "-"}@${a.worker_id}@${a.started_at.toISOString()}`,
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
