import { findExecutable } from "./find-executable.js";

/** Directories searched for `redis-server` after `PATH`. */
const REDIS_SERVER_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin"];

/** Finds `redis-server` on `PATH`, then in /usr/bin, /usr/sbin and /usr/local/bin. */
export function findRedisServer(): Promise<string | undefined> {
  return findExecutable("redis-server", REDIS_SERVER_DIRS);
}
