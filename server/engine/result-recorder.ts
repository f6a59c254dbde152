import { Batcher } from "../db/batcher.js";
import type { StoredError } from "../db/schema.js";
import type { LeaseEnd, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { transitionOfLeaseEnd } from "./lease-ends.js";
import { preciseNowMs } from "./precise-time.js";
import type { TaskTransition } from "./task-records.js";

/** Result batches being fenced in Redis at once; further results wait for one to end. */
export const FENCING_BATCHES_IN_FLIGHT = 4;

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
  /**
   * Fenced results whose commit may be outstanding before fencing waits (backpressure: with
   * Postgres slow or down, dispatch stops once this many results wait, rather than running
   * the queue through; a server that dies loses these results and their tasks run again).
   * A batch is fenced whenever fewer wait, so up to this + one batch may (setting
   * `MAX_UNCOMMITTED_RESULTS`).
   */
  maxUncommitted: number;
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

/** A fenced result: its verdict, and the commit that makes it durable. */
interface FencedResult {
  verdict: ResultVerdict;
  durable: Promise<void>;
}

/**
 * Records worker results in two stages:
 * - **fence**: results arriving together from any streams are fenced in one Redis script
 *   call; the worker's room is handed back to dispatch at once (`onFenced`);
 * - **commit**: their transitions go to Postgres through the group commit, which merges the
 *   batches of several fences into one transaction.
 * The fence of the next batch does not wait for the commit of the previous one (dispatch of
 * a limited queue keeps pace with Redis, not with Postgres), but at most `maxUncommitted`
 * fenced results wait for their commit at a time. Each verdict is returned only after the
 * commit, so an ACCEPTED ack means durable.
 */
export class ResultRecorder {
  private readonly batcher: Batcher<ReportedResult, FencedResult>;
  private readonly now: () => number;
  private readonly maxUncommitted: number;
  /** Fenced results whose commit has not ended. */
  private uncommitted = 0;
  private roomWaiters: Array<() => void> = [];

  constructor(private readonly options: ResultRecorderOptions) {
    this.now = options.now ?? Date.now;
    this.maxUncommitted = options.maxUncommitted;
    this.batcher = new Batcher({
      flush: (results) => this.fence(results),
      windowMs: 0,
      maxBatch: 1000,
      maxInFlight: FENCING_BATCHES_IN_FLIGHT,
    });
  }

  /** Fences and records results; resolves with a verdict per result once durable. */
  async record(results: ReportedResult[]): Promise<ResultVerdict[]> {
    const fenced = await this.batcher.submitMany(results);
    // A caller's results travel in one batch: they share one commit.
    if (fenced.length > 0) await fenced[0]!.durable;
    return fenced.map((f) => f.verdict);
  }

  /** Resolves once every result handed in so far is recorded. */
  async idle(): Promise<void> {
    await this.batcher.idle();
    while (this.uncommitted > 0) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Results waiting for their commit (fenced, not yet durable). */
  get awaitingCommit(): number {
    return this.uncommitted;
  }

  private async fence(results: ReportedResult[]): Promise<FencedResult[]> {
    while (this.uncommitted >= this.maxUncommitted) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    // The batch's room is taken before it is fenced (batches fenced at once see each other).
    this.uncommitted += results.length;
    // Span times (only read when someone listens): microsecond wall clock, like the workers'.
    const startedMs = this.options.onCommitted ? preciseNowMs() : 0;
    let ends: Array<LeaseEnd | null>;
    try {
      ends = await this.options.store.complete(
        results.map((r) => ({
          id: r.taskId,
          queue: r.queue,
          sessionId: r.sessionId,
          leaseToken: r.leaseToken,
          how: r.outcome.kind === "success" ? "succeeded" : r.outcome.error.nonRetryable ? "fatal" : "failed",
        })),
      );
    } finally {
      this.release(results.length);
    }
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
    const durable = this.commit(transitions, () => {
      this.options.onCommitted?.({ accepted, size: results.length, startedMs, fencedMs, committedMs: preciseNowMs() });
      this.options.onLeaseEnds(accepted);
      if (accepted.length < results.length) this.options.onStale?.(results.length - accepted.length);
    });
    return ends.map((end) => ({
      verdict: end ? { status: "accepted" as const, end } : { status: "stale" as const },
      durable,
    }));
  }

  /** Commits fenced transitions, counting them as waiting meanwhile; `then` runs once committed. */
  private commit(transitions: TaskTransition[], then: () => void): Promise<void> {
    const count = transitions.length;
    this.uncommitted += count;
    const durable = this.options.transitions.write(transitions).then(then);
    // The callers of `record` get the failure; this copy only frees the room.
    durable.finally(() => this.release(count)).catch(() => undefined);
    return durable;
  }

  private release(count: number): void {
    this.uncommitted -= count;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
