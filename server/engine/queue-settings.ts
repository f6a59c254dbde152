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
  /** How long the queue's SUCCEEDED, CANCELLED and EXPIRED tasks are kept, ms; 0: forever. */
  finishedRetentionMs?: number;
  /** How long the queue's DEAD tasks are kept, ms; 0: until purged or re-driven. */
  deadRetentionMs?: number;
}

/** The field names of {@link StoredQueueSettings}. */
export const storedQueueSettingKeys = [
  "maxAttempts",
  "initialBackoffMs",
  "maxBackoffMs",
  "backoffMultiplier",
  "defaultPriority",
  "defaultTimeoutMs",
  "finishedRetentionMs",
  "deadRetentionMs",
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
