import { Batcher } from "../db/batcher.js";
import type { StoredError } from "../db/schema.js";
import type { LeaseEnd, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { transitionOfLeaseEnd } from "./lease-ends.js";
import { preciseNowMs } from "./precise-time.js";

/** Result batches fenced and being committed at once; further results wait unfenced. */
export const RECORDING_BATCHES_IN_FLIGHT = 4;

/** A result as reported by a worker, already validated. */
export interface ReportedResult {
  /** The session (stream) that reported it: a result counts only from the lease's holder. */
  sessionId: string;
  taskId: string;
  /**
   * The task's queue as the session's lease record has it; "" when the session holds no
   * lease on the task (the result is then stale).
   */
  queue: string;
  leaseToken: string;
  outcome:
    | { kind: "success"; result: { bytes: Buffer; format: 1 | 2 } }
    | { kind: "failure"; error: StoredError };
}

/** Verdict on one result. */
export type ResultVerdict =
  | { status: "accepted"; end: LeaseEnd }
  | { status: "stale" };

/** A committed batch of results, for {@link ResultRecorderOptions.onCommitted}. */
export interface CommittedResults {
  /** The lease ends of the accepted results. */
  accepted: readonly LeaseEnd[];
  /** Results in the batch, stale ones included. */
  size: number;
  /** When the batch was taken up (ms since the epoch, to the microsecond). */
  startedMs: number;
  /** When Redis had fenced it (ms). */
  fencedMs: number;
  /** When its group commit ended (ms). */
  committedMs: number;
}

/** Options for {@link ResultRecorder}. */
export interface ResultRecorderOptions {
  store: QueueStore;
  transitions: DurableTransitions;
  now?: () => number;
  /** Told about every accepted result (to wake queues and arm back-off timers), once durable. */
  onLeaseEnds: (ends: LeaseEnd[]) => void;
  /**
   * Told about accepted results as soon as Redis has ended their leases, before the commit:
   * the worker no longer runs those tasks, so dispatch may fill their room.
   */
  onFenced?: (ends: LeaseEnd[]) => void;
  /** Told how many results of a batch were stale. */
  onStale?: (count: number) => void;
  /**
   * Told about each batch once committed, with its times (set only when tracing is on: the
   * result commit spans; without it the flush reads no extra clock).
   */
  onCommitted?: (batch: CommittedResults) => void;
}

/**
 * Records worker results: results arriving together from any streams are fenced in one
 * Redis script call and written to Postgres in one group commit; each verdict is returned
 * only after the commit, so an ACCEPTED ack means durable.
 */
export class ResultRecorder {
  private readonly batcher: Batcher<ReportedResult, ResultVerdict>;
  private readonly now: () => number;

  constructor(private readonly options: ResultRecorderOptions) {
    this.now = options.now ?? Date.now;
    this.batcher = new Batcher({
      flush: (results) => this.flush(results),
      windowMs: 0,
      maxBatch: 1000,
      maxInFlight: RECORDING_BATCHES_IN_FLIGHT,
    });
  }

  /** Fences and records results; resolves with a verdict per result once durable. */
  record(results: ReportedResult[]): Promise<ResultVerdict[]> {
    return this.batcher.submitMany(results);
  }

  /** Resolves once every result handed in so far is recorded. */
  idle(): Promise<void> {
    return this.batcher.idle();
  }

  private async flush(results: ReportedResult[]): Promise<ResultVerdict[]> {
    // Span times (only read when someone listens): microsecond wall clock, like the workers'.
    const startedMs = this.options.onCommitted ? preciseNowMs() : 0;
    const ends = await this.options.store.complete(
      results.map((r) => ({
        id: r.taskId,
        queue: r.queue,
        sessionId: r.sessionId,
        leaseToken: r.leaseToken,
        how: r.outcome.kind === "success" ? "succeeded" : r.outcome.error.nonRetryable ? "fatal" : "failed",
      })),
    );
    // Room first: the lease pass that fills it goes out before the outcomes are built.
    const accepted = ends.filter((end): end is LeaseEnd => end !== null);
    if (accepted.length > 0) this.options.onFenced?.(accepted);
    const now = this.now();
    const fencedMs = this.options.onCommitted ? preciseNowMs() : 0;
    const transitions = [];
    for (let i = 0; i < results.length; i++) {
      const end = ends[i];
      if (!end) continue;
      const outcome = results[i]!.outcome;
      transitions.push(
        transitionOfLeaseEnd(end, now, outcome.kind === "success" ? { result: outcome.result } : { error: outcome.error }),
      );
    }
    await this.options.transitions.write(transitions);
    this.options.onCommitted?.({ accepted, size: results.length, startedMs, fencedMs, committedMs: preciseNowMs() });
    this.options.onLeaseEnds(accepted);
    if (accepted.length < results.length) this.options.onStale?.(results.length - accepted.length);
    return ends.map((end) => (end ? { status: "accepted" as const, end } : { status: "stale" as const }));
  }
}
