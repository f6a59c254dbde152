import { uniqueQueue, type Scenario } from "./context.js";
import { startBullmq } from "./fleet.js";
import { runPeerBurst } from "./peer-burst.js";

/**
 * bullmq: the throughput_batch workload on BullMQ against the same Redis — the same number of
 * producer processes adding jobs with addBulk in batches of the same size, and the same number
 * of worker processes with the same concurrency; the processor returns null. Jobs/s from the
 * first addBulk call to the last `completed` event (the job moved to completed in Redis).
 * BullMQ keeps completed jobs by default, as taskqueue keeps its task rows.
 */
export const bullmq: Scenario = async (context) => {
  const { options } = context;
  const queue = uniqueQueue("bullmq");
  return runPeerBurst(context, "bullmq", {
    workers: startBullmq(context, "worker", queue, 0),
    producers: startBullmq(context, "producer", queue, options.tasks),
    note:
      `bullmq: ${options.workers} workers × ${options.concurrency} concurrency, ${options.producers} producers × ` +
      `${options.batchesInFlight} addBulk calls in flight of ${options.batchSize} jobs; ` +
      (options.redisAof ? "Redis with AOF, fsync every second" : "Redis without persistence (BullMQ's durability is Redis'; try --redis-aof)"),
  });
};
