import type { NewTask, TraceContext } from "../engine/task-records.js";

/**
 * What a leased task carries besides its payload, stored in the task hash as one JSON array
 * (field `d`, see lib.lua) so that enqueue and lease move one value instead of nine:
 * `[type, payloadFormat, maxAttempts, timeoutMs, createdMs, labels, backoffInitialMs,
 * backoffMaxMs, backoffMultiplier]`, then `traceparent, tracestate` only for a task that
 * carries a trace context. The Lua scripts read the retry policy from it by position.
 */
export interface TaskDescriptor {
  type: string;
  payloadFormat: number;
  maxAttempts: number;
  timeoutMs: number;
  labels: Record<string, string>;
  createdMs: number;
  /** The submit's trace context, when it carried one. */
  trace?: TraceContext;
}

type DescriptorArray = [string, number, number, number, number, Record<string, string>, number, number, number, string?, string?];

/** Encodes the descriptor of a task (see {@link TaskDescriptor} for the layout). */
export function encodeTaskDescriptor(task: NewTask): string {
  const array: DescriptorArray = [
    task.type,
    task.payloadFormat,
    task.maxAttempts,
    task.timeoutMs ?? 0,
    task.createdMs,
    task.labels,
    task.backoffInitialMs,
    task.backoffMaxMs,
    task.backoffMultiplier,
  ];
  if (task.trace) array.push(task.trace.traceparent, task.trace.tracestate);
  return JSON.stringify(array);
}

/** Decodes what {@link encodeTaskDescriptor} wrote. */
export function decodeTaskDescriptor(json: string): TaskDescriptor {
  const array = JSON.parse(json) as DescriptorArray;
  return {
    type: array[0],
    payloadFormat: array[1],
    maxAttempts: array[2],
    timeoutMs: array[3],
    createdMs: array[4],
    labels: array[5],
    trace: array[9] ? { traceparent: array[9], tracestate: array[10] ?? "" } : undefined,
  };
}

/** Position of a task in its ready queue: higher priority first, then older first (see lib.lua). */
export function readyScore(priority: number, createdMs: number): number {
  return (100 - priority) * 1e13 + Math.floor(createdMs);
}
