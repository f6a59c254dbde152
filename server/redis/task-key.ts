import type { RedisClient } from "./connection.js";
import { DispatchKeys } from "./keys.js";

/** What the dispatch state holds for one task (see `lua/lib.lua`). */
export type TaskKeyContents =
  | { form: "absent" }
  /** A task not finished yet: the task hash, without its payload. */
  | { form: "hash"; state: string; fields: Record<string, string> }
  /** A finished task's marker, kept for a while after the outcome. */
  | { form: "finished"; state: string; attempt: number; finishedMs: number; serverId: string };

/**
 * Reads the dispatch state of task `id` of `queue` under `prefix`: the hash of a task not finished yet,
 * or the short marker that replaces it once the task is finished. For tests, diagnostics and
 * operators; the scripts read it themselves.
 */
export async function readTaskKey(redis: RedisClient, prefix: string, queue: string, id: string): Promise<TaskKeyContents> {
  const key = new DispatchKeys(prefix).queue(queue).task(id);
  // The key may change form between its TYPE and its read (the task finishes: its hash
  // becomes a marker): read again, which sees the new form.
  for (let attempt = 1; ; attempt++) {
    try {
      return await readTaskKeyOnce(redis, key);
    } catch (error) {
      if (attempt >= 3 || !/WRONGTYPE/.test((error as Error).message)) throw error;
    }
  }
}

async function readTaskKeyOnce(redis: RedisClient, key: string): Promise<TaskKeyContents> {
  const type = await redis.type(key);
  if (type === "hash") {
    const fields = await redis.hgetall(key);
    delete fields.p;
    return { form: "hash", state: fields.st ?? "", fields };
  }
  if (type === "string") {
    const [state = "", attempt = "0", finishedMs = "0", ...server] = (await redis.get(key))!.split("|");
    return { form: "finished", state, attempt: Number(attempt), finishedMs: Number(finishedMs), serverId: server.join("|") };
  }
  return { form: "absent" };
}

/** The state (`st`) of task `id` of `queue` in the dispatch state, or null when it has none. */
export async function readTaskState(redis: RedisClient, prefix: string, queue: string, id: string): Promise<string | null> {
  const contents = await readTaskKey(redis, prefix, queue, id);
  return contents.form === "absent" ? null : contents.state;
}
