import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchVerificationError } from "../errors.js";
import { round } from "../stats.js";
import type { Scenario } from "./context.js";
import { uniqueQueue } from "./context.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const TQ_BIN = join(root, "bin", "tq.js");

/**
 * cli_startup: the `tq` command line as a user starts it: `node bin/tq.js --help`, and
 * `tq task get ID` (start, connect, GetTask, print, exit) against the stack's server, each run
 * one after the other (`--quick`: 10 runs, else 30); with `node -e 0` as the floor of any Node
 * program on the machine. Wall time p50/p90 in ms, and CPU (user + system) p50 in ms, which
 * other load on the machine changes less. Targets: `--help` < 300 ms, `task get` < 500 ms.
 */
export const cliStartup: Scenario = async (context) => {
  if (!existsSync(TQ_BIN)) {
    const { buildCli } = await import("../../scripts/build-cli.mjs");
    await buildCli();
  }
  const server = context.stack.server.grpcAddress;
  const submitted = spawnSync(process.execPath, [TQ_BIN, "--server", server, "task", "submit", "noop", "--queue", uniqueQueue("cli")], { encoding: "utf8" });
  const id = submitted.stdout.trim();
  if (submitted.status !== 0 || id === "") throw new BenchVerificationError(`tq task submit failed: ${submitted.stderr.trim()}`);
  const runs = context.options.quick ? 10 : 30;
  const floor = measure(["-e", "0"], runs);
  const help = measure([TQ_BIN, "--help"], runs);
  const get = measure([TQ_BIN, "--server", server, "task", "get", id], runs);
  return {
    metrics: {
      node_floor_p50_ms: floor.p50,
      help_p50_ms: help.p50,
      help_p90_ms: help.p90,
      help_cpu_p50_ms: help.cpuP50,
      task_get_p50_ms: get.p50,
      task_get_p90_ms: get.p90,
      task_get_cpu_p50_ms: get.cpuP50,
    },
    notes: [`cli_startup: ${runs} runs each, one after the other; node -e 0 took ${floor.p50} ms (p50) on this machine`],
  };
};

/**
 * Loaded first into each measured process: at exit it writes the process's own CPU time
 * (user + system, ms, everything since it started) to fd 3.
 */
const CPU_HOOK =
  "data:text/javascript," +
  encodeURIComponent('import{writeSync}from"node:fs";process.on("exit",()=>{const u=process.cpuUsage();writeSync(3,String((u.user+u.system)/1000))})');

/** Runs `node ARGS` `runs` times; wall and CPU time of the runs, summarised. */
function measure(args: string[], runs: number): { p50: number; p90: number; cpuP50: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const run = spawnSync(process.execPath, ["--import", CPU_HOOK, ...args], { stdio: ["ignore", "ignore", "pipe", "pipe"] });
    wall.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (run.status !== 0) throw new BenchVerificationError(`node ${args.join(" ")} exited ${run.status}: ${String(run.stderr).trim()}`);
    cpu.push(Number(String(run.output[3])));
  }
  const pick = (values: number[], q: number) => round([...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!, 1);
  return { p50: pick(wall, 0.5), p90: pick(wall, 0.9), cpuP50: pick(cpu, 0.5) };
}
