import type { Logger } from "../observability/logger.js";
import { runShell } from "./apt-install.js";
import { findPostgresBinDir } from "./postgres-binaries.js";

/** The command that installs Debian's Postgres server. */
export const POSTGRES_INSTALL_COMMAND = "apt-get update && apt-get install -y --no-install-recommends postgresql";

/**
 * Returns the folder of the Postgres server binaries (initdb, postgres). When they are
 * missing and the process runs as root, installs Debian's `postgresql` package; otherwise
 * throws {@link BinaryNotFoundError} naming the command to run.
 */
export async function ensurePostgres(options: { logger?: Logger; stdio?: "inherit" | "ignore" } = {}): Promise<string> {
  try {
    return await findPostgresBinDir();
  } catch (error) {
    if (process.getuid?.() !== 0) throw error;
    options.logger?.info({ command: POSTGRES_INSTALL_COMMAND }, "postgres not found, installing it");
    await runShell(POSTGRES_INSTALL_COMMAND, options.stdio ?? "inherit");
    return findPostgresBinDir();
  }
}
