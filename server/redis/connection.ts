import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { InvalidArgumentError } from "../errors.js";

/** A connection to the dispatch state: one Redis, or a Redis Cluster (`REDIS_CLUSTER_NODES`). */
export type RedisClient = Redis | Cluster;

/** Where the dispatch state is and how to reach it. */
export interface RedisConnectionOptions {
  /** `REDIS_URL` (single-node mode). */
  url: string;
  /** `REDIS_CLUSTER_NODES`: "" for single-node mode, else comma-separated `host:port` seeds. */
  clusterNodes: string;
  /** `REDIS_USERNAME` ("" for none, or the URL's). */
  username: string;
  /** `REDIS_PASSWORD` ("" for none, or the URL's). */
  password: string;
  /** The `REDIS_TLS_*` files read (see redis-tls.ts), or undefined. */
  tls: ConnectionOptions | undefined;
}

/** The seed nodes of a cluster and what their spelling says about TLS and credentials. */
export interface ClusterSeeds {
  nodes: Array<{ host: string; port: number }>;
  /** Whether the entries are `rediss://` URLs. */
  tls: boolean;
  username?: string;
  password?: string;
}

const ENTRY = /^(?:(rediss?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?)?(\[[^\]]+\]|[^:/@,\s[\]]+):(\d{1,5})\/?$/i;

/**
 * Parses `REDIS_CLUSTER_NODES`: `host:port,host:port,…`, each entry optionally a
 * `redis://` or `rediss://` URL (`rediss://user:password@host:port`; TLS when they are
 * `rediss://`, which must then be every entry's scheme).
 * @throws InvalidArgumentError naming `redisClusterNodes`
 */
export function parseClusterNodes(text: string): ClusterSeeds {
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length === 0) throw new InvalidArgumentError("redisClusterNodes", "REDIS_CLUSTER_NODES: no host:port given");
  const seeds: ClusterSeeds = { nodes: [], tls: false };
  const schemes = new Set<string>();
  for (const entry of entries) {
    const match = ENTRY.exec(entry);
    const port = match ? Number(match[5]) : 0;
    if (!match || port < 1 || port > 65_535) {
      throw new InvalidArgumentError("redisClusterNodes", `REDIS_CLUSTER_NODES: "${entry}" is not host:port (or a redis:// or rediss:// URL of one)`);
    }
    schemes.add((match[1] ?? "redis").toLowerCase());
    if (match[2]) seeds.username = decodeURIComponent(match[2]);
    if (match[3]) seeds.password = decodeURIComponent(match[3]);
    seeds.nodes.push({ host: match[4]!.replace(/^\[|\]$/g, ""), port });
  }
  if (schemes.size > 1) throw new InvalidArgumentError("redisClusterNodes", "REDIS_CLUSTER_NODES: mixes redis:// and rediss:// entries");
  seeds.tls = schemes.has("rediss");
  return seeds;
}

/**
 * Opens a connection to the dispatch state: a `Cluster` when `clusterNodes` is set, else a
 * `Redis` on `url`. `extra` are ioredis options for every node connection (retries, offline
 * queue). With the cluster, TLS is on when the seeds are `rediss://` (with the `REDIS_TLS_*`
 * files, or the system's CAs), and the credentials of the settings, or of the seeds, are
 * those of every node.
 */
export function openRedis(options: RedisConnectionOptions, extra: RedisOptions): RedisClient {
  const auth = {
    ...(options.username !== "" && { username: options.username }),
    ...(options.password !== "" && { password: options.password }),
  };
  if (options.clusterNodes === "") {
    return new Redis(withCredentials(options.url, options.username, options.password), { ...extra, ...(options.tls && { tls: options.tls }) });
  }
  const seeds = parseClusterNodes(options.clusterNodes);
  const redisOptions: RedisOptions = {
    ...extra,
    ...(seeds.username !== undefined && { username: seeds.username }),
    ...(seeds.password !== undefined && { password: seeds.password }),
    ...auth,
    ...(seeds.tls && { tls: options.tls ?? {} }),
  };
  return new Cluster(seeds.nodes, {
    redisOptions,
    scaleReads: "master",
    enableOfflineQueue: extra.enableOfflineQueue ?? true,
    // A failover: retry redirected and refused commands while the replica takes over.
    retryDelayOnFailover: 100,
    retryDelayOnMoved: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    maxRedirections: 32,
    slotsRefreshTimeout: 2_000,
    slotsRefreshInterval: 2_000,
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}

/** `url` with `username` and `password` in place of its own (each only when not ""); ioredis prefers a URL's. */
function withCredentials(url: string, username: string, password: string): string {
  if ((username === "" && password === "") || !/^rediss?:/i.test(url)) return url;
  const parsed = new URL(url);
  if (username !== "") parsed.username = encodeURIComponent(username);
  if (password !== "") parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** Whether `redis` is a Redis Cluster connection. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis.isCluster;
}

/**
 * Runs SCAN with `MATCH pattern` over every key: on each master of a cluster (a SCAN sees only
 * the keys of the node it runs on), else on the one Redis. `onKeys` gets each page.
 */
export async function scanEveryMaster(redis: RedisClient, pattern: string, onKeys: (keys: string[]) => Promise<void>): Promise<void> {
  const nodes = isCluster(redis) ? redis.nodes("master") : [redis];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      if (keys.length > 0) await onKeys(keys);
      cursor = next;
    } while (cursor !== "0");
  }
}

/**
 * Resolves once `redis` answers a PING. One Redis fails on its own after its retries; a
 * cluster retries its slot map forever (a failover must not end the server), so at start-up
 * it is given `timeoutMs`, after which this rejects with the last error seen (for instance a
 * refused password).
 */
export async function firstReply(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (!isCluster(redis)) {
    await redis.ping();
    return;
  }
  // A node's own error (a refused password) says more than the cluster's "Failed to refresh".
  let lastError: unknown;
  let lastNodeError: unknown;
  const remember = (error: unknown) => (lastError = error);
  const rememberNode = (error: unknown) => (lastNodeError = error);
  redis.on("node error", rememberNode);
  redis.on("error", remember);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          const error = lastNodeError ?? lastError;
          const cause = error instanceof Error ? `: ${error.message}` : "";
          reject(new Error(`Redis Cluster (REDIS_CLUSTER_NODES) not ready within ${timeoutMs} ms${cause}`, { cause: error }));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    redis.off("node error", rememberNode);
    redis.off("error", remember);
  }
}
