import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetQueueResponseSchema, ListQueuesResponseSchema } from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { QueueOverviewItem } from "../engine/queue-overview.js";
import type { QueueSnapshotEntry } from "../engine/queue-snapshots.js";
import { ENCODE_BINARY } from "../transport/fast-message.js";
import { GetQueueReply, ListQueuesReply, QueueViews } from "./queue-replies.js";

const outcomes = { succeeded: 3, failed: 1, cancelled: 0 };

function entry(name: string, paused: boolean): QueueSnapshotEntry {
  const item: QueueOverviewItem = {
    name,
    record: paused ? { name, paused, pauseReason: "deploy", pausedAt: new Date(1_765_000_000_000), settings: {} } : null,
    stats: {
      queued: 12,
      running: 2,
      scheduled: 1,
      oldestQueuedMs: 1_765_000_000_000,
      paused,
      last1m: outcomes,
      last5m: outcomes,
      last15m: outcomes,
      succeededPerMinute: Array.from({ length: 15 }, (_, i) => i),
      failedPerMinute: Array.from({ length: 15 }, () => 0),
      heldPerKey: 0,
      keysAtLimit: 0,
      rateBucket: null,
    },
    dead: 4,
    workers: { connected: 1, capacity: 10, inFlight: 2 },
    settings: {
      maxAttempts: 3,
      initialBackoffMs: 1000,
      maxBackoffMs: 60_000,
      backoffMultiplier: 2,
      finishedRetentionMs: 86_400_000,
      deadRetentionMs: 0,
      defaultPriority: 0,
      defaultTimeoutMs: null,
      maxConcurrency: 0,
      maxConcurrencyPerKey: 0,
      maxPayloadBytes: 4_128_768,
      rateLimit: { limit: 5, periodMs: 1000 },
    },
  };
  return { item, at: 1_765_000_002_500 };
}

describe("queue replies", () => {
  const views = new QueueViews();
  const entries = [entry("a", false), entry("b", true)];

  it("ListQueuesReply writes what protobuf-es writes for its queues", () => {
    const reply = new ListQueuesReply(views, entries, "next");
    const reflective = toBinary(ListQueuesResponseSchema, create(ListQueuesResponseSchema, { queues: reply.queues, nextPageToken: "next" }));
    expect(Buffer.from(reply[ENCODE_BINARY]()).equals(Buffer.from(reflective))).toBe(true);
    const decoded = fromBinary(ListQueuesResponseSchema, reply[ENCODE_BINARY]());
    expect(decoded.queues.map((q) => [q.name, q.paused, q.pauseReason, q.oldestQueuedAge?.seconds])).toEqual([
      ["a", false, "", 2n],
      ["b", true, "deploy", 2n],
    ]);
  });

  it("GetQueueReply writes what protobuf-es writes, and shares the entry's view", () => {
    const reply = new GetQueueReply(views, entries[1]!);
    const reflective = toBinary(GetQueueResponseSchema, create(GetQueueResponseSchema, { queue: reply.queue }));
    expect(Buffer.from(reply[ENCODE_BINARY]()).equals(Buffer.from(reflective))).toBe(true);
    expect(views.info(entries[1]!)).toBe(reply.queue);
    expect(views.bytes(entries[1]!)).toBe(views.bytes(entries[1]!));
  });
});
