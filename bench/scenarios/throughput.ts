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

/** throughput_unary: the same with unary SubmitTask calls from many concurrent producers (`--unary-tasks`). */
export const throughputUnary: Scenario = (context) =>
  runThroughput(context, "unary", {
    mode: "unary",
    tasks: context.options.unaryTasks,
    processes: context.options.unaryProducers,
    inFlight: context.options.unaryInFlight,
  });

interface Submission {
  mode: "batch" | "unary";
  tasks: number;
  processes: number;
  inFlight: number;
}

async function runThroughput(context: ScenarioContext, label: string, submission: Submission): Promise<ScenarioResult> {
  const { options, stack } = context;
  const tasks = submission.tasks;
  const queue = uniqueQueue(label);
  const timeoutMs = deadlineMs(context, tasks);
  const workers = startWorkers(context, queue);
  const producers = startProducers(context, queue, tasks, submission.processes, {
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
    const inPostgres = await waitForSucceeded(stack.pool, queue, tasks, 30_000);
    if (inPostgres !== tasks || done.completed !== tasks) {
      throw new BenchVerificationError(`${label}: ${done.completed} acks, ${inPostgres} SUCCEEDED rows for ${tasks} tasks`);
    }
    const span = await queueSpan(stack.pool, queue);
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
          (submission.mode === "batch" ? ` of ${options.batchSize} tasks` : ` (${options.unaryClient} caller)`),
      ],
    };
  } finally {
    await stopAll([...producers, ...workers]);
  }
}
