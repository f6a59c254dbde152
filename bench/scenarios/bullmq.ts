import { stopAll } from "../child-handle.js";
import { BenchVerificationError } from "../errors.js";
import { deadlineMs, uniqueQueue, type Scenario } from "./context.js";
import { CompletionTally, ready, runProducers, runRatesAroundSubmission, startBullmq, submitWindow } from "./fleet.js";
import { meterRun } from "./usage.js";

/**
 * bullmq: the throughput_batch workload on BullMQ against the same Redis — the same number of
 * producer processes adding jobs with addBulk in batches of the same size, and the same number
 * of worker processes with the same concurrency; the processor returns null. Jobs/s from the
 * first addBulk call to the last `completed` event (the job moved to completed in Redis).
 * BullMQ keeps completed jobs by default, as taskqueue keeps its task rows.
 */
export const bullmq: Scenario = async (context) => {
  const { options, stack } = context;
  const jobs = options.tasks;
  const queue = uniqueQueue("bullmq");
  const timeoutMs = deadlineMs(context, jobs);
  const workers = startBullmq(context, "worker", queue, 0);
  const producers = startBullmq(context, "producer", queue, jobs);
  try {
    await ready([...workers, ...producers]);
    const tally = new CompletionTally(workers);
    const stopMeters = await meterRun(stack, { workers, producers, server: false });
    const submitted = submitWindow(await runProducers(producers, timeoutMs));
    if (submitted.submitted !== jobs) throw new BenchVerificationError(`bullmq: ${submitted.submitted} of ${jobs} jobs added`);
    const done = await tally.waitFor(jobs, timeoutMs);
    const usage = await stopMeters(jobs);
    const seconds = (done.lastAt - submitted.firstStartAt) / 1000;
    return {
      metrics: {
        jobs,
        jobs_per_s: jobs / seconds,
        add_per_s: jobs / ((submitted.lastEndAt - submitted.firstStartAt) / 1000),
        duration_s: seconds,
        ...runRatesAroundSubmission(tally, submitted, jobs, done.lastAt),
        failed: done.failed,
        ...usage,
      },
      notes: [
        `bullmq: ${options.workers} workers × ${options.concurrency} concurrency, ${options.producers} producers × ` +
          `${options.batchesInFlight} addBulk calls in flight of ${options.batchSize} jobs; ` +
          (options.redisAof ? "Redis with AOF, fsync every second" : "Redis without persistence (BullMQ's durability is Redis'; try --redis-aof)"),
      ],
    };
  } finally {
    await stopAll([...producers, ...workers]);
  }
};
