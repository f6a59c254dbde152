import type { LeaseEnd, LeasedRecord } from "../redis/queue-store.js";
import type { NewTask } from "../engine/task-records.js";
import type { ServerMetrics } from "./metrics.js";
import type { HistogramSeries } from "./batch-histogram.js";
import { UNKNOWN_TYPE_LABEL, type TaskTypeMemo } from "./task-type-memo.js";

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

/**
 * Counts tasks leased to workers of `queue`, and how long each waited since its creation;
 * notes each task's type label in `types` for its lease end.
 */
export function recordDelivered(metrics: ServerMetrics, queue: string, tasks: readonly LeasedRecord[], nowMs: number, types?: TaskTypeMemo): void {
  const label = metrics.queueLabels.label(queue);
  metrics.dispatched.inc({ queue: label }, tasks.length);
  const delay = metrics.dispatchDelay.labels({ queue: label });
  for (const t of tasks) delay.observe(Math.max(0, nowMs - t.createdMs) / 1000);
  if (!types) return;
  let lastType = "";
  let lastLabel = "";
  for (const t of tasks) {
    if (t.type !== lastType) {
      lastType = t.type;
      lastLabel = metrics.typeLabels.label(t.type);
    }
    types.leased(t.id, lastLabel);
  }
}

/** The final outcome of a task whose lease ended in `state`, or undefined when it runs again. */
const FINISHED_OUTCOME: Partial<Record<LeaseEnd["state"], string>> = { SUCCEEDED: "succeeded", DEAD: "dead", CANCELLED: "cancelled" };

/**
 * Counts ended leases by queue, how they ended and the task's new state; observes each
 * attempt's duration (by queue, type and how it ended, the type from `types`); counts
 * finished tasks, retries, dead letters and leases ended without a result.
 */
export function recordLeaseEnds(metrics: ServerMetrics, ends: readonly LeaseEnd[], nowMs: number = Date.now(), types?: TaskTypeMemo): void {
  const groups = new Map<string, { end: LeaseEnd; queue: string; n: number; durations: HistogramSeries }>();
  for (const e of ends) {
    const type = types ? types.ended(e.id) : UNKNOWN_TYPE_LABEL;
    const key = `${e.queue}\u0000${type}\u0000${e.how}\u0000${e.state}`;
    let group = groups.get(key);
    if (!group) {
      const queue = metrics.queueLabels.label(e.queue);
      group = { end: e, queue, n: 0, durations: metrics.attemptDuration.labels({ queue, type, outcome: e.how }) };
      groups.set(key, group);
    }
    group.n++;
    if (e.startedMs > 0) group.durations.observe(Math.max(0, nowMs - e.startedMs) / 1000);
  }
  for (const { end, queue, n } of groups.values()) {
    metrics.leaseEnds.inc({ queue, how: end.how, state: end.state }, n);
    const outcome = FINISHED_OUTCOME[end.state];
    if (outcome) metrics.finished.inc({ queue, outcome }, n);
    else metrics.retries.inc({ queue }, n);
    if (end.state === "DEAD") metrics.deadLettered.inc({ queue }, n);
    if (end.how === "expired" || end.how === "timeout" || end.how === "lost") metrics.leaseExpiries.inc({ queue, reason: end.how }, n);
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
