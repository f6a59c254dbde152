import type { RedisClient } from "./connection.js";
import { DispatchKeys } from "./keys.js";
import { loadScripts, type ScriptRunner } from "./scripts.js";

/** Attempts that ended within one window. */
export interface OutcomeCounts {
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** What the dispatch state knows of one queue (see stats.lua). */
export interface QueueDispatchStats {
  queued: number;
  running: number;
  scheduled: number;
  /** Created time (ms) of the oldest queued task; null when none is queued. */
  oldestQueuedMs: number | null;
  /** Whether Redis' copy of the queue's paused flag is set. */
  paused: boolean;
  /** Outcomes over the last 1, 5 and 15 minute buckets (the current minute counts as one). */
  last1m: OutcomeCounts;
  last5m: OutcomeCounts;
  last15m: OutcomeCounts;
  /** Succeeded tasks in each of the last 15 minutes, oldest first (the last is the current minute). */
  succeededPerMinute: number[];
  /** Failed attempts in each of the last 15 minutes, oldest first. */
  failedPerMinute: number[];
  /** Ready tasks of concurrency keys parked at the queue's per-key limit. */
  heldPerKey: number;
  /** Concurrency keys parked at the per-key limit (at most 1000 counted). */
  keysAtLimit: number;
  /** The rate limit's token bucket as last written by a lease; null when there is none. */
  rateBucket: { tokens: number; countedMs: number } | null;
}

/** Options for {@link QueueStats}. */
export interface QueueStatsOptions {
  redis: RedisClient;
  prefix: string;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
}

/**
 * Reads per-queue figures from structures the scripts keep as tasks move (ready zset
 * cardinalities, the counters, the per-minute outcome buckets) and keeps Redis' copy of the
 * queues' paused flags. Nothing here scans tasks.
 */
export class QueueStats {
  private readonly run: ScriptRunner;
  private readonly now: () => number;
  private readonly keys: DispatchKeys;

  constructor(private readonly options: QueueStatsOptions) {
    this.run = loadScripts(options.redis);
    this.now = options.now ?? Date.now;
    this.keys = new DispatchKeys(options.prefix);
  }

  /** The figures of each queue, in the order asked. */
  async read(queues: readonly string[]): Promise<QueueDispatchStats[]> {
    if (queues.length === 0) return [];
    const now = String(this.now());
    // One read per queue (each in its queue's hash slot), sent back to back.
    const reply = (await Promise.all(
      queues.map((queue) => {
        const qk = this.keys.queue(queue);
        return this.run("stats", qk.scriptKeys, [qk.tagged, now]);
      }),
    )) as number[][];
    return reply.map((r) => {
      const n = r.map(Number);
      const outcomes = (at: number): OutcomeCounts => ({ succeeded: n[at]!, failed: n[at + 1]!, cancelled: n[at + 2]! });
      return {
        queued: n[0]!,
        running: Math.max(0, n[1]!),
        scheduled: Math.max(0, n[2]!),
        oldestQueuedMs: n[3]! < 0 ? null : n[3]!,
        paused: n[4] === 1,
        last1m: outcomes(5),
        last5m: outcomes(8),
        last15m: outcomes(11),
        // The script gives the minutes from the current one back: reverse to oldest first.
        succeededPerMinute: Array.from({ length: 15 }, (_, i) => n[14 + 2 * (14 - i)]!),
        failedPerMinute: Array.from({ length: 15 }, (_, i) => n[15 + 2 * (14 - i)]!),
        heldPerKey: n[44] ?? 0,
        keysAtLimit: n[45] ?? 0,
        rateBucket: (n[47] ?? -1) < 0 ? null : { tokens: n[46]!, countedMs: n[47]! },
      };
    });
  }

  /** Names of queues the dispatch state knows (every queue a task was enqueued to). */
  async knownQueues(): Promise<string[]> {
    return this.options.redis.smembers(this.keys.queues);
  }

  /** Whether the dispatch state knows the queue (a task was enqueued to it). */
  async isKnown(queue: string): Promise<boolean> {
    return (await this.options.redis.sismember(this.keys.queues, queue)) === 1;
  }

  /** Sets or clears the queue's paused flag, which the lease script consults. */
  async setPaused(queue: string, paused: boolean): Promise<void> {
    const key = this.keys.queue(queue).paused;
    if (paused) await this.options.redis.set(key, "1");
    else await this.options.redis.del(key);
  }

  /**
   * Makes the paused flags say exactly `queues` (recovery's rebuild): sets theirs and clears
   * those of every other queue the registry knows.
   */
  async replacePaused(queues: readonly string[]): Promise<void> {
    const paused = new Set(queues);
    const known = await this.options.redis.smembers(this.keys.queues);
    // Separate commands sent back to back, not a pipeline: the flags sit in their queues' hash
    // slots, which a Redis Cluster pipeline may not mix.
    const { redis } = this.options;
    await Promise.all([
      ...[...paused].map((queue) => redis.set(this.keys.queue(queue).paused, "1")),
      ...known.filter((queue) => !paused.has(queue)).map((queue) => redis.del(this.keys.queue(queue).paused)),
    ]);
  }
}
