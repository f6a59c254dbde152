import type { LeaseEnd, LeasedRecord } from "../redis/queue-store.js";
import type { NewTask } from "../engine/task-records.js";
import type { ServerMetrics } from "./metrics.js";

/*
 * Records batches of task events in the server's metrics with one label lookup per distinct
 * label set, not one per task (a lookup serialises the labels: it was a visible share of the
 * server's time at high throughput). Queue names go through `metrics.queueLabels`, which
 * bounds how many distinct queues get series of their own.
 */

/** Counts newly accepted tasks by queue. */
export function recordSubmitted(metrics: ServerMetrics, tasks: readonly NewTask[]): void {
  for (const [queue, n] of countBy(tasks, (t) => t.queue)) metrics.submitted.inc({ queue: metrics.queueLabels.label(queue) }, n);
}

/** Counts tasks leased to workers of `queue`, and how long each waited since its creation. */
export function recordDelivered(metrics: ServerMetrics, queue: string, tasks: readonly LeasedRecord[], nowMs: number): void {
  const label = metrics.queueLabels.label(queue);
  metrics.dispatched.inc({ queue: label }, tasks.length);
  const delay = metrics.dispatchDelay.labels({ queue: label });
  for (const t of tasks) delay.observe(Math.max(0, nowMs - t.createdMs) / 1000);
}

/** Counts ended leases by queue, how they ended and the task's new state. */
export function recordLeaseEnds(metrics: ServerMetrics, ends: readonly LeaseEnd[]): void {
  const byLabels = new Map<string, { end: LeaseEnd; n: number }>();
  for (const e of ends) {
    const key = `${e.queue}\u0000${e.how}\u0000${e.state}`;
    const seen = byLabels.get(key);
    if (seen) seen.n++;
    else byLabels.set(key, { end: e, n: 1 });
  }
  for (const { end, n } of byLabels.values()) {
    metrics.leaseEnds.inc({ queue: metrics.queueLabels.label(end.queue), how: end.how, state: end.state }, n);
  }
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
