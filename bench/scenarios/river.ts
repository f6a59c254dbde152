import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ChildHandle } from "../child-handle.js";
import type { RiverConfig } from "../children/messages.js";
import { BenchVerificationError } from "../errors.js";
import { riverProgram } from "../river-program.js";
import { split, uniqueQueue, type Scenario, type ScenarioContext } from "./context.js";
import { measureLatency, peerRateConfig, workloadNote } from "./latency.js";
import { runPeerBurst } from "./peer-burst.js";

const run = promisify(execFile);

/** Worker settings of one River variant. */
interface RiverVariant {
  label: string;
  /** MaxWorkers per worker process; undefined = `--concurrency`. */
  maxWorkers?: number;
  /** 0 = River's default. */
  fetchCooldownMs: number;
  fetchPollIntervalMs: number;
  note: string;
}

/** The settings of River's own benchmark. */
const TUNED: RiverVariant = {
  label: "river",
  maxWorkers: 2_000,
  fetchCooldownMs: 2,
  fetchPollIntervalMs: 20,
  note: "FetchCooldown 2 ms, FetchPollInterval 20 ms (with MaxWorkers 2000: the settings of River's own benchmark)",
};

/** River at its defaults, with `--concurrency` workers. */
const DEFAULTS: RiverVariant = {
  label: "river_defaults",
  fetchCooldownMs: 0,
  fetchPollIntervalMs: 0,
  note: "FetchCooldown 100 ms, FetchPollInterval 1 s (its defaults)",
};

/** Schema of River's tables in the harness's database (not the search path, to stay clear of a real River). */
const SCHEMA = "taskqueue_bench_river";

/** Builds (once) the River program and creates or upgrades River's tables. */
async function prepare(context: ScenarioContext): Promise<string> {
  const command = await riverProgram();
  await context.stack.pool.query(`create schema if not exists ${SCHEMA}`);
  await run(command, ["migrate", JSON.stringify({ databaseUrl: context.stack.databaseUrl, schema: SCHEMA })]);
  return command;
}

/** Completed jobs of `queue` in river_job (River keeps completed jobs for 24 hours by default). */
async function completedJobs(context: ScenarioContext, queue: string): Promise<number> {
  const { rows } = await context.stack.pool.query<{ n: string }>(
    `select count(*) as n from ${SCHEMA}.river_job where queue = $1 and state = 'completed'`,
    [queue],
  );
  return Number(rows[0]!.n);
}

/** Starts River processes of the run: `role` (worker or producer) with `config`. */
function starter(variant: RiverVariant, command: string) {
  return (role: "worker" | "producer", config: RiverConfig, i: number) =>
    new ChildHandle(`${variant.label}-${role}#${i + 1}`, role, config, { command });
}

function baseConfig(context: ScenarioContext, variant: RiverVariant, queue: string): RiverConfig {
  const { options, stack } = context;
  return {
    databaseUrl: stack.databaseUrl,
    schema: SCHEMA,
    queue,
    count: 0,
    batchSize: options.batchSize,
    inFlight: options.batchesInFlight,
    maxWorkers: variant.maxWorkers ?? options.concurrency,
    fetchCooldownMs: variant.fetchCooldownMs,
    fetchPollIntervalMs: variant.fetchPollIntervalMs,
  };
}

/** A River queue name unique to one run. */
function riverQueue(label: string): string {
  return uniqueQueue(label).replaceAll("_", "-");
}

function riverScenario(variant: RiverVariant): Scenario {
  return async (context) => {
    const { options } = context;
    const start = starter(variant, await prepare(context));
    const queue = riverQueue(variant.label);
    const base = baseConfig(context, variant, queue);
    return runPeerBurst(context, variant.label, {
      workers: Array.from({ length: options.workers }, (_, i) => start("worker", base, i)),
      producers: split(options.tasks, options.producers).map((count, i) => start("producer", { ...base, count }, i)),
      verify: async (jobs) => {
        const completed = await completedJobs(context, queue);
        if (completed !== jobs) throw new BenchVerificationError(`${variant.label}: ${completed} completed rows in river_job for ${jobs} jobs`);
      },
      note:
        `${variant.label}: River (Go), ${options.workers} workers × MaxWorkers ${base.maxWorkers}, ${variant.note}; ` +
        `${options.producers} producers × ${options.batchesInFlight} InsertMany calls in flight of ${options.batchSize} jobs; ` +
        "a job counts once River's completer has stored it completed (JobCompleted event)",
    });
  };
}

/**
 * latency_river: the latency workload (see `latency`) on River with the settings of its own
 * benchmark: one producer inserts `--rate` jobs a second, `--rate-batch` per InsertMany call.
 * dispatch = created_at (Postgres clock, to the microsecond) → Work starts; e2e = insert call
 * start → the JobCompleted event (the completion is stored).
 */
export const latencyRiver: Scenario = async (context) => {
  const { options } = context;
  const start = starter(TUNED, await prepare(context));
  const base = { ...baseConfig(context, TUNED, riverQueue("latency_river")), record: true, workMs: options.workMs };
  const rate = peerRateConfig(options);
  const workers = Array.from({ length: options.workers }, (_, i) => start("worker", base, i));
  const result = await measureLatency(context, "latency_river", workers, [start("producer", { ...base, ...rate }, 0)], false);
  result.notes = [
    `latency_river: InsertMany of ${options.rateBatch} at ${options.rate} jobs/s for ${options.durationS} s after ${options.warmupS} s of warm-up, ` +
      `${options.workers} workers × MaxWorkers ${base.maxWorkers}, ${TUNED.note}; dispatch = created_at → Work starts; ` +
      "e2e = insert call start → JobCompleted event" +
      workloadNote(options),
  ];
  return result;
};

/** river: the burst workload on River with the settings of River's own benchmark. */
export const river: Scenario = riverScenario(TUNED);

/** river_defaults: the same at River's default fetch settings, with `--concurrency` workers. */
export const riverDefaults: Scenario = riverScenario(DEFAULTS);
