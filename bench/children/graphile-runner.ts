/**
 * The peer workload on graphile-worker, against the harness's Postgres: a producer adds no-op
 * jobs with `addJobs`, a worker runs them (the task does nothing). A completion is counted once
 * graphile-worker's delete of the job (its way of completing one) has returned from Postgres,
 * i.e. is committed: the worker's pool connections are instrumented, since its `job:complete`
 * event fires before the (batched) delete is sent. Configuration: one JSON {@link GraphileConfig}.
 */
import pg from "pg";
import { addInBatches, epochNow, onParentMessage, ProgressReporter, readChildConfig, runChild, sendToParent } from "./child-runtime.js";
import { countCompletions } from "./graphile-completions.js";
import { NOOP_TYPE, type GraphileConfig } from "./messages.js";

/** graphile-worker, loaded after NO_LOG_SUCCESS is set (it reads it once, when loaded). */
async function loadGraphile(): Promise<typeof import("graphile-worker")> {
  process.env.NO_LOG_SUCCESS = "1";
  return import("graphile-worker");
}

/** Warnings and errors only: graphile-worker logs every job at info. */
function quietLogger(graphile: typeof import("graphile-worker")) {
  return new graphile.Logger(() => (level, message) => {
    if (level === "error" || level === "warning") process.stderr.write(`graphile-worker ${level}: ${message}\n`);
  });
}

async function runProducer(config: GraphileConfig): Promise<void> {
  const graphile = await loadGraphile();
  const utils = await graphile.makeWorkerUtils({ connectionString: config.databaseUrl, logger: quietLogger(graphile) });
  const go = new Promise<void>((resolve) =>
    onParentMessage((message) => {
      if (message.type === "go") resolve();
      if (message.type === "stop") void Promise.resolve(utils.release()).finally(() => process.exit(0));
    }),
  );
  await sendToParent({ type: "ready", pid: process.pid });
  await go;
  const report = await addInBatches(config.count, config.batchSize, config.inFlight, async (size) => {
    const added = await utils.addJobs(Array.from({ length: size }, () => ({ identifier: NOOP_TYPE, payload: {} })));
    return added.length;
  });
  // Stays alive until told to stop, so that its CPU time is counted to the end of the run.
  await sendToParent({ type: "done", report });
}

async function runWorker(config: GraphileConfig): Promise<void> {
  const graphile = await loadGraphile();
  const progress = new ProgressReporter();
  const pgPool = new pg.Pool({ connectionString: config.databaseUrl, max: config.poolSize });
  countCompletions(pgPool, (jobs) => progress.add(jobs, epochNow()));
  const runner = await graphile.run({
    pgPool,
    concurrency: config.concurrency,
    noHandleSignals: true,
    logger: quietLogger(graphile),
    taskList: { [NOOP_TYPE]: async () => undefined },
    preset: {
      worker: {
        ...(config.localQueueSize === undefined ? {} : { localQueue: { size: config.localQueueSize } }),
        ...(config.completeJobBatchDelay === undefined ? {} : { completeJobBatchDelay: config.completeJobBatchDelay }),
      },
    },
  });
  runner.events.on("job:failed", () => progress.add(1, epochNow(), true));
  onParentMessage((message) => {
    if (message.type === "report") {
      void sendToParent({ type: "report", report: { ...progress.totals(), perStream: [], dispatches: [], acks: [] } });
    } else if (message.type === "stop") {
      void runner
        .stop()
        .then(() => pgPool.end())
        .finally(() => process.exit(0));
    }
  });
  await sendToParent({ type: "ready", pid: process.pid });
}

runChild(async () => {
  const config = readChildConfig<GraphileConfig>();
  await (config.role === "producer" ? runProducer(config) : runWorker(config));
});
