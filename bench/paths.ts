import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Folder of the benchmark harness. */
export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** Root of the repository (where package.json is). */
export const REPO_ROOT = dirname(BENCH_DIR);

/** Default results file. */
export const DEFAULT_RESULTS_FILE = join(BENCH_DIR, "results", "latest.json");

/** Path of a child-process entry module under `bench/children/`. */
export function childScript(name: string): string {
  return join(BENCH_DIR, "children", name);
}
