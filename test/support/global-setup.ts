import type { TestProject } from "vitest/node";
import { startPostgresProcess, type PostgresProcess } from "../../server/dev/postgres-process.js";
import { startRedisProcess, type RedisProcess } from "../../server/dev/redis-process.js";
import { ensurePostgres } from "../../server/dev/ensure-postgres.js";
import { ensureRedisServer } from "../../server/dev/ensure-redis-server.js";

/**
 * Vitest global setup: starts one private redis-server and one private Postgres (fsync off)
 * for the whole run, unless TEST_REDIS_URL / TEST_DATABASE_URL name existing ones, and provides
 * their URLs as `redisUrl` and `databaseUrl` (see provided.d.ts). The returned teardown stops
 * what was started here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const givenRedisUrl = nonEmpty(process.env.TEST_REDIS_URL);
  const givenDatabaseUrl = nonEmpty(process.env.TEST_DATABASE_URL);
  // On a fresh Debian machine (as root) the servers are installed on first use.
  if (givenRedisUrl === undefined) await ensureRedisServer();
  if (givenDatabaseUrl === undefined) await ensurePostgres();
  const [redis, postgres] = await Promise.allSettled([
    givenRedisUrl === undefined ? startRedisProcess() : Promise.resolve(undefined),
    givenDatabaseUrl === undefined ? startPostgresProcess({ fsync: false }) : Promise.resolve(undefined),
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
  return teardown;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
