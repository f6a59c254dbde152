import { create } from "@bufbuild/protobuf";
import { QueueInfoSchema, type QueueInfo } from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { QueueOverviewItem } from "../engine/queue-overview.js";
import { heldBackOf } from "../engine/held-back.js";
import { durationFromMs, timestampOf } from "./proto-time.js";

/** The API view of one queue. `nowMs` dates the oldest queued task's age. */
export function queueInfoOf(item: QueueOverviewItem, nowMs: number): QueueInfo {
  const { stats, record, workers, settings } = item;
  const paused = record?.paused ?? stats.paused;
  const outcomes = (o: { succeeded: number; failed: number; cancelled: number }) => ({
    succeeded: BigInt(o.succeeded),
    failed: BigInt(o.failed),
    cancelled: BigInt(o.cancelled),
  });
  const held = heldBackOf(stats, settings, nowMs);
  return create(QueueInfoSchema, {
    name: item.name,
    heldBack: {
      maxConcurrency: BigInt(held.maxConcurrency),
      rateLimit: BigInt(held.rateLimit),
      perKey: BigInt(held.perKey),
      keysAtLimit: BigInt(held.keysAtLimit),
    },
    paused,
    pauseReason: paused ? (record?.pauseReason ?? "") : "",
    pausedTime: paused ? timestampOf(record?.pausedAt) : undefined,
    counts: {
      queued: BigInt(stats.queued),
      scheduled: BigInt(stats.scheduled),
      running: BigInt(stats.running),
      dead: BigInt(item.dead),
    },
    throughput: {
      last1m: outcomes(stats.last1m),
      last5m: outcomes(stats.last5m),
      last15m: outcomes(stats.last15m),
      succeededPerMinute: stats.succeededPerMinute.map(BigInt),
      failedPerMinute: stats.failedPerMinute.map(BigInt),
    },
    oldestQueuedAge: stats.oldestQueuedMs === null ? undefined : durationFromMs(Math.max(0, nowMs - stats.oldestQueuedMs)),
    workers: { connected: workers.connected, capacity: workers.capacity, inFlight: workers.inFlight },
    settings: {
      maxAttempts: settings.maxAttempts,
      initialBackoff: durationFromMs(settings.initialBackoffMs),
      maxBackoff: durationFromMs(settings.maxBackoffMs),
      backoffMultiplier: settings.backoffMultiplier,
      finishedRetention: durationFromMs(settings.finishedRetentionMs),
      deadRetention: durationFromMs(settings.deadRetentionMs),
      defaultPriority: settings.defaultPriority,
      defaultTimeout: settings.defaultTimeoutMs === null ? undefined : durationFromMs(settings.defaultTimeoutMs),
      maxConcurrency: settings.maxConcurrency,
      maxConcurrencyPerKey: settings.maxConcurrencyPerKey,
      rateLimit: settings.rateLimit ? { limit: settings.rateLimit.limit, period: durationFromMs(settings.rateLimit.periodMs) } : undefined,
      maxPayloadBytes: settings.maxPayloadBytes,
    },
  });
}
