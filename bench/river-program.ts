import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BENCH_DIR } from "./paths.js";

const run = promisify(execFile);

/** The River peer's Go module. */
export const RIVER_MODULE_DIR = join(BENCH_DIR, "river");

/** Where built peer programs are kept between runs (and between checkouts of the same sources). */
function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "taskqueue-bench");
}

/** `go`, from PATH or Go's usual install folder. */
function goCommand(): string {
  return existsSync("/usr/local/go/bin/go") && !process.env.PATH?.split(":").some((dir) => existsSync(join(dir, "go")))
    ? "/usr/local/go/bin/go"
    : "go";
}

/** A digest of the module's sources (go.mod, go.sum, *.go): the cache key of its build. */
async function sourceDigest(): Promise<string> {
  const hash = createHash("sha256");
  const files = (await readdir(RIVER_MODULE_DIR)).filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go")).sort();
  for (const file of files) hash.update(file).update("\0").update(await readFile(join(RIVER_MODULE_DIR, file))).update("\0");
  return hash.digest("hex").slice(0, 16);
}

let built: Promise<string> | undefined;

/**
 * Path of the River peer's executable (bench/river), built with `go build` the first time its
 * sources are seen and reused after that (Go downloads River and pgx from the module proxy on
 * the first build). Throws if Go is missing or the build fails.
 */
export function riverProgram(): Promise<string> {
  built ??= (async () => {
    const target = join(cacheDir(), `river-bench-${await sourceDigest()}`);
    if (existsSync(target)) return target;
    await mkdir(cacheDir(), { recursive: true });
    const partial = `${target}.${process.pid}.tmp`;
    try {
      await run(goCommand(), ["build", "-o", partial, "."], { cwd: RIVER_MODULE_DIR, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? "";
      throw new Error(`go build of bench/river failed: ${(error as Error).message}\n${stderr}`, { cause: error });
    }
    await rename(partial, target);
    return target;
  })();
  built.catch(() => (built = undefined));
  return built;
}
