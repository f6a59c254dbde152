import type { Redis } from "ioredis";
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
  /** Whether Redis' copy of the paused names holds the queue. */
  paused: boolean;
  /** Outcomes over the last 1, 5 and 15 minute buckets (the current minute counts as one). */
  last1m: OutcomeCounts;
  last5m: OutcomeCounts;
  last15m: OutcomeCounts;
}

/** Options for {@link QueueStats}. */
export interface QueueStatsOptions {
  redis: Redis;
  prefix: string;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
}

/**
 * Reads per-queue figures from structures the scripts keep as tasks move (ready zset
 * cardinalities, the `qc:` counters, the per-minute `qm:` buckets) and keeps Redis' copy of
 * the paused queue names. Nothing here scans tasks.
 */
export class QueueStats {
  private readonly run: ScriptRunner;
  private readonly now: () => number;

  constructor(private readonly options: QueueStatsOptions) {
    this.run = loadScripts(options.redis);
    this.now = options.now ?? Date.now;
  }

  /** The figures of each queue, in the order asked. */
  async read(queues: readonly string[]): Promise<QueueDispatchStats[]> {
    if (queues.length === 0) return [];
    const reply = (await this.run("stats", [this.options.prefix, String(this.now()), ...queues])) as number[][];
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
      };
    });
  }

  /** Names of queues the dispatch state knows (every queue a task was enqueued to). */
  async knownQueues(): Promise<string[]> {
    return this.options.redis.smembers(`${this.options.prefix}queues`);
  }

  /** Whether the dispatch state knows the queue (a task was enqueued to it). */
  async isKnown(queue: string): Promise<boolean> {
    return (await this.options.redis.sismember(`${this.options.prefix}queues`, queue)) === 1;
  }

  /** Adds a queue to, or removes it from, the paused names the lease script consults. */
  async setPaused(queue: string, paused: boolean): Promise<void> {
    const key = `${this.options.prefix}paused`;
    if (paused) await this.options.redis.sadd(key, queue);
    else await this.options.redis.srem(key, queue);
  }

  /** Replaces the paused names with `queues` in one transaction (recovery's rebuild). */
  async replacePaused(queues: readonly string[]): Promise<void> {
    const key = `${this.options.prefix}paused`;
    const multi = this.options.redis.multi().del(key);
    if (queues.length > 0) multi.sadd(key, ...queues);
    await multi.exec();
  }
}
