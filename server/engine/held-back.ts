import type { QueueDispatchStats } from "../redis/queue-stats.js";
import type { QueueSettingsInForce } from "./queue-overview.js";

/** Ready tasks a dispatch limit holds back right now, by limit (a snapshot). */
export interface HeldBackCounts {
  /** Ready tasks (outside keys at their limit) while the queue is at max_concurrency. */
  maxConcurrency: number;
  /** Ready tasks (outside keys at their limit) while the rate limit's bucket has no whole token. */
  rateLimit: number;
  /** Ready tasks of concurrency keys at max_concurrency_per_key. */
  perKey: number;
  /** Concurrency keys at max_concurrency_per_key that have ready tasks. */
  keysAtLimit: number;
}

/**
 * Works out which limits hold a queue's ready tasks back, from its dispatch figures and the
 * limits in force. The rate limit's bucket is refilled to `nowMs` the way lease.lua does it
 * (a tenth of the limit, at least 1, at most).
 */
export function heldBackOf(stats: QueueDispatchStats, settings: QueueSettingsInForce, nowMs: number): HeldBackCounts {
  const perKey = settings.maxConcurrencyPerKey > 0 ? stats.heldPerKey : 0;
  const others = Math.max(0, stats.queued - perKey);
  const atConcurrency = settings.maxConcurrency > 0 && stats.running >= settings.maxConcurrency;
  let outOfTokens = false;
  const rate = settings.rateLimit;
  if (rate && stats.rateBucket) {
    const burst = Math.max(1, Math.floor(rate.limit / 10));
    const elapsed = Math.max(0, nowMs - stats.rateBucket.countedMs);
    outOfTokens = Math.min(burst, stats.rateBucket.tokens + (elapsed * rate.limit) / rate.periodMs) < 1;
  }
  return {
    maxConcurrency: atConcurrency ? others : 0,
    rateLimit: outOfTokens ? others : 0,
    perKey,
    keysAtLimit: settings.maxConcurrencyPerKey > 0 ? stats.keysAtLimit : 0,
  };
}
