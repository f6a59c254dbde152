/**
 * The peer workload on graphile-worker, against the harness's Postgres: a producer adds no-op
 * jobs with `addJobs`, a worker runs them (the task does nothing). A completion is counted once
 * graphile-worker's delete of the job (its way of completing one) has returned from Postgres,
 * i.e. is committed: the worker's pool connections are instrumented, since its `job:complete`
 * event fires before the (batched) delete is sent. Configuration: one JSON {@link GraphileConfig}.
 */
import pg from "pg";
import {
  addInBatches,
  benchPayload,
  epochNow,
  goSignals,
  newReport,
  onParentMessage,
  openLoop,
  ProgressReporter,
  readChildConfig,
  runChild,
  sendToParent,
  submitCall,
  work,
} from "./child-runtime.js";
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
  const utils = await graphile.makeWorkerUtils({ connectionString: config.databaseUrl, schema: config.schema, logger: quietLogger(graphile) });
  const gos = goSignals(() => void Promise.resolve(utils.release()).finally(() => process.exit(0)));
  await sendToParent({ type: "ready", pid: process.pid });
  await gos.next();
  const payload = benchPayload(config.payloadBytes ?? 0) ?? {};
  if (config.ratePerS !== undefined) {
    // One addJob per call, or addJobs of `batchSize` at ratePerS / batchSize calls a second.
    const perCall = Math.max(1, config.batchSize);
    const add = async (size: number) =>
      size === 1
        ? [(await utils.addJob(NOOP_TYPE, payload)).id]
        : (await utils.addJobs(Array.from({ length: size }, () => ({ identifier: NOOP_TYPE, payload })))).map((job) => job.id);
    const atRate = async (durationMs: number, record: boolean) => {
      const report = newReport();
      const total = Math.round((config.ratePerS! * durationMs) / 1000);
      const calls = Math.ceil(total / perCall);
      const call = (index: number) => {
        const size = Math.min(perCall, total - index * perCall);
        return submitCall(() => add(size), size, record, report);
      };
      await openLoop(config.ratePerS! / perCall, calls, config.inFlight, call, () => (report.errors += perCall));
      return report;
    };
    if (config.warmupMs) {
      await sendToParent({ type: "warmed", report: await atRate(config.warmupMs, false) });
      await gos.next();
    }
    await sendToParent({ type: "done", report: await atRate(config.durationMs ?? 0, config.record ?? false) });
    return;
  }
  const report = await addInBatches(config.count, config.batchSize, config.inFlight, async (size) => {
    const added = await utils.addJobs(Array.from({ length: size }, () => ({ identifier: NOOP_TYPE, payload })));
    return added.length;
  });
  // Stays alive until told to stop, so that its CPU time is counted to the end of the run.
  await sendToParent({ type: "done", report });
}

async function runWorker(config: GraphileConfig): Promise<void> {
  const graphile = await loadGraphile();
  const progress = new ProgressReporter();
  const dispatches: Array<[string, number]> = [];
  const acks: Array<[string, number]> = [];
  const pgPool = new pg.Pool({ connectionString: config.databaseUrl, max: config.poolSize });
  pgPool.on("error", (error) => process.stderr.write(`graphile-worker pool error: ${error.message}\n`));
  countCompletions(pgPool, (ids) => {
    const at = epochNow();
    progress.add(ids.length, at);
    if (config.record) for (const id of ids) acks.push([id, at]);
  });
  const runner = await graphile.run({
    pgPool,
    schema: config.schema,
    concurrency: config.concurrency,
    noHandleSignals: true,
    logger: quietLogger(graphile),
    taskList: {
      [NOOP_TYPE]: async (_payload, helpers) => {
        // created_at is kept to the microsecond, but a Date holds milliseconds.
        if (config.record) dispatches.push([helpers.job.id, epochNow() - helpers.job.created_at.getTime()]);
        await work(config.workMs);
      },
    },
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
      void sendToParent({ type: "report", report: { ...progress.totals(), perStream: [], dispatches, acks } });
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
