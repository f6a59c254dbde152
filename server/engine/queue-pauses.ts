import type { QueueRecord, QueueRepository } from "../db/queue-repository.js";
import type { QueueStats } from "../redis/queue-stats.js";

/** Options for {@link QueuePauses}. */
export interface QueuePausesOptions {
  repository: Pick<QueueRepository, "pause" | "resume" | "pausedNames">;
  stats: Pick<QueueStats, "setPaused" | "replacePaused">;
  /** A resumed queue: dispatch it now, here and on the other servers. */
  onResumed: (queue: string) => void;
  /** Clock (injected so tests can control time). */
  now?: () => Date;
}

/**
 * Pauses and resumes queues. Postgres' `queues` table is the record; Redis' `paused` set is
 * the copy the lease script consults on every server, so a pause stops leasing everywhere as
 * soon as it is written there (tasks already running finish). {@link sync} rebuilds the copy
 * from Postgres (recovery's full sweeps run it before re-enqueueing, e.g. after Redis lost
 * its data).
 */
export class QueuePauses {
  private readonly now: () => Date;

  constructor(private readonly options: QueuePausesOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Pauses `queue` (idempotent: a paused queue keeps its first reason and time). */
  async pause(queue: string, reason: string): Promise<QueueRecord> {
    const record = await this.options.repository.pause(queue, reason, this.now());
    await this.options.stats.setPaused(queue, true);
    return record;
  }

  /** Resumes `queue` (nothing to do when it is not paused) and starts its dispatch. */
  async resume(queue: string): Promise<void> {
    await this.options.repository.resume(queue, this.now());
    await this.options.stats.setPaused(queue, false);
    this.options.onResumed(queue);
  }

  /** Makes Redis' paused names those Postgres records. */
  async sync(): Promise<void> {
    await this.options.stats.replacePaused(await this.options.repository.pausedNames());
  }
}
