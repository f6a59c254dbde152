/**
 * The per-queue retry defaults setting (`QUEUE_RETRY_DEFAULTS`): its value type and its check.
 */
import type { SettingProblem } from "./setting.js";

/** Retry defaults of one queue; unset fields fall back to the server-wide defaults. */
export interface QueueRetryDefaults {
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  backoffMultiplier?: number;
}

/** Bounds of each field, inclusive (those a task's own retry policy has). */
export const RETRY_LIMITS: Readonly<Record<keyof QueueRetryDefaults, readonly [number, number]>> = {
  maxAttempts: [1, 100],
  initialBackoffMs: [0, 24 * 3600 * 1000],
  maxBackoffMs: [0, 7 * 24 * 3600 * 1000],
  backoffMultiplier: [1, 100],
};

/**
 * Checks an object of queue name to {@link QueueRetryDefaults}.
 * @returns the first problem, naming the queue and field, or undefined when it is valid
 */
export function checkQueueRetryDefaults(defaults: unknown): SettingProblem | undefined {
  if (typeof defaults !== "object" || defaults === null || Array.isArray(defaults)) {
    return "must be an object of queue name to retry defaults";
  }
  for (const [queue, value] of Object.entries(defaults as Record<string, unknown>)) {
    if (typeof value !== "object" || value === null) return { path: queue, problem: "must be an object" };
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const limits = RETRY_LIMITS[key as keyof QueueRetryDefaults] as readonly [number, number] | undefined;
      if (!limits) {
        return { path: `${queue}.${key}`, problem: `unknown setting (use ${Object.keys(RETRY_LIMITS).join(", ")})` };
      }
      if (typeof v !== "number" || !(v >= limits[0] && v <= limits[1])) {
        return { path: `${queue}.${key}`, problem: `must be a number between ${limits[0]} and ${limits[1]}` };
      }
    }
  }
  return undefined;
}
