import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { QueueService } from "../../gen/taskqueue/v1/queue_service_pb.js";
import { stopAll } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import { queueSpan, waitForSucceeded } from "../probes.js";
import { deadlineMs, monotonicUs, uniqueQueue, type Scenario, type ScenarioContext, type ScenarioResult } from "./context.js";
import { CompletionTally, ready, runProducers, runRatesAroundSubmission, startProducers, startWorkers, submitWindow } from "./fleet.js";
import { meterRun } from "./usage.js";

/**
 * throughput_batch: `--tasks` no-op tasks submitted with SubmitTasks in batches by the
 * producer processes, run by the SDK worker processes. Tasks/s from the first submit call to
 * the last result acknowledged (committed), then checked against Postgres.
 */
export const throughputBatch: Scenario = (context) =>
  runThroughput(context, "batch", {
    mode: "batch",
    tasks: context.options.tasks,
    processes: context.options.producers,
    inFlight: context.options.batchesInFlight,
  });

/** Worker capacity of throughput_batch_500. */
const TUNED_CAPACITY = 500;

/**
 * throughput_batch_500: throughput_batch with worker processes that each hold up to 500 tasks
 * (`--workers` × 500 instead of × `--concurrency`): taskqueue's tuned setting, set beside the
 * durable peers' tuned ones (graphile-worker's local queue of 500 per process, River's 2,000
 * workers per process) in `vs_durable`.
 */
export const throughputBatch500: Scenario = (context) =>
  runThroughput(
    { ...context, options: { ...context.options, concurrency: TUNED_CAPACITY } },
    "batch500",
    batchSubmission(context),
    { note: `workers of ${TUNED_CAPACITY} (taskqueue's tuned setting against the durable peers')` },
  );

/** throughput_unary: the same with unary SubmitTask calls from many concurrent producers (`--unary-tasks`). */
export const throughputUnary: Scenario = (context) =>
  runThroughput(context, "unary", {
    mode: "unary",
    tasks: context.options.unaryTasks,
    processes: context.options.unaryProducers,
    inFlight: context.options.unaryInFlight,
  });

/**
 * limited_50: throughput_batch on a queue whose `max_concurrency` is 50 (the workers could
 * hold 2 × 200): the lease script's limit check on every call, and the wake-ups of the queue
 * as room comes back. Compare with throughput_batch of the same run.
 */
export const limited50: Scenario = (context) =>
  runThroughput(
    context,
    "limited",
    batchSubmission(context),
    {
      prepare: async (queue) => {
        const client = createClient(QueueService, createGrpcTransport({ baseUrl: `http://${context.stack.server.grpcAddress}` }));
        await client.updateQueue({ name: queue, settings: { maxConcurrency: 50 }, updateMask: { paths: ["max_concurrency"] } });
      },
      note: "queue max_concurrency 50",
    },
  );

/**
 * concurrency_50: the control of limited_50. throughput_batch with no limit, but with only 50
 * tasks in flight because the workers hold 2 × 25. It separates what the limit mechanism
 * costs from what running 50 tasks at a time costs.
 */
export const concurrency50: Scenario = (context) =>
  runThroughput(
    { ...context, options: { ...context.options, workers: 2, concurrency: 25 } },
    "concurrency50",
    batchSubmission(context),
    { note: "no limit; 50 in flight because of the workers' capacity (the control of limited_50)" },
  );

/** Task types of routing_4_types. */
const ROUTED_TYPES = ["type-a", "type-b", "type-c", "type-d"];

/**
 * routing_4_types: throughput_batch with tasks of 4 types in rotation and 4 worker processes,
 * each taking one type (task-type routing: each lease call serves one type's ready set).
 * Compare with throughput_batch (one type) of the same run.
 */
export const routing4Types: Scenario = (context) =>
  runThroughput(
    fourWorkerFleet(context),
    "routing",
    batchSubmission(context),
    { workerTypes: (i) => [ROUTED_TYPES[i % ROUTED_TYPES.length]!], producerTypes: ROUTED_TYPES, note: "4 task types, one per worker process" },
  );

/**
 * one_type_4_workers: the control of routing_4_types. The same fleet (4 worker processes,
 * the same total capacity), but one task type that every worker takes. It separates what
 * routing costs from what a fleet of 4 processes costs on this machine.
 */
export const oneType4Workers: Scenario = (context) =>
  runThroughput(
    fourWorkerFleet(context),
    "onetype4",
    batchSubmission(context),
    { note: "one task type, 4 worker processes (the control of routing_4_types)" },
  );

