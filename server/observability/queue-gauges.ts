import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { QueueDispatchStats } from "../redis/queue-stats.js";
import type { Logger } from "./logger.js";
import type { ServerMetrics } from "./metrics.js";

/** Queues read by one stats script call. */
const STATS_CHUNK = 500;

/** Where the queue gauges read their figures: the counters QueueService reads. */
export interface QueueFigureSources {
  /** Every queue the dispatch state knows (Redis' set of queue names). */
  knownQueues(): Promise<string[]>;
  /** Queues with dead-lettered tasks (Postgres, a skip scan of `dead_tasks`' key). */
  deadQueueNames(): Promise<string[]>;
  /** The dispatch figures of `queues`, in order (Redis' per-queue counters, see stats.lua). */
  read(queues: readonly string[]): Promise<QueueDispatchStats[]>;
  /** Dead-lettered tasks of `queues` (Postgres' `dead_tasks`, grouped). */
  deadCounts(queues: readonly string[]): Promise<Map<string, number>>;
  /** The queues served by each worker stream connected to this server, now. */
  servedQueues(): Iterable<readonly string[]>;
}

/** Options for {@link QueueGauges}. */
export interface QueueGaugesOptions {
  metrics: ServerMetrics;
  sources: QueueFigureSources;
  /** How often the gauges are refreshed, ms. */
  intervalMs: number;
  logger: Logger;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** One queue's figures as the gauges show them. */
interface Figures {
  queued: number;
  scheduled: number;
  running: number;
  dead: number;
  oldestQueuedMs: number | null;
}

/**
 * Keeps `taskqueue_queue_tasks{queue,state}` and `taskqueue_queue_oldest_task_age_seconds{queue}`
 * current: every `intervalMs` it reads the per-queue counters the scripts keep in Redis (the
 * ones QueueService reports; nothing scans tasks) and the dead-letter counts from Postgres,
 * and sets the gauges, so a scrape only renders numbers already in memory. A queue with tasks
 * gets a series (bounded like every queue label, the rest summed into `_other`); an empty
 * queue keeps showing zeros while its label is tracked, and none once it is forgotten. It
 * also sets `taskqueue_queue_workers{queue}` from this server's worker streams.
 */
export class QueueGauges implements Service {
  private readonly task: PeriodicTask;
  private readonly now: () => number;

  constructor(private readonly options: QueueGaugesOptions) {
    this.now = options.now ?? Date.now;
    this.task = new PeriodicTask({
      name: "queue gauges",
      run: () => this.refresh(),
      intervalMs: options.intervalMs,
      logger: options.logger,
      runAtStart: true,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** Reads the figures and sets the gauges now. */
  async refresh(): Promise<void> {
    const { sources, metrics } = this.options;
    const [known, dead] = await Promise.all([sources.knownQueues(), sources.deadQueueNames()]);
    const names = [...new Set([...known, ...dead])].sort();
    const [stats, deadCounts] = await Promise.all([this.readStats(names), sources.deadCounts(dead)]);
    const byLabel = new Map<string, Figures>();
    names.forEach((name, i) => {
      const s = stats[i]!;
      const figures: Figures = {
        queued: s.queued,
        scheduled: s.scheduled,
        running: s.running,
        dead: deadCounts.get(name) ?? 0,
        oldestQueuedMs: s.oldestQueuedMs,
      };
      const busy = figures.queued + figures.scheduled + figures.running + figures.dead > 0;
      const label = busy ? metrics.queueLabels.label(name) : metrics.queueLabels.tracked(name);
      if (label === undefined) return;
      const into = byLabel.get(label);
      if (into) merge(into, figures);
      else byLabel.set(label, figures);
    });
    const now = this.now();
    // Reset and set in one synchronous stretch: a scrape never sees them half done.
    const workers = new Map<string, number>();
    for (const queues of sources.servedQueues()) {
      for (const queue of queues) {
        const label = metrics.queueLabels.label(queue);
        workers.set(label, (workers.get(label) ?? 0) + 1);
      }
    }
    metrics.queueTasks.reset();
    metrics.oldestTaskAge.reset();
    metrics.queueWorkers.reset();
    for (const [queue, n] of workers) metrics.queueWorkers.set({ queue }, n);
    for (const [queue, f] of byLabel) {
      for (const state of ["queued", "scheduled", "running", "dead"] as const) metrics.queueTasks.set({ queue, state }, f[state]);
      metrics.oldestTaskAge.set({ queue }, f.oldestQueuedMs === null ? 0 : Math.max(0, now - f.oldestQueuedMs) / 1000);
    }
  }

  private async readStats(names: readonly string[]): Promise<QueueDispatchStats[]> {
    const chunks: Array<Promise<QueueDispatchStats[]>> = [];
    for (let at = 0; at < names.length; at += STATS_CHUNK) chunks.push(this.options.sources.read(names.slice(at, at + STATS_CHUNK)));
    return (await Promise.all(chunks)).flat();
  }
}

/** Adds `f` into `into` (queues sharing the overflow label): counts summed, the oldest task kept. */
function merge(into: Figures, f: Figures): void {
  into.queued += f.queued;
  into.scheduled += f.scheduled;
  into.running += f.running;
  into.dead += f.dead;
  if (f.oldestQueuedMs !== null && (into.oldestQueuedMs === null || f.oldestQueuedMs < into.oldestQueuedMs)) {
    into.oldestQueuedMs = f.oldestQueuedMs;
  }
}

