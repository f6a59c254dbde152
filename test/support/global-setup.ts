import type { TestProject } from "vitest/node";
import { startPostgresProcess, type PostgresProcess } from "../../tools/local-services/postgres-process.js";
import { startRedisProcess, type RedisProcess } from "../../tools/local-services/redis-process.js";
import { startRedisCluster, type LocalRedisCluster } from "../../tools/local-services/redis-cluster.js";
import { requireServiceBinaries } from "./service-binaries.js";

/**
 * Vitest global setup: starts one private redis-server and one private Postgres (fsync off)
 * for the whole run, unless TEST_REDIS_URL / TEST_DATABASE_URL name existing ones, and provides
 * their URLs as `redisUrl` and `databaseUrl` (see provided.d.ts). The returned teardown stops
 * what was started here. When redis-server or the Postgres server is not installed it fails at
 * once, saying what to install; it never installs system packages itself.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const givenRedisUrl = nonEmpty(process.env.TEST_REDIS_URL);
  const givenDatabaseUrl = nonEmpty(process.env.TEST_DATABASE_URL);
  const binaries = await requireServiceBinaries({ redis: givenRedisUrl === undefined, postgres: givenDatabaseUrl === undefined });
  const [redis, postgres] = await Promise.allSettled([
    givenRedisUrl === undefined ? startRedisProcess({ binary: binaries.redisServer }) : Promise.resolve(undefined),
    givenDatabaseUrl === undefined
      ? startPostgresProcess({ fsync: false, binDir: binaries.postgresBinDir })
      : Promise.resolve(undefined),
  ]);
  const started: Array<RedisProcess | PostgresProcess> = [];
  for (const result of [redis, postgres]) {
    if (result.status === "fulfilled" && result.value !== undefined) started.push(result.value);
  }
  const teardown = async (): Promise<void> => {
    await Promise.all(started.map((service) => service.stop()));
  };
  if (redis.status === "rejected" || postgres.status === "rejected") {
    await teardown();
    throw redis.status === "rejected" ? redis.reason : (postgres as PromiseRejectedResult).reason;
  }
  project.provide("redisUrl", givenRedisUrl ?? (redis.value as RedisProcess).url);
  project.provide("databaseUrl", givenDatabaseUrl ?? (postgres.value as PostgresProcess).url);
  // TEST_REDIS_CLUSTER=1: the test servers (test-server.ts, fault-stack.ts) use a Redis Cluster.
  let cluster: LocalRedisCluster | undefined;
  if (nonEmpty(process.env.TEST_REDIS_CLUSTER) !== undefined && process.env.TEST_REDIS_CLUSTER !== "0") {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 }).catch(async (error: unknown) => {
      await teardown();
      throw error;
    });
  }
  project.provide("redisClusterNodes", cluster?.seeds ?? "");
  return async () => {
    await cluster?.stop();
    await teardown();
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
