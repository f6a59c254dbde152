import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { childPids } from "./cpu-meter.js";
import type { Stack } from "./stack.js";

const run = promisify(execFile);

/** Confines every thread of `pid` to `cpus` (a `taskset` list such as `0` or `1-3`). */
async function pin(pid: number, cpus: string): Promise<void> {
  await run("taskset", ["-a", "-c", "-p", cpus, String(pid)]);
}

/**
 * The Postgres-bound shape: the private Postgres (postmaster and its backends, and so every
 * backend it starts later) on CPU 0; the harness process (and so every producer and worker it
 * starts later, of every system), the server and Redis on the other CPUs. Needs the stack's own
 * Postgres and Redis, `taskset` (util-linux) and at least 2 CPUs. Returns a note for the report.
 */
export async function pinPostgres(stack: Stack, cpuCount: number): Promise<string> {
  if (stack.postgresPid === undefined || stack.redisPid === undefined) {
    throw new Error("--pin-postgres needs the harness's own Postgres and Redis (no --database-url or --redis-url)");
  }
  if (cpuCount < 2) throw new Error(`--pin-postgres needs at least 2 CPUs, this machine has ${cpuCount}`);
  const others = cpuCount === 2 ? "1" : `1-${cpuCount - 1}`;
  for (const pid of [stack.postgresPid, ...(await childPids(stack.postgresPid))]) await pin(pid, "0").catch(() => undefined);
  for (const pid of [process.pid, stack.server.pid, stack.redisPid]) await pin(pid, others);
  return `--pin-postgres: Postgres on CPU 0; the server, Redis, the harness and every producer and worker on CPU ${others}`;
}
