import type { RedisOptions } from "ioredis";
import { openRedis, scanEveryMaster, type RedisClient } from "../../server/redis/connection.js";
import { DispatchKeys } from "../../server/redis/keys.js";

/**
 * A connection to the dispatch state a test server (or fault stack) uses: its Redis Cluster
 * when it has seeds (a run with TEST_REDIS_CLUSTER=1), else its single Redis.
 */
export function connectDispatchRedis(target: { redisUrl: string; redisClusterNodes: string }, extra: RedisOptions = {}): RedisClient {
  return openRedis({ url: target.redisUrl, clusterNodes: target.redisClusterNodes, username: "", password: "", tls: undefined }, extra);
}

/** Deletes every key of the dispatch state under `prefix`, as if Redis had lost its data. */
export async function wipeDispatchState(redis: RedisClient, prefix: string): Promise<void> {
  for (const pattern of new DispatchKeys(prefix).allKeyPatterns) {
    // SCAN on every master of a cluster; one key per DEL: keys of different queues sit in different hash slots.
    await scanEveryMaster(redis, pattern, async (keys) => {
      await Promise.all(keys.map((key) => redis.del(key)));
    });
  }
}
