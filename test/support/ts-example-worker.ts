/**
 * The TypeScript side of the cross-language tests: the worker SDK serving the example
 * handlers (echo, sleep, fail), printing the same one-JSON-object-per-line events as the
 * Go and Python example workers (connected, started, finished, ack, handler_aborted, ...).
 * Flags: --server host:port, --queues a,b, --worker-id ID. SIGTERM stops it gracefully.
 */
import { createLogger } from "../../server/observability/logger.js";
import { exampleHandlers, sleep } from "../../worker/example/handlers.js";
import { createWorker, type TaskContext } from "../../worker/index.js";
import type { SleepPayload } from "../../worker/example/handlers.js";

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function print(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event, time: new Date().toISOString(), ...fields })}\n`);
}

const handlers = {
  ...exampleHandlers(),
  async sleep(task: TaskContext<SleepPayload>) {
    const onAbort = () =>
      print("handler_aborted", {
        task_id: task.id,
        type: task.type,
        attempt: task.attempt,
        cause: String((task.signal.reason as Error | undefined)?.message ?? task.signal.reason),
      });
    task.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await sleep(task);
    } finally {
      task.signal.removeEventListener("abort", onAbort);
    }
  },
};

const worker = createWorker({
  address: flag("server", "localhost:50051"),
  queues: flag("queues", "default").split(","),
  workerId: flag("worker-id", `ts-${process.pid}`),
  concurrency: 10,
  handlers,
  logger: createLogger({ name: "ts-example-worker", level: process.env.TEST_LOG_LEVEL ?? "warn" }),
});
worker.on("welcome", (w) => print("connected", { session_id: w.sessionId, server_id: w.serverId, heartbeat_interval_ms: w.heartbeatIntervalMs }));
worker.on("task:started", ({ task }) => print("started", { task_id: task.id, type: task.type, attempt: task.attempt }));
worker.on("task:completed", ({ task, durationMs }) =>
  print("finished", { task_id: task.id, type: task.type, attempt: task.attempt, outcome: "succeeded", duration_ms: durationMs }),
);
worker.on("task:failed", ({ task, durationMs, failure }) =>
  print("finished", {
    task_id: task.id,
    type: task.type,
    attempt: task.attempt,
    outcome: failure.type === "CancelledError" ? "cancelled" : failure.type === "TimeoutError" ? "timed_out" : "failed",
    duration_ms: durationMs,
    error: failure.message,
  }),
);
worker.on("task:lost", ({ task, reason }) => print("finished", { task_id: task.id, type: task.type, attempt: task.attempt, outcome: "lost", error: reason }));
worker.on("ack", (a) => print("ack", { task_id: a.taskId, status: a.status }));
worker.on("disconnected", (d) => print("disconnected", { reason: d.reason }));
process.on("SIGTERM", () => void worker.stop({ timeoutMs: 10_000 }).then(() => process.exit(0)));
await worker.start();
