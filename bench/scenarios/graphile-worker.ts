import { ChildHandle } from "../child-handle.js";
import type { GraphileConfig } from "../children/messages.js";
import { BenchVerificationError } from "../errors.js";
import { split, type Scenario, type ScenarioContext } from "./context.js";
import { measureLatency, peerRateConfig, workloadNote } from "./latency.js";
import { runPeerBurst } from "./peer-burst.js";

/** Worker settings of one graphile-worker variant (beside `--concurrency`). */
interface GraphileVariant {
  label: string;
  poolSize: number;
  localQueueSize?: number;
  completeJobBatchDelay?: number;
  note: string;
}

/** graphile-worker's documented throughput settings. */
const TUNED: GraphileVariant = {
  label: "graphile_worker",
  poolSize: 25,
  localQueueSize: 500,
  completeJobBatchDelay: 0,
  note: "pool 25, localQueue.size 500, completeJobBatchDelay 0 (its documented throughput settings)",
};

/** graphile-worker at its defaults: pool 10, one fetch per job, one delete per completion. */
const DEFAULTS: GraphileVariant = {
  label: "graphile_worker_defaults",
  poolSize: 10,
  note: "pool 10, no local queue, no completion batching (its defaults)",
};

/** graphile-worker's schema in the harness's database (not its default, to stay clear of a real one). */
const SCHEMA = "taskqueue_bench_graphile_worker";

/** Creates or upgrades graphile-worker's schema, and empties its job table (jobs of failed runs). */
async function prepareSchema(context: ScenarioContext): Promise<void> {
  const { runMigrations } = await import("graphile-worker");
  await runMigrations({ connectionString: context.stack.databaseUrl, schema: SCHEMA });
  await context.stack.pool.query(`delete from ${SCHEMA}._private_jobs`);
}

/** Jobs graphile-worker holds (it deletes a job when it completes it). */
async function jobsLeft(context: ScenarioContext): Promise<number> {
  const { rows } = await context.stack.pool.query<{ n: string }>(`select count(*) as n from ${SCHEMA}._private_jobs`);
  return Number(rows[0]!.n);
}

/** Jobs ever inserted (the id sequence moves by one per inserted job). */
async function jobsInserted(context: ScenarioContext): Promise<bigint> {
  const { pool } = context.stack;
  const { rows: found } = await pool.query<{ seq: string }>(`select pg_get_serial_sequence('${SCHEMA}._private_jobs', 'id') as seq`);
  const { rows } = await pool.query<{ n: string }>(`select case when is_called then last_value else 0 end as n from ${found[0]!.seq}`);
  return BigInt(rows[0]!.n);
}

function start(
  context: ScenarioContext,
  variant: GraphileVariant,
  role: GraphileConfig["role"],
  count: number,
  index: number,
  extra: Partial<GraphileConfig> = {},
): ChildHandle {
  const { options, stack } = context;
  const config: GraphileConfig = {
    role,
    databaseUrl: stack.databaseUrl,
    schema: SCHEMA,
    count,
    batchSize: options.batchSize,
    inFlight: options.batchesInFlight,
    concurrency: options.concurrency,
    poolSize: variant.poolSize,
    localQueueSize: variant.localQueueSize,
    completeJobBatchDelay: variant.completeJobBatchDelay,
    ...extra,
  };
  return new ChildHandle(`${variant.label}-${role}#${index + 1}`, "graphile-runner.ts", config);
}

function graphileScenario(variant: GraphileVariant): Scenario {
  return async (context) => {
    const { options } = context;
    await prepareSchema(context);
    const insertedBefore = await jobsInserted(context);
    return runPeerBurst(context, variant.label, {
      workers: Array.from({ length: options.workers }, (_, i) => start(context, variant, "worker", 0, i)),
      producers: split(options.tasks, options.producers).map((count, i) => start(context, variant, "producer", count, i)),
      verify: async (jobs) => {
        const inserted = Number((await jobsInserted(context)) - insertedBefore);
        const left = await jobsLeft(context);
        if (inserted !== jobs || left !== 0) {
          throw new BenchVerificationError(`${variant.label}: ${inserted} jobs inserted in Postgres for ${jobs}, ${left} not completed`);
        }
      },
      note:
        `${variant.label}: graphile-worker, ${options.workers} workers × concurrency ${options.concurrency}, ${variant.note}; ` +
        `${options.producers} producers × ${options.batchesInFlight} addJobs calls in flight of ${options.batchSize} jobs; ` +
        "a job counts once its delete (graphile-worker keeps no completed jobs) has returned from Postgres",
    });
  };
}

/** graphile_worker: the burst workload on graphile-worker with its documented throughput settings. */
export const graphileWorker: Scenario = graphileScenario(TUNED);

/** graphile_worker_defaults: the same at graphile-worker's defaults (but `--concurrency`). */
export const graphileWorkerDefaults: Scenario = graphileScenario(DEFAULTS);

/**
 * latency_graphile_worker: the latency workload (see `latency`) on graphile-worker with its
 * throughput settings: one producer adds `--rate` jobs a second (addJob, or addJobs of
 * `--rate-batch`), and workers woken by its LISTEN/NOTIFY run them. dispatch = created_at (Postgres clock, read to the
 * millisecond) → task start; e2e = addJob call start → the completing delete has returned.
 */
export const latencyGraphileWorker: Scenario = async (context) => {
  const { options } = context;
  await prepareSchema(context);
  const rate = peerRateConfig(options);
  const workers = Array.from({ length: options.workers }, (_, i) => start(context, TUNED, "worker", 0, i, { record: true, workMs: options.workMs }));
  const producers = [start(context, TUNED, "producer", 0, 0, rate)];
  const result = await measureLatency(context, "latency_graphile_worker", workers, producers, false);
  result.notes = [
    `latency_graphile_worker: ${options.rateBatch === 1 ? "addJob" : `addJobs of ${options.rateBatch}`} at ${options.rate} jobs/s for ${options.durationS} s after ${options.warmupS} s of warm-up, ` +
      `${options.workers} workers × concurrency ${options.concurrency}, ${TUNED.note}; dispatch = created_at (to the millisecond) → task start; ` +
      "e2e = add call start → its completing delete returned" +
      workloadNote(options),
  ];
  return result;
};
