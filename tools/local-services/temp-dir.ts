import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temporary folder that is removed by `remove()`, or at the latest when this process exits. */
export interface TempDir {
  /** Absolute path of the folder. */
  readonly path: string;
  /** Removes the folder and its content now. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Creates a fresh folder under the system temp folder, named `<prefix>XXXXXX`. Should the process
 * exit before `remove()` (e.g. a test run interrupted by a signal), the folder is removed from
 * the process's `exit` event.
 */
export async function createTempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  const removeAtExit = (): void => rmSync(path, { recursive: true, force: true });
  process.on("exit", removeAtExit);
  let removed = false;
  return {
    path,
    async remove() {
      if (removed) return;
      removed = true;
      process.off("exit", removeAtExit);
      await rm(path, { recursive: true, force: true });
    },
  };
}
