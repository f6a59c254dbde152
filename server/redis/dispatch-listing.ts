import type { RedisClient } from "./connection.js";
import type { QueueKeys } from "./keys.js";

/** Members asked for per ZSCAN call. */
const SCAN_COUNT = 1000;

/**
 * The ids of every task one queue's dispatch state holds as leased, delayed or ready, in pages
 * (a leased or delayed task may show up twice when it moves while the listing runs). Plain
 * commands on the queue's keys, one slot: for the recovery that follows a Redis Cluster
 * failover (see Recovery), never the dispatch path. Ready sets are found through the types
 * registry: a key-less type `t` has `r:t`; a keyed one (`~t`) has `k:t <key>` for the keys in
 * its round-robin ring, and the keys parked at their limit name their types.
 */
export async function* dispatchedTaskIds(redis: RedisClient, qk: QueueKeys): AsyncGenerator<string[]> {
  yield* scanZset(redis, qk.leases);
  yield* scanZset(redis, qk.delayed);
  const types = await redis.smembers(qk.types);
  // Keyed ready sets by type: the keys in the type's ring, and those parked at their limit
  // (a type whose keys are all parked may have left the types registry).
  const keyed = new Map<string, Set<string>>();
  const keysOf = (type: string) => keyed.get(type) ?? keyed.set(type, new Set()).get(type)!;
  for (const [key, parkedTypes] of Object.entries(await redis.hgetall(qk.keysParked))) {
    for (const type of parkedTypes.split(" ")) if (type !== "") keysOf(type).add(key);
  }
  for (const name of types) {
    if (!name.startsWith("~")) {
      yield* scanZset(redis, qk.ready(name));
      continue;
    }
    for (const key of await redis.zrange(qk.keyRing(name.slice(1)), 0, -1)) keysOf(name.slice(1)).add(key);
  }
  for (const [type, keys] of keyed) for (const key of keys) yield* scanZset(redis, qk.keyedReady(type, key));
}

/** The members of sorted set `key`, a ZSCAN page at a time (non-empty pages only). */
async function* scanZset(redis: RedisClient, key: string): AsyncGenerator<string[]> {
  let cursor = "0";
  do {
    const [next, flat] = await redis.zscan(key, cursor, "COUNT", SCAN_COUNT);
    cursor = next;
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(flat[i]!);
    if (ids.length > 0) yield ids;
  } while (cursor !== "0");
}
