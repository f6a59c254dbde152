/**
 * The peer workload on BullMQ, against the same Redis: a producer adds no-op jobs with
 * addBulk, a worker runs them (the processor returns null) with the same concurrency as the
 * taskqueue workers. Configuration: one JSON {@link BullmqConfig} argument.
 */
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import { addInBatches, epochNow, onParentMessage, ProgressReporter, readChildConfig, runChild, sendToParent } from "./child-runtime.js";
import { NOOP_TYPE, type BullmqConfig } from "./messages.js";

/**
 * ioredis connection options from a `redis://` or `unix://` URL (BullMQ needs
 * `maxRetriesPerRequest: null` for workers).
 */
function connectionOf(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  if (url.protocol === "unix:") return { path: decodeURIComponent(url.pathname), maxRetriesPerRequest: null };
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db,
    username: url.username || undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    maxRetriesPerRequest: null,
  };
}

async function runProducer(config: BullmqConfig): Promise<void> {
  const queue = new Queue(config.queue, { connection: connectionOf(config.redisUrl) });
  await queue.waitUntilReady();
  const go = new Promise<void>((resolve) =>
    onParentMessage((message) => {
      if (message.type === "go") resolve();
      if (message.type === "stop") void queue.close().finally(() => process.exit(0));
    }),
  );
  await sendToParent({ type: "ready", pid: process.pid });
  await go;
  const report = await addInBatches(config.count, config.batchSize, config.inFlight, async (size) => {
    const added = await queue.addBulk(Array.from({ length: size }, () => ({ name: NOOP_TYPE, data: null })));
    return added.length;
  });
  // Stays alive until told to stop, so that its CPU time is counted to the end of the run.
  await sendToParent({ type: "done", report });
}

async function runWorker(config: BullmqConfig): Promise<void> {
  const progress = new ProgressReporter();
  const worker = new Worker(config.queue, async () => null, {
    connection: connectionOf(config.redisUrl),
    concurrency: config.concurrency,
  });
  worker.on("completed", () => progress.add(1, epochNow()));
  worker.on("failed", () => progress.add(1, epochNow(), true));
  worker.on("error", (error) => process.stderr.write(`bullmq worker error: ${error.message}\n`));
  onParentMessage((message) => {
    if (message.type === "report") {
      void sendToParent({
        type: "report",
        report: { ...progress.totals(), perStream: [], dispatches: [], acks: [] },
      });
    } else if (message.type === "stop") {
      void worker.close().finally(() => process.exit(0));
    }
  });
  await worker.waitUntilReady();
  await sendToParent({ type: "ready", pid: process.pid });
}

runChild(async () => {
  const config = readChildConfig<BullmqConfig>();
  await (config.role === "producer" ? runProducer(config) : runWorker(config));
});
