import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ChildHandle } from "../child-handle.js";
import type { RiverConfig } from "../children/messages.js";
import { BenchVerificationError } from "../errors.js";
import { riverProgram } from "../river-program.js";
import { split, uniqueQueue, type Scenario, type ScenarioContext } from "./context.js";
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

/** Builds (once) the River program and creates or upgrades River's tables. */
async function prepare(context: ScenarioContext): Promise<string> {
  const command = await riverProgram();
  await run(command, ["migrate", JSON.stringify({ databaseUrl: context.stack.databaseUrl })]);
  return command;
}

/** Completed jobs of `queue` in river_job (River keeps completed jobs for 24 hours by default). */
async function completedJobs(context: ScenarioContext, queue: string): Promise<number> {
  const { rows } = await context.stack.pool.query<{ n: string }>(
    "select count(*) as n from river_job where queue = $1 and state = 'completed'",
    [queue],
  );
  return Number(rows[0]!.n);
}

function riverScenario(variant: RiverVariant): Scenario {
  return async (context) => {
    const { options, stack } = context;
    const command = await prepare(context);
    const queue = uniqueQueue(variant.label).replaceAll("_", "-");
    const maxWorkers = variant.maxWorkers ?? options.concurrency;
    const config = (count: number): RiverConfig => ({
      databaseUrl: stack.databaseUrl,
      queue,
      count,
      batchSize: options.batchSize,
      inFlight: options.batchesInFlight,
      maxWorkers,
      fetchCooldownMs: variant.fetchCooldownMs,
      fetchPollIntervalMs: variant.fetchPollIntervalMs,
    });
    const start = (role: string, count: number, i: number) =>
      new ChildHandle(`${variant.label}-${role}#${i + 1}`, role, config(count), { command });
    return runPeerBurst(context, variant.label, {
      workers: Array.from({ length: options.workers }, (_, i) => start("worker", 0, i)),
      producers: split(options.tasks, options.producers).map((count, i) => start("producer", count, i)),
      verify: async (jobs) => {
        const completed = await completedJobs(context, queue);
        if (completed !== jobs) throw new BenchVerificationError(`${variant.label}: ${completed} completed rows in river_job for ${jobs} jobs`);
      },
      note:
        `${variant.label}: River (Go), ${options.workers} workers × MaxWorkers ${maxWorkers}, ${variant.note}; ` +
        `${options.producers} producers × ${options.batchesInFlight} InsertMany calls in flight of ${options.batchSize} jobs; ` +
        "a job counts once River's completer has stored it completed (JobCompleted event)",
    });
  };
}

/** river: the burst workload on River with the settings of River's own benchmark. */
export const river: Scenario = riverScenario(TUNED);

/** river_defaults: the same at River's default fetch settings, with `--concurrency` workers. */
export const riverDefaults: Scenario = riverScenario(DEFAULTS);
