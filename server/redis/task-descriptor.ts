import type { NewTask } from "../engine/task-records.js";

/**
 * What a leased task carries besides its payload, stored in the task hash as one JSON array
 * (field `d`, see lib.lua) so that enqueue and lease move one value instead of nine:
 * `[type, payloadFormat, maxAttempts, timeoutMs, createdMs, labels, backoffInitialMs,
 * backoffMaxMs, backoffMultiplier]`. The Lua scripts read the retry policy from it by position.
 */
export interface TaskDescriptor {
  type: string;
  payloadFormat: number;
  maxAttempts: number;
  timeoutMs: number;
  labels: Record<string, string>;
  createdMs: number;
}

type DescriptorArray = [string, number, number, number, number, Record<string, string>, number, number, number];

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
  };
}

/** Position of a task in its ready queue: higher priority first, then older first (see lib.lua). */
export function readyScore(priority: number, createdMs: number): number {
  return (100 - priority) * 1e13 + Math.floor(createdMs);
}
