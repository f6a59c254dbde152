import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "../server/observability/logger.js";
import { startRedisCluster, type LocalRedisCluster } from "../tools/local-services/redis-cluster.js";
import type { SlotRanges } from "./cluster-queues.js";
import { startServerProcess } from "./server-process.js";
import type { Stack } from "./stack.js";

/** Options of {@link startClusterStack}. */
export interface ClusterStackOptions {
  /** Masters of the cluster. Default 3. */
  masters?: number;
  /** Replicas of each master. Default 0. */
  replicas?: number;
  /** Extra server environment (the run's `--server-env`). */
  serverEnv?: Record<string, string>;
  /** Extra Node.js flags of the server. */
  serverNodeArgs?: string[];
  /** Profile the server into this folder (beside the base server's profile). */
  serverCpuProfDir?: string;
  logger: Logger;
}

/** A second server on a private Redis Cluster, beside the run's single-Redis stack. */
export interface ClusterStack {
  /** What a scenario runs against: the cluster's server, its own database, the masters' pids. */
  readonly stack: Stack;
  readonly cluster: LocalRedisCluster;
  /** Slot ranges of each master, in the order of `stack.redisMasterPids`. */
  readonly masterSlots: readonly SlotRanges[];
  /** Stops the server and the cluster and drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` masters, without replicas unless asked (`redis-cli --cluster create`,
 * through the local-services starter the tests use too) and a server on it
 * (`REDIS_CLUSTER_NODES`), with a database of its own on the base stack's Postgres: a server
 * sharing the base server's database would take the other's tasks for lost dispatch state
 * and re-enqueue them in its own Redis (recovery sweep). Postgres, its process and its CPU
 * meter are shared; `redis` stays the base stack's single-Redis probe.
 */
export async function startClusterStack(base: Stack, options: ClusterStackOptions): Promise<ClusterStack> {
  const masters = options.masters ?? 3;
  const cluster = await startRedisCluster({ masters, replicas: options.replicas ?? 0, nodeTimeoutMs: 5_000 });
  const database = `taskqueue_cluster_${randomBytes(4).toString("hex")}`;
  let pool: pg.Pool | undefined;
  const dropDatabase = async () => {
    await pool?.end();
    await base.pool.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  };
  try {
    const nodes = await cluster.view();
    const view = nodes.filter((n) => n.role === "master" && n.slots.length > 0).sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
    await base.pool.query(`CREATE DATABASE ${database}`);
    const databaseUrl = base.databaseUrl.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
    pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    pool.on("error", (error) => options.logger.warn({ err: error }, "postgres probe connection error"));
    const server = await startServerProcess({
      databaseUrl,
      redisUrl: base.redisUrl,
      env: { ...options.serverEnv, REDIS_CLUSTER_NODES: cluster.seeds },
      nodeArgs: options.serverNodeArgs,
      cpuProfDir: options.serverCpuProfDir,
    });
    const stack: Stack = {
      redisUrl: base.redisUrl,
      databaseUrl,
      server,
      redisPid: undefined,
      redisMasterPids: view.map((n) => cluster.byAddress(n.address).pid),
      redisReplicaPids: nodes.filter((n) => n.role === "replica").map((n) => cluster.byAddress(n.address).pid),
      postgresPid: base.postgresPid,
      pool,
      redis: base.redis,
      onStop: (cleanup) => base.onStop(cleanup),
      stop: async () => {
        await server.stop();
        await dropDatabase();
        await cluster.stop();
      },
    };
    return { stack, cluster, masterSlots: view.map((n) => n.slots), stop: () => stack.stop() };
  } catch (error) {
    await dropDatabase().catch(() => undefined);
    await cluster.stop();
    throw error;
  }
}
