/**
 * `npm run bench`: starts a private Redis, Postgres (fsync on) and the server (or uses the
 * given URLs), runs the chosen scenarios with worker and producer child processes, prints a
 * table and writes bench/results/latest.json. `npm run bench -- --help` lists the options.
 */
import { cpus, loadavg } from "node:os";
import { pinPostgres } from "./cpu-pinning.js";
import { createLogger } from "../server/observability/logger.js";
import { BenchOptionsError } from "./errors.js";
import { compileBenchOptions, parseBenchArgs, USAGE, type CompiledBenchOptions, type ScenarioName } from "./options.js";
import { compareDispatchPolicy, compareWithBullmq, compareWithDurablePeers, formatTable, machineInfo, summarizeRuns, writeResults, type BenchResults } from "./report.js";
import { compareCluster } from "./report-cluster.js";
import type { ScenarioResult } from "./scenarios/context.js";
import { scenarios } from "./scenarios/index.js";
import { startStack } from "./stack.js";
import { round } from "./stats.js";

function readOptions(): CompiledBenchOptions | undefined {
  try {
    const parsed = parseBenchArgs(process.argv.slice(2));
    if (parsed.help) {
      process.stdout.write(USAGE);
      return undefined;
    }
    return compileBenchOptions(parsed.options);
  } catch (error) {
    if (!(error instanceof BenchOptionsError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function main(): Promise<number> {
  const options = readOptions();
  if (options === undefined) return 0;
  // Each private service and child process adds an exit hook (SIGKILL, temp folder removal):
  // a run with a Redis Cluster has more than Node's default of 10.
  process.setMaxListeners(50);
  const logger = createLogger({ name: "bench", level: options.logLevel });
  const results: BenchResults = {
    started_at: new Date().toISOString(),
    quick: options.quick,
    options: { ...options, redisUrl: options.redisUrl ? "(given)" : undefined, databaseUrl: options.databaseUrl ? "(given)" : undefined },
    machine: machineInfo(),
    scenarios: {},
    vs_bullmq: null,
    vs_durable: null,
    dispatch_policy: compareDispatchPolicy({}),
    cluster: null,
    profile_windows: [],
  };
  say(`starting ${options.redisUrl ? "" : "redis, "}${options.databaseUrl ? "" : "postgres (fsync on), "}server`);
  const stack = await startStack({
    redisUrl: options.redisUrl,
    redisAof: options.redisAof,
    unixSockets: options.unixSockets,
    databaseUrl: options.databaseUrl,
    serverEnv: options.serverEnv,
    serverNodeArgs: options.serverNodeArgs,
    serverCpuProfDir: options.serverCpuProfDir,
    logger,
  });
  if (options.pinPostgres) {
    try {
      say(await pinPostgres(stack, cpus().length));
    } catch (error) {
      await stack.stop();
      throw error;
    }
  }
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    say("interrupted: stopping");
    void stack.stop().finally(() => process.exit(130));
  });
  const runs = new Map<ScenarioName, { results: ScenarioResult[]; errors: string[] }>();
  try {
    // Round-robin over the scenarios so that repeated runs of each see similar conditions.
    for (let run = 1; run <= options.repeat && !interrupted; run++) {
      for (const name of options.scenarios) {
        if (interrupted) break;
        const entry = runs.get(name) ?? { results: [], errors: [] };
        runs.set(name, entry);
        const label = options.repeat > 1 ? `${name} (run ${run}/${options.repeat})` : name;
        say(`${label}…`);
        const startedAt = Date.now();
        try {
          const result = await scenarios[name]({ options, stack, logger });
          entry.results.push(result);
          if (result.windowUs) results.profile_windows.push({ scenario: name, run, from_us: result.windowUs[0], to_us: result.windowUs[1] });
          say(`${label} done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          entry.errors.push(message);
          say(`${label} FAILED: ${message}`);
        }
        results.scenarios[name] = summarizeRuns(entry.results, entry.errors);
        await writeResults(options.out, results);
      }
    }
  } finally {
    say("stopping the stack");
    await stack.stop();
  }
  results.finished_at = new Date().toISOString();
  results.machine.loadavg_end = round(loadavg()[0]!, 2);
  results.vs_bullmq = compareWithBullmq(results.scenarios);
  results.vs_durable = compareWithDurablePeers(results.scenarios);
  results.dispatch_policy = compareDispatchPolicy(results.scenarios);
  results.cluster = compareCluster(results.scenarios);
  await writeResults(options.out, results);
  process.stdout.write(`${formatTable(results)}\n`);
  say(`results written to ${options.out}`);
  if (options.serverCpuProfDir) say(`server CPU profile in ${options.serverCpuProfDir}`);
  return [...runs.values()].some((r) => r.errors.length > 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
