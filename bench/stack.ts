import { Redis } from "ioredis";
import pg from "pg";
import { startPostgresProcess, type PostgresProcess } from "../tools/local-services/postgres-process.js";
import { startRedisProcess, type RedisProcess } from "../tools/local-services/redis-process.js";
import type { Logger } from "../server/observability/logger.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Use this Redis; default a private redis-server. */
  redisUrl?: string;
  /** Start the private Redis with an append-only file fsynced every second. */
  redisAof?: boolean;
  /** Use this Postgres database; default a private Postgres (fsync on). */
  databaseUrl?: string;
  /** Reach the private Redis and Postgres over their unix sockets instead of TCP. */
  unixSockets?: boolean;
  /** Extra server environment. */
  serverEnv?: Record<string, string>;
  /** Extra Node.js flags of the server. */
  serverNodeArgs?: string[];
  /** Profile the server into this folder. */
  serverCpuProfDir?: string;
  logger: Logger;
}

/** Everything a scenario runs against. */
export interface Stack {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly server: ServerProcess;
  /** Process id of the private redis-server, if the stack started one. */
  readonly redisPid: number | undefined;
  /** Process ids of the Redis Cluster's masters in slot order, when the server runs on one (then `redisPid` is undefined). */
  readonly redisMasterPids?: readonly number[];
  /** Process ids of the Redis Cluster's replicas, if it has any. */
  readonly redisReplicaPids?: readonly number[];
  /** Process id of the private postmaster, if the stack started one. */
  readonly postgresPid: number | undefined;
  /** Direct Postgres access for verification and sizes. */
  readonly pool: pg.Pool;
  /** Direct Redis access for memory figures. */
  readonly redis: Redis;
  /**
   * Registers a clean-up run when the stack stops, before its server and services (latest
   * first): services a scenario keeps across its runs, such as the cluster scenario's.
   */
  onStop(cleanup: () => Promise<void>): void;
  /** Runs the clean-ups, stops the server, then what the stack started. */
  stop(): Promise<void>;
}

/**
 * Starts (or attaches to) Redis and Postgres and starts the server against them. Postgres
 * runs with fsync on, as in production.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { logger } = options;
  const started: Array<RedisProcess | PostgresProcess> = [];
  try {
    const [redisProcess, postgresProcess] = await Promise.all([
      options.redisUrl === undefined
        ? startRedisProcess({ logger, args: options.redisAof ? ["--appendonly", "yes", "--appendfsync", "everysec"] : [] })
        : undefined,
      options.databaseUrl === undefined ? startPostgresProcess({ fsync: true, logger }) : undefined,
    ]);
    if (redisProcess) started.push(redisProcess);
    if (postgresProcess) started.push(postgresProcess);
    const privateUrl = (service: RedisProcess | PostgresProcess) => (options.unixSockets ? service.socketUrl : service.url);
    const redisUrl = options.redisUrl ?? privateUrl(redisProcess!);
    const databaseUrl = options.databaseUrl ?? privateUrl(postgresProcess!);
    const server = await startServerProcess({
      databaseUrl,
      redisUrl,
      env: options.serverEnv,
      nodeArgs: options.serverNodeArgs,
      cpuProfDir: options.serverCpuProfDir,
    });
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    pool.on("error", (error) => logger.warn({ err: error }, "postgres probe connection error"));
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    redis.on("error", (error) => logger.warn({ err: error }, "redis probe connection error"));
    const cleanups: Array<() => Promise<void>> = [];
    return {
      redisUrl,
      databaseUrl,
      server,
      redisPid: redisProcess?.pid,
      postgresPid: postgresProcess?.pid,
      pool,
      redis,
      onStop: (cleanup) => void cleanups.push(cleanup),
      async stop() {
        for (const cleanup of cleanups.splice(0).reverse()) {
          await cleanup().catch((error: unknown) => logger.warn({ err: error }, "stopping a scenario's services failed"));
        }
        await server.stop();
        await pool.end();
        redis.disconnect();
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.stop()));
    throw error;
  }
}
