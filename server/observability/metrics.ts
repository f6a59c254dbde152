import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { BatchHistogram } from "./batch-histogram.js";
import { createCallMetrics, type CallMetrics } from "./call-metrics.js";
import { QueueLabels } from "./queue-labels.js";

/** Buckets of the attempt duration histogram, seconds: 1 ms to 1 hour. */
export const ATTEMPT_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];

/** Options for {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /** Number of connected worker streams, read at scrape time. */
  connectedWorkers: () => number;
  /** Credits granted and unused across streams, read at scrape time. */
  waitingCredits: () => number;
  /** Most queues with series of their own (the rest share `queue="_other"`). Default 1000. */
  maxQueueLabels?: number;
  /** A queue idle this long (and not live) loses its series, ms. Default 1 hour. */
  queueLabelTtlMs?: number;
  /** Most task types with series of their own (the rest share `type="_other"`). Default 100. */
  maxTypeLabels?: number;
  /** Queues that keep their series while idle, read at scrape time (e.g. those workers serve). */
  liveQueues?: () => Iterable<string>;
  /** Bytes of responses waiting for worker streams' clients, read at scrape time. */
  workerStreamBufferedBytes?: () => number;
  /** Open connections per listener ("grpc", "http"), read at scrape time. */
  openConnections?: () => Readonly<Record<string, number>>;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
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
  /** Seconds from an attempt's lease to its end, by queue, task type and how it ended. */
  attemptDuration: BatchHistogram<"queue" | "type" | "outcome">;
  /** Tasks finished for good, by queue and outcome (succeeded, dead, cancelled). */
  finished: Counter<"queue" | "outcome">;
  /** Attempts that ended in a way that runs the task again (back-off or requeue), by queue. */
  retries: Counter<"queue">;
  /** Tasks dead-lettered (attempts exhausted or a non-retryable failure), by queue. */
  deadLettered: Counter<"queue">;
  /** Leases ended without a result: expired (no heartbeat), timeout (attempt timeout), lost (stream ended). */
  leaseExpiries: Counter<"queue" | "reason">;
  /** Tasks of each queue in each unfinished state, plus dead (set by the queue gauges). */
  queueTasks: Gauge<"queue" | "state">;
  /** Age of each queue's oldest queued task, seconds (0 when none waits; set by the queue gauges). */
  oldestTaskAge: Gauge<"queue">;
  /** Worker streams connected to this server serving each queue (set by the queue gauges). */
  queueWorkers: Gauge<"queue">;
  /** Latency and errors of the server's Redis scripts and Postgres group commits. */
  calls: CallMetrics;
  /** The label every type-labelled series uses for a task type (bounded cardinality). */
  typeLabels: QueueLabels;
  /** Results rejected because their lease was no longer current. */
  staleResults: Counter;
  /** Finished tasks deleted past their retention. */
  retentionDeleted: Counter;
  /** Seconds from a schedule's tick to the transaction that submits its task. */
  scheduleFireDelay: Histogram;
  /** Progress reports received from workers. */
  progressReports: Counter;
  /** Rows of progress written (one per task per flush, however many reports it coalesced). */
  progressWrites: Counter;
  /** Progress reports dropped: over a stream's bound of buffered tasks, or their write failed. */
  progressDropped: Counter;
  /** Connections closed at once because the listener had `MAX_CONNECTIONS` open. */
  connectionsRefused: Counter<"listener">;
  /** Connections the server closed: handshake_timeout, bad_preface, request_timeout, bad_request, idle, not_reading. */
  connectionsClosed: Counter<"listener" | "reason">;
  /** Worker streams the server ended for the transport's sake: hello_timeout, not_reading, buffer_full. */
  workerStreamsEnded: Counter<"reason">;
  /** The label every queue-labelled series uses for a queue (bounded cardinality). */
  queueLabels: QueueLabels;
  /** Drops the series of queues idle past their TTL, then renders every metric (a scrape). */
  render(): Promise<string>;
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
  const now = options.now ?? Date.now;
  const queueLabels = new QueueLabels({
    maxQueues: options.maxQueueLabels ?? 1000,
    ttlMs: options.queueLabelTtlMs ?? 3600_000,
    now,
  });
  if (options.workerStreamBufferedBytes) {
    const read = options.workerStreamBufferedBytes;
    new Gauge({
      name: "taskqueue_worker_stream_buffered_bytes",
      help: "Responses waiting for worker streams' clients to read them, estimated bytes (bounded by STREAM_BUFFER_MAX_BYTES per stream).",
      registers,
      collect() {
        this.set(read());
      },
    });
  }
  if (options.openConnections) {
    const read = options.openConnections;
    new Gauge({
      name: "taskqueue_open_connections",
      help: "Connections open on each listener.",
      labelNames: ["listener"],
      registers,
      collect() {
        for (const [listener, n] of Object.entries(read())) this.set({ listener }, n);
      },
    });
  }
  const submitted = new Counter({ name: "taskqueue_tasks_submitted_total", help: "Tasks accepted.", labelNames: ["queue"], registers });
  const dispatched = new Counter({ name: "taskqueue_tasks_dispatched_total", help: "Tasks leased to workers.", labelNames: ["queue"], registers });
  const dispatchDelay = new Histogram({
    name: "taskqueue_dispatch_delay_seconds",
    help: "Time from a task's creation to its lease.",
    labelNames: ["queue"],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
    registers,
  });
  const leaseEnds = new Counter({
    name: "taskqueue_lease_ends_total",
    help: "Leases that ended, by how and the task's new state.",
    labelNames: ["queue", "how", "state"],
    registers,
  });
  const typeLabels = new QueueLabels({ maxQueues: options.maxTypeLabels ?? 100, ttlMs: options.queueLabelTtlMs ?? 3600_000, now });
  const attemptDuration = new BatchHistogram({
    name: "taskqueue_task_attempt_duration_seconds",
    help: "Duration of task attempts, from lease to result or lease end, by queue, type and outcome (succeeded, failed, fatal, expired, timeout, lost).",
    labelNames: ["queue", "type", "outcome"],
    buckets: ATTEMPT_DURATION_BUCKETS,
    registers,
  });
  const finished = new Counter({
    name: "taskqueue_tasks_finished_total",
    help: "Tasks that reached a final state, by outcome (succeeded, dead, cancelled).",
    labelNames: ["queue", "outcome"],
    registers,
  });
  const retries = new Counter({
    name: "taskqueue_task_retries_total",
    help: "Attempts that ended with the task to be run again (after its back-off, or requeued at once).",
    labelNames: ["queue"],
    registers,
  });
  const deadLettered = new Counter({
    name: "taskqueue_tasks_dead_lettered_total",
    help: "Tasks dead-lettered: attempts exhausted or a non-retryable failure.",
    labelNames: ["queue"],
    registers,
  });
  const leaseExpiries = new Counter({
    name: "taskqueue_lease_expiries_total",
    help: "Leases that ended without a result: expired (no heartbeat), timeout (attempt timeout), lost (worker stream ended).",
    labelNames: ["queue", "reason"],
    registers,
  });
  const queueTasks = new Gauge({
    name: "taskqueue_queue_tasks",
    help: "Tasks of each queue in each unfinished state (queued, scheduled, running) plus dead, cluster-wide, refreshed every METRICS_REFRESH_MS.",
    labelNames: ["queue", "state"],
    registers,
  });
  const oldestTaskAge = new Gauge({
    name: "taskqueue_queue_oldest_task_age_seconds",
    help: "Age of each queue's oldest queued task (0 when none is queued), refreshed every METRICS_REFRESH_MS.",
    labelNames: ["queue"],
    registers,
  });
  const queueWorkers = new Gauge({
    name: "taskqueue_queue_workers",
    help: "Worker streams connected to this server that serve each queue (sum over servers for the cluster), refreshed every METRICS_REFRESH_MS.",
    labelNames: ["queue"],
    registers,
  });
  const byQueue = [submitted, dispatched, dispatchDelay, retries, deadLettered, oldestTaskAge, queueWorkers];
  const byQueueAndMore: Array<{ get(): Promise<{ values: Array<{ labels: object }> }>; remove(labels: object): void }> = [
    leaseEnds,
    attemptDuration,
    finished,
    leaseExpiries,
    queueTasks,
  ] as never;
  const dropQueues = async (): Promise<void> => {
    const expired = queueLabels.expire(new Set(options.liveQueues?.() ?? []));
    const expiredTypes = new Set(typeLabels.expire(new Set()));
    if (expired.length === 0 && expiredTypes.size === 0) return;
    const gone = new Set(expired);
    for (const queue of expired) for (const metric of byQueue) metric.remove({ queue });
    for (const metric of byQueueAndMore) {
      for (const { labels } of (await metric.get()).values) {
        // A histogram's values carry `le` too, which `remove` refuses.
        const { le: _bucket, ...series } = labels as { queue?: string; type?: string; le?: unknown };
        if (gone.has(String(series.queue)) || (series.type !== undefined && expiredTypes.has(series.type))) metric.remove(series);
      }
    }
  };
  return {
    registry,
    submitted,
    dispatched,
    dispatchDelay,
    leaseEnds,
    attemptDuration,
    finished,
    retries,
    deadLettered,
    leaseExpiries,
    queueTasks,
    oldestTaskAge,
    queueWorkers,
    calls: createCallMetrics(registry),
    typeLabels,
    staleResults: new Counter({ name: "taskqueue_stale_results_total", help: "Results refused as stale (fencing).", registers }),
    scheduleFireDelay: new Histogram({
      name: "taskqueue_schedule_fire_delay_seconds",
      help: "Time from a schedule's tick to the transaction that submits its task.",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
      registers,
    }),
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
    connectionsRefused: new Counter({
      name: "taskqueue_connections_refused_total",
      help: "Connections closed on arrival because the listener had MAX_CONNECTIONS open.",
      labelNames: ["listener"],
      registers,
    }),
    connectionsClosed: new Counter({
      name: "taskqueue_connections_closed_total",
      help: "Connections the server closed, by why (handshake_timeout, bad_preface, request_timeout, bad_request, idle, not_reading).",
      labelNames: ["listener", "reason"],
      registers,
    }),
    workerStreamsEnded: new Counter({
      name: "taskqueue_worker_streams_ended_total",
      help: "Worker streams the server ended, by why (hello_timeout, not_reading, buffer_full).",
      labelNames: ["reason"],
      registers,
    }),
    queueLabels,
    async render() {
      await dropQueues();
      return registry.metrics();
    },
  };
}
