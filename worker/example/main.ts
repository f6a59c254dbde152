/**
 * The example worker: serves `echo`, `sleep` and `fail` tasks. Run with `npm run worker`,
 * e.g. `npm run worker -- --server localhost:50051 --queues default,emails --concurrency 20`.
 * SIGINT or SIGTERM stops it gracefully (running tasks finish first), then it exits 0.
 * The standard OTEL_* variables turn tracing on (e.g. `OTEL_EXPORTER_OTLP_ENDPOINT`): each
 * attempt is then a span in the trace of the submit that created the task.
 */
import { pino } from "pino";
import { startTracing, tracingRequested } from "../../wire/otel-sdk.js";
import { traceLogFields } from "../../wire/trace-log-fields.js";
import { createWorker } from "../index.js";
import { ExampleConfigError, readExampleConfig, type ExampleConfig } from "./config.js";
import { exampleHandlers } from "./handlers.js";

async function main(): Promise<void> {
  const logger = pino({
    name: "example-worker",
    level: process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Lines written inside a traced attempt name its trace.
    ...(tracingRequested() ? { mixin: traceLogFields } : {}),
  });
  let config: ExampleConfig;
  try {
    config = readExampleConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ExampleConfigError)) throw error;
    logger.fatal(error.message);
    process.exit(2);
  }

  const tracing = await startTracing("taskqueue-worker");
  const worker = createWorker({
    address: config.server,
    queues: config.queues,
    concurrency: config.concurrency,
    handlers: exampleHandlers(),
    logger,
  });
  // One line per lifecycle event of a task, at debug (none per task at info).
  worker.on("task:started", ({ task }) => logger.debug({ taskId: task.id, type: task.type, attempt: task.attempt }, "task started"));
  worker.on("task:completed", ({ task, durationMs }) =>
    logger.debug({ taskId: task.id, type: task.type, attempt: task.attempt, durationMs }, "task completed"),
  );
  worker.on("task:failed", ({ task, failure }) =>
    logger.debug({ taskId: task.id, type: task.type, attempt: task.attempt, failure }, "task failed"),
  );
  worker.on("reconnecting", ({ attempt, delayMs }) => logger.info({ attempt, delayMs }, "reconnecting"));
  let started = false;
  // A later reconnect the server refused (start() rejects when the first one is).
  worker.on("stopped", ({ error }) => {
    if (error === undefined || !started) return;
    logger.fatal({ err: error }, "the server refused the worker");
    process.exit(2);
  });

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: config.stopTimeoutMs }, "stopping gracefully");
    await worker.stop({ timeoutMs: config.stopTimeoutMs });
    await tracing?.shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGINT", (signal) => void shutdown(signal));
  process.on("SIGTERM", (signal) => void shutdown(signal));

  logger.info({ server: config.server, queues: config.queues, concurrency: config.concurrency }, "example worker starting");
  try {
    await worker.start();
    started = true;
  } catch (error) {
    logger.fatal({ err: error }, "example worker cannot start");
    process.exit(2);
  }
}

await main();
