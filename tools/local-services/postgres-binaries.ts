import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { BinaryNotFoundError } from "./errors.js";
import { findExecutable, isExecutable } from "./find-executable.js";

const execFileAsync = promisify(execFile);

/** Where Debian and Ubuntu install the server binaries, one folder per major version. */
const DEBIAN_POSTGRES_ROOT = "/usr/lib/postgresql";

/**
 * Finds the folder holding the Postgres server binaries (`initdb` and `postgres`): from
 * `pg_config --bindir`, then the newest /usr/lib/postgresql/<major>/bin, then `PATH`.
 * Throws {@link BinaryNotFoundError} with the command that installs them.
 */
export async function findPostgresBinDir(): Promise<string> {
  for (const candidate of await candidateBinDirs()) {
    if ((await isExecutable(join(candidate, "initdb"))) && (await isExecutable(join(candidate, "postgres")))) {
      return candidate;
    }
  }
  throw new BinaryNotFoundError(
    "postgres",
    "The Postgres server binaries (initdb, postgres) were not found via pg_config, /usr/lib/postgresql/*/bin or PATH. " +
      "Install them with:\n  sudo apt-get update && sudo apt-get install -y postgresql\n(macOS: brew install postgresql)",
  );
}

async function candidateBinDirs(): Promise<string[]> {
  const dirs: string[] = [];
  try {
    const { stdout } = await execFileAsync("pg_config", ["--bindir"]);
    if (stdout.trim().length > 0) dirs.push(stdout.trim());
  } catch {
    // pg_config is absent or broken: try the other places.
  }
  try {
    const versions = (await readdir(DEBIAN_POSTGRES_ROOT))
      .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
      .sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((version) => join(DEBIAN_POSTGRES_ROOT, version, "bin")));
  } catch {
    // Not a Debian-style layout.
  }
  const initdb = await findExecutable("initdb");
  if (initdb !== undefined) dirs.push(dirname(initdb));
  return dirs;
}
