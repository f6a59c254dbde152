import { join } from "node:path";
import type { CompiledDevStackOptions } from "./dev-options.js";
import { startEmbeddedPostgres } from "../local-services/embedded-postgres.js";
import { ensureRedisServer } from "./ensure-redis-server.js";
import { findFreePort, isPortFree } from "../local-services/free-port.js";
import { startRedisProcess } from "../local-services/redis-process.js";

/** Redis and Postgres as used by the dev stack: given by URL, or started here. */
export interface DevServices {
  /** The DATABASE_URL handed to the children. */
  databaseUrl: string;
  /** The REDIS_URL handed to the children. */
  redisUrl: string;
  /** Pool size the server must not exceed (the embedded database serves one connection), if any. */
  databasePoolSize: number | undefined;
  /** One human-readable line per service, e.g. `postgres: embedded PGlite (.data/pglite) at postgres://…`. */
  descriptions: string[];
  /** Stops what was started here (Redis, then PGlite); given URLs are left alone. */
  stop(): Promise<void>;
}

/**
 * Resolves the dev stack's Postgres and Redis: the configured URLs when set; otherwise an
 * embedded PGlite under `<dataDir>/pglite` and a private redis-server under `<dataDir>/redis`
 * on the preferred port when free (installing redis-server when missing and allowed).
 * Whatever was started is stopped again if a later step fails.
 */
export async function startDevServices(options: CompiledDevStackOptions): Promise<DevServices> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const descriptions: string[] = [];
    let databaseUrl = options.databaseUrl;
    let databasePoolSize: number | undefined;
    if (databaseUrl === undefined) {
      const dataDir = join(options.dataDir, "pglite");
      const embedded = await startEmbeddedPostgres({ dataDir });
      stops.push(() => embedded.stop());
      databaseUrl = embedded.url;
      databasePoolSize = embedded.maxConnections;
      descriptions.push(`postgres: embedded PGlite (${dataDir}, one connection at a time) at ${databaseUrl}`);
    } else {
      descriptions.push(`postgres: DATABASE_URL ${redactPassword(databaseUrl)}`);
    }
    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      const binary = await ensureRedisServer();
      const port = (await isPortFree(options.redisPort)) ? options.redisPort : await findFreePort();
      const dir = join(options.dataDir, "redis");
      const redis = await startRedisProcess({ binary, port, dir });
      stops.push(() => redis.stop());
      redisUrl = redis.url;
      descriptions.push(`redis: private redis-server (${dir}, pid ${redis.pid}) at ${redisUrl}`);
    } else {
      descriptions.push(`redis: REDIS_URL ${redactPassword(redisUrl)}`);
    }
    return { databaseUrl, redisUrl, databasePoolSize, descriptions, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Replaces the password of a URL with `***` for display. */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "") return url;
    parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}
