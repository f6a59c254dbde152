import type { Logger } from "../../server/observability/logger.js";
import { BinaryNotFoundError } from "../local-services/errors.js";
import { findRedisServer } from "../local-services/redis-binary.js";
import { runShell } from "./apt-install.js";

/** The command that installs Debian's redis-server. */
export const REDIS_INSTALL_COMMAND = "apt-get update && apt-get install -y redis-server";

/** Options for {@link ensureRedisServer}. */
export interface EnsureRedisServerOptions {
  /** Install with apt-get when missing and running as root. Default true. */
  install?: boolean;
  /** Logs the installation. */
  logger?: Logger;
  /** Where apt-get's output goes: the terminal (`inherit`, default) or discarded (`ignore`). */
  stdio?: "inherit" | "ignore";
}

/**
 * Returns the path of `redis-server` for `npm run dev`. When it is missing and the process runs as root, installs
 * Debian's `redis-server` package (`apt-get update && apt-get install -y redis-server`,
 * non-interactive); otherwise throws {@link BinaryNotFoundError} naming the command to run.
 */
export async function ensureRedisServer(options: EnsureRedisServerOptions = {}): Promise<string> {
  const found = await findRedisServer();
  if (found !== undefined) return found;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || options.install === false) {
    throw new BinaryNotFoundError(
      "redis-server",
      `redis-server was not found on PATH, /usr/bin or /usr/sbin. Install it with:\n` +
        `  sudo apt-get update && sudo apt-get install -y redis-server\n` +
        `(macOS: brew install redis), or set REDIS_URL to an existing server.`,
    );
  }
  options.logger?.info({ command: REDIS_INSTALL_COMMAND }, "redis-server not found, installing it");
  await runShell(REDIS_INSTALL_COMMAND, options.stdio ?? "inherit");
  const installed = await findRedisServer();
  if (installed === undefined) {
    throw new BinaryNotFoundError("redis-server", `redis-server is still missing after: ${REDIS_INSTALL_COMMAND}`);
  }
  return installed;
}
