import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Options for {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /** Number of connected worker streams, read at scrape time. */
  connectedWorkers: () => number;
  /** Credits granted and unused across streams, read at scrape time. */
  waitingCredits: () => number;
}

/** The server's Prometheus metrics; one registry per server (no global state). */
export interface ServerMetrics {
  registry: Registry;
  /** Tasks accepted (new, not idempotent repeats), by queue. */
  submitted: Counter<"queue">;
  /** Tasks leased to workers, by queue. */
  dispatched: Counter<"queue">;
  /** Seconds from a task's creation to its lease (includes delays and back-offs). */
  dispatchDelay: Histogram<"queue">;
  /** Leases that ended, by queue, how (succeeded, failed, fatal, expired, timeout, lost) and new state. */
  leaseEnds: Counter<"queue" | "how" | "state">;
  /** Results rejected because their lease was no longer current. */
  staleResults: Counter;
  /** Finished tasks deleted past their retention. */
  retentionDeleted: Counter;
  /** Progress reports received from workers. */
  progressReports: Counter;
  /** Rows of progress written (one per task per flush, however many reports it coalesced). */
  progressWrites: Counter;
  /** Progress reports dropped: over a stream's bound of buffered tasks, or their write failed. */
  progressDropped: Counter;
}

/** Creates the metrics and their registry, with Node's default process metrics. */
export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "taskqueue_" });
  const registers = [registry];
  new Gauge({
    name: "taskqueue_connected_workers",
    help: "Worker streams connected to this server.",
    registers,
    collect() {
      this.set(options.connectedWorkers());
    },
  });
  new Gauge({
    name: "taskqueue_waiting_credits",
    help: "Credits granted by workers and not yet used (idle capacity).",
    registers,
    collect() {
      this.set(options.waitingCredits());
    },
  });
  return {
    registry,
    submitted: new Counter({ name: "taskqueue_tasks_submitted_total", help: "Tasks accepted.", labelNames: ["queue"], registers }),
    dispatched: new Counter({ name: "taskqueue_tasks_dispatched_total", help: "Tasks leased to workers.", labelNames: ["queue"], registers }),
    dispatchDelay: new Histogram({
      name: "taskqueue_dispatch_delay_seconds",
      help: "Time from a task's creation to its lease.",
      labelNames: ["queue"],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
      registers,
    }),
    leaseEnds: new Counter({
      name: "taskqueue_lease_ends_total",
      help: "Leases that ended, by how and the task's new state.",
      labelNames: ["queue", "how", "state"],
      registers,
    }),
    staleResults: new Counter({ name: "taskqueue_stale_results_total", help: "Results refused as stale (fencing).", registers }),
    retentionDeleted: new Counter({
      name: "taskqueue_retention_deleted_tasks_total",
      help: "Finished tasks deleted after their retention (with their attempt rows).",
      registers,
    }),
    progressReports: new Counter({ name: "taskqueue_progress_reports_total", help: "Progress reports received from workers.", registers }),
    progressWrites: new Counter({
      name: "taskqueue_progress_writes_total",
      help: "Task progress rows written (reports are coalesced per task between writes).",
      registers,
    }),
    progressDropped: new Counter({
      name: "taskqueue_progress_dropped_total",
      help: "Progress reports dropped: over a stream's bound of buffered tasks, or their write failed.",
      registers,
    }),
  };
}
