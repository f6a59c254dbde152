import type { NewTask, TraceContext } from "../engine/task-records.js";

// The records QueueStore takes and returns (see queue-store.ts and the scripts in lua/).

/** A task to put into the dispatch state (new, or rebuilt from Postgres). */
export interface EnqueueItem {
  task: NewTask;
  /** Attempts already made (0 for a new task). */
  attempt: number;
  /** Not before this time (ms); 0 = now. */
  dueMs: number;
}

/** Which sessions want how many tasks of a queue. */
export interface LeaseAllocation {
  sessionId: string;
  workerId: string;
  count: number;
  /**
   * Random prefix of the lease tokens this allocation's tasks get (`<prefix>.<k>`), fresh for
   * each allocation so that no session can tell another's tokens from its own.
   */
  tokenPrefix: string;
  /** The task types the session takes; empty or absent: every type. */
  taskTypes?: readonly string[];
}

/** A queue's dispatch limits, as the lease script applies them. */
export interface QueueLimits {
  /** Most RUNNING tasks of the queue across every server; 0: none. */
  maxConcurrency: number;
  /** Most RUNNING tasks per concurrency key across every server; 0 or absent: none. */
  maxPerKey?: number;
  /** Most task starts per period across every server; null: none. */
  rateLimit: { limit: number; periodMs: number } | null;
}

/** What {@link QueueStore.lease} found. */
export interface LeaseResult {
  leased: LeasedRecord[];
  /** Tasks found past their start deadline: expired, not leased. */
  expired: string[];
  /** Whether ready tasks remain in the queue (of any type) after the call. */
  ready: boolean;
  /** Whether the queue's concurrency limit held tasks back. */
  limited: boolean;
  /** When the rate limit held tasks back: ms until its next token; else null. */
  nextTokenMs: number | null;
}

/** A task leased to a session by {@link QueueStore.lease}. */
export interface LeasedRecord {
  sessionId: string;
  queue: string;
  id: string;
  leaseToken: string;
  attempt: number;
  deadlineMs: number;
  type: string;
  payloadFormat: number;
  payload: Buffer;
  maxAttempts: number;
  timeoutMs: number;
  labels: Record<string, string>;
  createdMs: number;
  /** The submit's trace context, when it carried one (handed to the worker). */
  trace?: TraceContext;
}

/** How a lease ended, as the scripts report it. */
export type LeaseEndHow = "succeeded" | "failed" | "fatal" | "expired" | "timeout" | "lost";

/** New state of a task whose lease ended. */
export interface LeaseEnd {
  id: string;
  state: "SUCCEEDED" | "FAILED" | "QUEUED" | "DEAD" | "CANCELLED";
  attempt: number;
  workerId: string;
  startedMs: number;
  /** For FAILED: when the retry is due (ms). */
  dueMs: number;
  how: LeaseEndHow;
  queue: string;
  /** Session that held the lease. */
  sessionId: string;
  /** The lease that ended. */
  leaseToken: string;
}

/** A result to fence and record. */
export interface CompletionInput {
  id: string;
  /**
   * The task's queue, as the reporting session's lease record has it; "" when the session
   * holds no lease on the task (the result is stale without asking Redis).
   */
  queue: string;
  /** The session (stream) that reported it: only the one holding the lease counts. */
  sessionId: string;
  leaseToken: string;
  how: "succeeded" | "failed" | "fatal";
}

/** Outcome of {@link QueueStore.cancel}. */
export type CancelOutcome =
  | { kind: "removed" }
  | { kind: "absent" }
  | { kind: "finished" }
  | { kind: "running"; sessionId: string; leaseToken: string };

/** A task Postgres says is unfinished, for {@link QueueStore.inspect}. */
export interface TaskRef {
  id: string;
  queue: string;
}

/** A task moved from the delayed set to its ready queue. */
export interface Promoted {
  id: string;
  queue: string;
  attempt: number;
  previous: "scheduled" | "failed";
}

/** What recovery must do about one unfinished task (see probe.lua). */
export interface ProbeFinding {
  id: string;
  kind: "absent" | "lost" | "cancelled" | "expired";
  /** The attempt count Redis had (0 when absent). */
  attempt: number;
}
