import type { Redis } from "ioredis";
import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { Logger } from "../observability/logger.js";
import { answerWithin, nodeIdentity } from "./node-answer.js";

/** Options for {@link RedisRestartWatch}. */
export interface RedisRestartWatchOptions {
  redis: Redis;
  logger: Logger;
  /** How often Redis is asked who it is, ms. */
  intervalMs: number;
  /** An answer later than this counts as none this round, ms. */
  timeoutMs?: number;
  /**
   * Redis is another process than at the last look (restarted, or a replica promoted behind
   * the same address): it may have come back from an older snapshot or AOF, without its last
   * writes. `afterMs` (epoch ms) is when the last look Redis answered before this one
   * started: the new process served nothing before it.
   */
  onRestarted: (afterMs: number) => void;
}

/**
 * Notices when a single Redis (`REDIS_URL`) may have lost its last writes while keeping the
 * rest, which the epoch marker cannot show: a restart from an RDB snapshot or an AOF fsynced
 * every second brings back the marker with the older data. Every `intervalMs` it reads
 * `run_id` and `master_replid` (`INFO`); when either changed since the last look it reports
 * it, and recovery then treats every queue as a Redis Cluster slot whose master failed over
 * (see SlotOwnerWatch): a full sweep from Postgres, and the removal of the leases and queued
 * entries Redis brought back for tasks Postgres has finished. The first look only records.
 * A restart that lost nothing costs one sweep that finds nothing.
 */
export class RedisRestartWatch implements Service {
  private readonly periodic: PeriodicTask;
  private identity: string | undefined;
  /** When the last look that Redis answered started (epoch ms). */
  private lastAnsweredAt = Date.now();

  constructor(private readonly options: RedisRestartWatchOptions) {
    this.periodic = new PeriodicTask({ name: "redis restart watch", run: () => this.look(), intervalMs: options.intervalMs, runAtStart: true, logger: options.logger });
  }

  /** Starts looking: the first look records who Redis is. */
  start(): void {
    this.periodic.start();
  }

  /** Stops looking; a look under way is waited for. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  private async look(): Promise<void> {
    const startedAt = Date.now();
    const info = await answerWithin(this.options.timeoutMs ?? 1_000, () => this.options.redis.call("INFO", "server", "replication"));
    if (info === undefined) return;
    // Looks Redis did not answer may have started after the new process did: the last one it
    // answered is the bound (earlier is safe: fewer leases count as left behind).
    const previousAt = this.lastAnsweredAt;
    this.lastAnsweredAt = startedAt;
    const now = nodeIdentity(String(info));
    const before = this.identity;
    this.identity = now;
    if (before === undefined || before === now) return;
    this.options.logger.warn("redis restarted (a new run_id or replication id): it may have lost its last writes; recovering every queue from Postgres");
    this.options.onRestarted(previousAt);
  }
}
