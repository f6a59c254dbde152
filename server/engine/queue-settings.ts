import type { QueueLimits } from "../redis/queue-store.js";
import type { QueueRetryDefaults } from "../settings/queue-retry-defaults.js";

/**
 * A queue's own settings as stored by UpdateQueue (`queues.settings`); a field left out
 * falls back to the server's settings.
 */
export interface StoredQueueSettings extends QueueRetryDefaults {
  /** Priority of a task submitted with priority 0. */
  defaultPriority?: number;
  /** Timeout per attempt of a task submitted without one, ms. */
  defaultTimeoutMs?: number;
  /** Most RUNNING tasks of the queue at once, across every server. */
  maxConcurrency?: number;
  /** Most RUNNING tasks per concurrency key, across every server. */
  maxConcurrencyPerKey?: number;
  /** Most task starts per {@link ratePeriodMs} (set together with it). */
  rateLimit?: number;
  /** The rate limit's period, ms. */
  ratePeriodMs?: number;
  /** How long the queue's SUCCEEDED, CANCELLED and EXPIRED tasks are kept, ms; 0: forever. */
  finishedRetentionMs?: number;
  /** How long the queue's DEAD tasks are kept, ms; 0: until purged or re-driven. */
  deadRetentionMs?: number;
  /** Largest payload of the queue's tasks, bytes (the server's MAX_PAYLOAD_BYTES applies too). */
  maxPayloadBytes?: number;
}

/** The field names of {@link StoredQueueSettings}. */
export const storedQueueSettingKeys = [
  "maxAttempts",
  "initialBackoffMs",
  "maxBackoffMs",
  "backoffMultiplier",
  "defaultPriority",
  "defaultTimeoutMs",
  "maxConcurrency",
  "maxConcurrencyPerKey",
  "rateLimit",
  "ratePeriodMs",
  "finishedRetentionMs",
  "deadRetentionMs",
  "maxPayloadBytes",
] as const satisfies ReadonlyArray<keyof StoredQueueSettings>;

/** Reads a stored settings document, keeping only known numeric fields. */
export function storedQueueSettingsOf(json: unknown): StoredQueueSettings {
  const out: StoredQueueSettings = {};
  if (typeof json !== "object" || json === null) return out;
  for (const key of storedQueueSettingKeys) {
    const value = (json as Record<string, unknown>)[key];
    if (typeof value === "number" && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

/** The dispatch limits a queue's stored settings put in force (none when it has no settings). */
export function queueLimitsOf(stored: StoredQueueSettings | undefined): QueueLimits {
  const rateLimit = stored?.rateLimit && stored.ratePeriodMs ? { limit: stored.rateLimit, periodMs: stored.ratePeriodMs } : null;
  return { maxConcurrency: stored?.maxConcurrency ?? 0, maxPerKey: stored?.maxConcurrencyPerKey ?? 0, rateLimit };
}

/** True when the stored settings hold a limit whose room only a lease end gives back. */
export function hasRunningLimit(stored: StoredQueueSettings | undefined): boolean {
  return (stored?.maxConcurrency ?? 0) > 0 || (stored?.maxConcurrencyPerKey ?? 0) > 0;
}
