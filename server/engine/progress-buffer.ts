import { toStorableText } from "../db/storable-text.js";
import type { Logger } from "../observability/logger.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";
import type { ProgressUpdate } from "./task-records.js";

/** Options for {@link ProgressBuffer}. */
export interface ProgressBufferOptions {
  /**
   * Writes one flush's updates (one per task) in one statement; may resolve with the ids of
   * tasks whose row could not take progress yet (leased, not marked RUNNING yet): those are
   * tried again at the next flushes, up to {@link PROGRESS_WRITE_TRIES} times.
   */
  write: (updates: ProgressUpdate[]) => Promise<readonly string[] | void>;
  logger: Logger;
  /** How often buffered progress is written, ms. Default {@link PROGRESS_FLUSH_INTERVAL_MS}. */
  flushIntervalMs?: number;
  /**
   * Most tasks one stream may have waiting in the buffer; a report for yet another task of
   * that stream is dropped until the next flush. Default {@link PROGRESS_TASKS_PER_STREAM}.
   */
  maxTasksPerStream?: number;
  /** Told about every report received. */
  onReport?: () => void;
  /** Told how many tasks' progress a flush wrote. */
  onWritten?: (tasks: number) => void;
  /** Told how many reports were dropped (over the per-stream bound, or their write failed). */
  onDropped?: (reports: number) => void;
}

/** Default flush interval: each task's progress is written at most four times a second. */
export const PROGRESS_FLUSH_INTERVAL_MS = 250;

/** Default bound of the tasks one stream may have waiting in the buffer. */
export const PROGRESS_TASKS_PER_STREAM = 1_000;

/**
 * Flushes a report is written in at most: a task reports progress as soon as it starts, which
 * can be before its RUNNING mark commits; 20 flushes of 250 ms give the mark 5 s.
 */
export const PROGRESS_WRITE_TRIES = 20;

/** Longest progress message stored, in UTF-16 code units. */
export const PROGRESS_MESSAGE_MAX = 1024;

interface Pending {
  sessionId: string;
  update: ProgressUpdate;
  /** Flushes that tried to write it (its row was not RUNNING yet). */
  tries: number;
}

/**
 * Progress reports of running tasks, coalesced per task (the latest report wins) and
 * written every {@link PROGRESS_FLUSH_INTERVAL_MS} in one statement of their own, apart
 * from results and every other state change: a worker reporting progress thousands of times
 * a second costs one row per task per flush, and no one else's writes wait behind it. The
 * buffer holds at most {@link PROGRESS_TASKS_PER_STREAM} tasks per stream. Progress is
 * advisory: a report superseded before a flush is never written, and a failed write is not
 * retried (the next report replaces it).
 */
export class ProgressBuffer implements Service {
  private pending = new Map<string, Pending>();
  private perSession = new Map<string, number>();
  private readonly periodic: PeriodicTask;
  private flushing: Promise<void> | undefined;

  constructor(private readonly options: ProgressBufferOptions) {
    this.periodic = new PeriodicTask({
      name: "progress flush",
      run: () => this.flush(),
      intervalMs: options.flushIntervalMs ?? PROGRESS_FLUSH_INTERVAL_MS,
      logger: options.logger,
    });
  }

  /** Starts the periodic flush. */
  start(): void {
    this.periodic.start();
  }

  /**
   * Buffers a report of stream `sessionId` for the task `update.id` (which the stream
   * holds), replacing any report of that task not yet written. O(1); never waits.
   */
  report(sessionId: string, update: ProgressUpdate): void {
    this.options.onReport?.();
    if (update.message.length > PROGRESS_MESSAGE_MAX) update = { ...update, message: detachedPrefix(update.message, PROGRESS_MESSAGE_MAX) };
    const waiting = this.pending.get(update.id);
    if (waiting) {
      waiting.update = update;
      return;
    }
    const count = this.perSession.get(sessionId) ?? 0;
    if (count >= (this.options.maxTasksPerStream ?? PROGRESS_TASKS_PER_STREAM)) {
      this.options.onDropped?.(1);
      return;
    }
    this.perSession.set(sessionId, count + 1);
    this.pending.set(update.id, { sessionId, update, tries: 0 });
  }

  /**
   * Writes what is buffered now, in one statement; while a flush runs, another call waits
   * for it instead of starting a second one (reports keep coalescing meanwhile).
   */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /**
   * Stops the periodic flush and writes what is buffered, after the write in progress;
   * waits at most `timeoutMs` (default: until written).
   */
  async stop(timeoutMs?: number): Promise<void> {
    const last = (async () => {
      await this.periodic.stop();
      await this.flushing;
      await this.flush();
    })();
    if (timeoutMs === undefined) return last;
    let deadline: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => (deadline = setTimeout(resolve, timeoutMs)));
    await Promise.race([last, bounded]);
    clearTimeout(deadline);
  }

  /** Puts back a report whose task was not RUNNING yet, unless a newer one replaced it or it ran out of tries. */
  private retry(taken: Pending | undefined): void {
    if (!taken || this.pending.has(taken.update.id)) return;
    if (taken.tries + 1 >= PROGRESS_WRITE_TRIES) {
      this.options.onDropped?.(1);
      return;
    }
    this.pending.set(taken.update.id, { ...taken, tries: taken.tries + 1 });
    this.perSession.set(taken.sessionId, (this.perSession.get(taken.sessionId) ?? 0) + 1);
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = this.pending;
    const batch = [...taken.values()].map((p) => ({
      id: p.update.id,
      percent: p.update.percent,
      message: toStorableText(p.update.message),
    }));
    this.pending = new Map();
    this.perSession = new Map();
    try {
      const notYet = (await this.options.write(batch)) ?? [];
      this.options.onWritten?.(batch.length - notYet.length);
      for (const id of notYet) this.retry(taken.get(id));
    } catch (error) {
      this.options.logger.warn({ err: error, tasks: batch.length }, "writing progress failed; dropped");
      this.options.onDropped?.(batch.length);
    }
  }
}

/**
 * The first `length` code units of `text` as a string of their own: a plain slice would keep
 * the whole (possibly megabytes long) message alive while the report waits in the buffer.
 */
function detachedPrefix(text: string, length: number): string {
  return Buffer.from(text.slice(0, length), "utf16le").toString("utf16le");
}
