import type { Context } from "@opentelemetry/api";
import type { TraceContext } from "../engine/task-records.js";
import { sampledParent } from "./trace-context.js";

/** Items of one sampled trace (and one `subKey`), with the context to parent their span on. */
export interface TraceGroup<T> {
  parent: Context;
  items: T[];
}

/**
 * Groups `items` by the trace they carry (and by `subKey`, e.g. the queue or the outcome),
 * keeping only sampled traces, in order of first appearance. The trace context is parsed
 * once per group, not once per item: a batch of tasks submitted in one traced call becomes
 * one group, and one span.
 */
export function groupByTrace<T>(
  items: readonly T[],
  traceOf: (item: T) => TraceContext | undefined,
  subKey: (item: T) => string,
): TraceGroup<T>[] {
  const groups = new Map<string, TraceGroup<T> | null>();
  for (const item of items) {
    const traced = traceOf(item);
    if (!traced) continue;
    const key = `${traced.traceparent} ${traced.tracestate} ${subKey(item)}`;
    let group = groups.get(key);
    if (group === undefined) {
      const parent = sampledParent(traced);
      group = parent ? { parent, items: [] } : null;
      groups.set(key, group);
    }
    group?.items.push(item);
  }
  return [...groups.values()].filter((g): g is TraceGroup<T> => g !== null);
}