/**
 * throughput_batch's workload on `queues` (each SubmitTasks call to the next, every worker
 * process taking all of them), labelled `label`: the cluster scenario's runs.
 */
export function throughputBatchOn(context: ScenarioContext, label: string, queues: readonly string[], note: string): Promise<ScenarioResult> {
  return runThroughput(context, label, batchSubmission(context), { queues, note });
}

/** throughput_batch's submission: `--tasks` in SubmitTasks batches from the producer processes. */
function batchSubmission(context: ScenarioContext): Submission {
  return { mode: "batch", tasks: context.options.tasks, processes: context.options.producers, inFlight: context.options.batchesInFlight };
}

/** The context with one worker process per routed type, sharing throughput_batch's total capacity. */
function fourWorkerFleet(context: ScenarioContext): ScenarioContext {
  const { workers, concurrency } = context.options;
  return { ...context, options: { ...context.options, workers: ROUTED_TYPES.length, concurrency: Math.ceil((workers * concurrency) / ROUTED_TYPES.length) } };
}

interface Submission {
  mode: "batch" | "unary";
  tasks: number;
  processes: number;
  inFlight: number;
}

/** What a variant of the throughput run changes. */
interface Variant {
  /** The queues; default one named after the label. */
  queues?: readonly string[];
  /** Runs before the workers start (e.g. queue settings), given the first queue. */
  prepare?: (queue: string) => Promise<void>;
  /** The task types each worker process takes (by index); default the no-op type. */
  workerTypes?: (index: number) => string[];
  /** The task types submitted, in rotation; default the no-op type. */
  producerTypes?: string[];
  /** Added to the notes. */
  note?: string;
}

async function runThroughput(context: ScenarioContext, label: string, submission: Submission, variant: Variant = {}): Promise<ScenarioResult> {
  const { options, stack } = context;
  const tasks = submission.tasks;
  const queues = variant.queues ?? [uniqueQueue(label)];
  const timeoutMs = deadlineMs(context, tasks);
  await variant.prepare?.(queues[0]!);
  const workers = startWorkers(context, queues, false, variant.workerTypes);
  const producers = startProducers(context, queues, tasks, submission.processes, {
    ...(variant.producerTypes ? { types: variant.producerTypes } : {}),
    mode: submission.mode,
    batchSize: options.batchSize,
    inFlight: submission.inFlight,
    ratePerS: 0,
    durationMs: 0,
    record: false,
  });
  try {
    await ready([...workers, ...producers]);
    const tally = new CompletionTally(workers);
    const stopMeters = await meterRun(stack, { workers, producers });
    const fromUs = monotonicUs();
    const submitted = submitWindow(await runProducers(producers, timeoutMs));
    if (submitted.submitted !== tasks) {
      throw new BenchVerificationError(`${label}: ${submitted.submitted} of ${tasks} tasks submitted (${submitted.errors} errors)`);
    }
    const done = await tally.waitFor(tasks, timeoutMs);
    const toUs = monotonicUs();
    const usage = await stopMeters(tasks);
    const inPostgres = await waitForSucceeded(stack.pool, queues, tasks, 30_000);
    if (inPostgres !== tasks || done.completed !== tasks) {
      throw new BenchVerificationError(`${label}: ${done.completed} acks, ${inPostgres} SUCCEEDED rows for ${tasks} tasks`);
    }
    const span = await queueSpan(stack.pool, queues);
    const seconds = (done.lastAt - submitted.firstStartAt) / 1000;
    return {
      metrics: {
        tasks,
        tasks_per_s: tasks / seconds,
        submit_per_s: tasks / ((submitted.lastEndAt - submitted.firstStartAt) / 1000),
        duration_s: seconds,
        ...runRatesAroundSubmission(tally, submitted, tasks, done.lastAt),
        pg_created_to_finished_per_s: tasks / ((span.lastFinishedAt - span.firstCreatedAt) / 1000),
        stale_or_rejected: done.failed,
        ...usage,
      },
      windowUs: [fromUs, toUs],
      notes: [
        `${label}: ${options.workers} workers × ${options.concurrency} concurrency, ${submission.processes} producers × ${submission.inFlight} calls in flight` +
          (submission.mode === "batch" ? ` of ${options.batchSize} tasks` : ` (${options.unaryClient} caller)`) +
          (variant.note ? `; ${variant.note}` : ""),
      ],
    };
  } finally {
    await stopAll([...producers, ...workers]);
  }
}
