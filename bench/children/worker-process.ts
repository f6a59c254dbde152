/**
 * A worker process using the TypeScript worker SDK: runs no-op tasks (the handler returns
 * null) with high concurrency and reports completions, counted when the server acknowledges
 * the result (i.e. once it is committed). Configuration: one JSON {@link WorkerConfig} argument.
 */
import { createLogger } from "../../server/observability/logger.js";
import { createWorker } from "../../worker/index.js";
import { epochNow, onParentMessage, work, ProgressReporter, readChildConfig, runChild, sendToParent } from "./child-runtime.js";
import { NOOP_TYPE, type ConsumerReport, type WorkerConfig } from "./messages.js";

runChild(async () => {
  const config = readChildConfig<WorkerConfig>();
  const progress = new ProgressReporter();
  const dispatches: Array<[string, number]> = [];
  const acks: Array<[string, number]> = [];
  const worker = createWorker({
    address: config.address,
    queues: config.queues ?? [config.queue],
    concurrency: config.concurrency,
    logger: createLogger({ name: "bench-worker", level: config.logLevel }),
    handlers: Object.fromEntries(
      (config.types ?? [NOOP_TYPE]).map((type) => [
        type,
        (task: { id: string; createdAtMs: number | undefined }) => {
          if (config.record && task.createdAtMs !== undefined) dispatches.push([task.id, epochNow() - task.createdAtMs]);
          return work(config.workMs)?.then(() => null) ?? null;
        },
      ]),
    ),
  });
  worker.on("ack", ({ taskId, status }) => {
    const at = epochNow();
    progress.add(1, at, status !== "accepted");
    if (config.record && status === "accepted") acks.push([taskId, at]);
  });
  onParentMessage((message) => {
    if (message.type === "report") {
      const report: ConsumerReport = {
        ...progress.totals(),
        perStream: [],
        dispatches,
        acks,
      };
      void sendToParent({ type: "report", report });
    } else if (message.type === "stop") {
      void worker.stop({ timeoutMs: 5_000 }).finally(() => process.exit(0));
    }
  });
  await worker.start();
  await sendToParent({ type: "ready", pid: process.pid });
});
