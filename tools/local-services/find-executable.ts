import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";

/**
 * Looks for an executable named `name` on `PATH`, then in `extraDirs` in order.
 * Resolves the first path that exists and is executable, or undefined.
 */
export async function findExecutable(
  name: string,
  extraDirs: readonly string[] = [],
  pathVariable: string | undefined = process.env.PATH,
): Promise<string | undefined> {
  const dirs = [...(pathVariable ?? "").split(delimiter).filter((dir) => dir.length > 0), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Tells whether `path` exists and is executable by the current user. */
export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
