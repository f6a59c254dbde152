import type { Redis } from "ioredis";
import { DispatchKeys } from "../../server/redis/keys.js";

/** Deletes every key of the dispatch state under `prefix`, as if Redis had lost its data. */
export async function wipeDispatchState(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of new DispatchKeys(prefix).allKeyPatterns) {
    const keys = await redis.keys(pattern);
    // One key per DEL: keys of different queues sit in different hash slots.
    await Promise.all(keys.map((key) => redis.del(key)));
  }
}
