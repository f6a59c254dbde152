import { setTimeout as sleep } from "node:timers/promises";
import { isDataError } from "../db/data-errors.js";
import type { TransitionWriter } from "../db/transition-writer.js";
import type { Logger } from "../observability/logger.js";
import { sanitisedTransition, strippedTransition } from "./storable-transition.js";
import type { TaskTransition } from "./task-records.js";

/** Options for {@link DurableTransitions}. */
export interface DurableTransitionsOptions {
  writer: TransitionWriter;
  logger: Logger;
  /** First retry delay after a failed write, ms. Default 100. */
  initialRetryMs?: number;
  /** Largest retry delay, ms. Default 5000. */
  maxRetryMs?: number;
  /** Clock in epoch ms, for the times of a transition rebuilt after Postgres refused it. Default Date.now. */
  now?: () => number;
}

/**
 * Writes transitions that Redis has already applied and that must reach Postgres: a failed
 * write (Postgres down) is retried with back-off until it commits or the server stops.
 *
 * A write that Postgres refuses for its data (see `isDataError`) is never retried as it is:
 * it is split in halves, written one after the other, down to the transition at fault,
 * which is then written sanitised (text made storable, impossible times replaced) or, if
 * Postgres still refuses, stripped to its state and attempt with an error saying why (see
 * `storable-transition.ts`). So one bad value costs a few extra statements, never the
 * other transitions and never a retry loop.
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
    const promise = this.writeIsolating(transitions);
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

  /** Writes with retries; on a data error, bisects down to the refused transition. */
  private async writeIsolating(transitions: TaskTransition[]): Promise<void> {
    try {
      await this.writeWithRetry(transitions);
    } catch (error) {
      if (this.stopped || !isDataError(error)) throw error;
      if (transitions.length > 1) {
        const half = Math.ceil(transitions.length / 2);
        await this.writeIsolating(transitions.slice(0, half));
        await this.writeIsolating(transitions.slice(half));
        return;
      }
      await this.writeRefused(transitions[0]!, error);
    }
  }

  /** Writes what can be kept of a transition Postgres refused (see the class comment). */
  private async writeRefused(transition: TaskTransition, refusal: unknown): Promise<void> {
    const nowMs = (this.options.now ?? Date.now)();
    const reason = (refusal as Error).message;
    const fallbacks = [
      { how: "sanitised", transition: sanitisedTransition(transition, nowMs) },
      { how: "stripped", transition: strippedTransition(transition, reason, nowMs) },
    ];
    let last = refusal;
    for (const fallback of fallbacks) {
      try {
        await this.writeWithRetry([fallback.transition]);
        this.options.logger.warn(
          { err: refusal, taskId: transition.id, attempt: transition.attempt, state: transition.state, stored: fallback.how },
          "Postgres refused a transition's data; stored it altered",
        );
        return;
      } catch (error) {
        if (this.stopped || !isDataError(error)) throw error;
        last = error;
      }
    }
    this.options.logger.error(
      { err: last, taskId: transition.id, attempt: transition.attempt, state: transition.state },
      "Postgres refused a transition even stripped to its state; not written",
    );
  }

  private async writeWithRetry(transitions: TaskTransition[]): Promise<void> {
    let delay = this.options.initialRetryMs ?? 100;
    const maxDelay = this.options.maxRetryMs ?? 5_000;
    for (;;) {
      try {
        await this.options.writer.write(transitions);
        return;
      } catch (error) {
        // Refused data fails the same way every time: the caller isolates it instead.
        if (this.stopped || isDataError(error)) throw error;
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
