import { setTimeout as sleep } from "node:timers/promises";
import type { TransitionWriter } from "../db/transition-writer.js";
import type { Logger } from "../observability/logger.js";
import type { TaskTransition } from "./task-records.js";

/** Options for {@link DurableTransitions}. */
export interface DurableTransitionsOptions {
  writer: TransitionWriter;
  logger: Logger;
  /** First retry delay after a failed write, ms. Default 100. */
  initialRetryMs?: number;
  /** Largest retry delay, ms. Default 5000. */
  maxRetryMs?: number;
}

/**
 * Writes transitions that Redis has already applied and that must reach Postgres: a failed
 * write (Postgres down) is retried with back-off until it commits or the server stops.
 */
export class DurableTransitions {
  private stopped = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly deferred = new Map<string, TaskTransition>();
  private deferredTimer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly options: DurableTransitionsOptions) {}

  /** Writes and resolves once committed; keeps retrying while Postgres is unreachable. */
  write(transitions: TaskTransition[]): Promise<void> {
    if (transitions.length === 0) return Promise.resolve();
    this.supersede(transitions);
    const promise = this.writeWithRetry(transitions);
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
    return promise;
  }

  /** Fire-and-forget variant: failures are retried and logged, never thrown. */
  writeInBackground(transitions: TaskTransition[]): void {
    this.write(transitions).catch((error: unknown) =>
      this.options.logger.error({ err: error, count: transitions.length }, "transitions not written"),
    );
  }

  /**
   * Writes in the background after `delayMs`, unless a later transition of the same task
   * supersedes it first. Used for RUNNING marks: a task that finishes within the delay is
   * written once, by its outcome (which carries the start time and worker), not twice.
   */
  writeDeferred(transitions: TaskTransition[], delayMs: number): void {
    for (const t of transitions) this.deferred.set(t.id, t);
    this.deferredTimer ??= setTimeout(() => this.flushDeferred(), delayMs);
  }

  private supersede(transitions: TaskTransition[]): void {
    if (this.deferred.size === 0) return;
    for (const t of transitions) {
      const waiting = this.deferred.get(t.id);
      if (waiting && waiting !== t && waiting.attempt <= t.attempt) this.deferred.delete(t.id);
    }
  }

  private flushDeferred(): void {
    this.deferredTimer = undefined;
    const batch = [...this.deferred.values()];
    this.deferred.clear();
    this.writeInBackground(batch);
  }

  /**
   * Writes the deferred RUNNING marks now, then resolves once every write handed in so far,
   * and every write handed in while waiting (e.g. the lease ends of streams closing during a
   * shutdown), has committed or failed for good. Unbounded while Postgres is unreachable:
   * a shutdown waits on it within its budget, then calls {@link stop}.
   */
  async settled(): Promise<void> {
    clearTimeout(this.deferredTimer);
    this.flushDeferred();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Stops retrying: writes waiting to retry fail at once, and a write that fails from now
   * on fails for good (what they carried is left to recovery).
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.deferredTimer);
    this.deferredTimer = undefined;
    this.stopping.abort();
  }

  private async writeWithRetry(transitions: TaskTransition[]): Promise<void> {
    let delay = this.options.initialRetryMs ?? 100;
    const maxDelay = this.options.maxRetryMs ?? 5_000;
    for (;;) {
      try {
        await this.options.writer.write(transitions);
        return;
      } catch (error) {
        if (this.stopped) throw error;
        this.options.logger.warn({ err: error, retryInMs: delay }, "writing transitions failed; retrying");
        // Aborted by stop(): give up with the write's own error.
        await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => {
          throw error;
        });
        delay = Math.min(maxDelay, delay * 2);
      }
    }
  }
}
