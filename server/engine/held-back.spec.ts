import { describe, expect, it } from "vitest";
import type { QueueDispatchStats } from "../redis/queue-stats.js";
import { heldBackOf } from "./held-back.js";
import type { QueueSettingsInForce } from "./queue-overview.js";

const none = { succeeded: 0, failed: 0, cancelled: 0 };
const stats = (over: Partial<QueueDispatchStats>): QueueDispatchStats => ({
  queued: 10,
  running: 0,
  scheduled: 0,
  oldestQueuedMs: null,
  paused: false,
  last1m: none,
  last5m: none,
  last15m: none,
  succeededPerMinute: [],
  failedPerMinute: [],
  heldPerKey: 0,
  keysAtLimit: 0,
  rateBucket: null,
  ...over,
});
const settings = (over: Partial<QueueSettingsInForce>): QueueSettingsInForce => ({
  maxAttempts: 3,
  initialBackoffMs: 1000,
  maxBackoffMs: 60_000,
  backoffMultiplier: 2,
  finishedRetentionMs: 0,
  deadRetentionMs: 0,
  defaultPriority: 0,
  defaultTimeoutMs: null,
  maxConcurrency: 0,
  maxConcurrencyPerKey: 0,
  maxPayloadBytes: 4_128_768,
  rateLimit: null,
  ...over,
});

describe("heldBackOf", () => {
  it("holds nothing back without limits", () => {
    expect(heldBackOf(stats({ running: 50 }), settings({}), 0)).toEqual({ maxConcurrency: 0, rateLimit: 0, perKey: 0, keysAtLimit: 0 });
  });

  it("counts keys at their limit apart from what the queue's limit holds", () => {
    const s = stats({ queued: 10, running: 5, heldPerKey: 4, keysAtLimit: 2 });
    expect(heldBackOf(s, settings({ maxConcurrency: 5, maxConcurrencyPerKey: 2 }), 0)).toEqual({ maxConcurrency: 6, rateLimit: 0, perKey: 4, keysAtLimit: 2 });
    expect(heldBackOf(s, settings({ maxConcurrency: 6, maxConcurrencyPerKey: 2 }), 0).maxConcurrency).toBe(0);
  });

  it("sees an empty rate bucket until it refills", () => {
    const s = stats({ rateBucket: { tokens: 0.2, countedMs: 1000 } });
    const limited = settings({ rateLimit: { limit: 10, periodMs: 1000 } });
    expect(heldBackOf(s, limited, 1000).rateLimit).toBe(10);
    expect(heldBackOf(s, limited, 1100).rateLimit).toBe(0);
  });
});
