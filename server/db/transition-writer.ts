import type pg from "pg";
import type { TaskTransition } from "../engine/task-records.js";
import { Batcher } from "./batcher.js";
import { isDataError } from "./data-errors.js";
import { epochMs } from "./epoch-ms.js";
import { byteaArray, numberArray, textArray } from "./pg-array.js";

/** Options for {@link TransitionWriter}. */
export interface TransitionWriterOptions {
  pool: pg.Pool;
  /** How long the first change of a batch waits for company, ms (0: no wait). */
  windowMs: number;
  maxBatch: number;  /** Told about every batch written: rows, seconds, failed (metrics). */
  onBatch?: (rows: number, seconds: number, failed: boolean) => void;
}

/**
 * Applies transitions and upserts their attempt rows in one statement: the database function
 * `tq_record_transitions` (migration 0003), whose guard makes every transition safe to apply
 * late, twice or out of order (a terminal row never changes, an older attempt never
 * overwrites a newer one, a RUNNING mark never overwrites the outcome of its own attempt).
 * Since migration 0007 it also closes the attempt rows a stopped server left open once their
 * task moves on (a later attempt, or an end other than SUCCEEDED), numbering them without gaps.
 * Parameters: ten arrays of transitions (see {@link transitionParams}), then seven of
 * attempt rows (see {@link attemptParams}).
 */
const RECORD_TRANSITIONS_SQL = `SELECT tq_record_transitions(
  $1::uuid[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::float8[], $7::float8[],
  $8::bytea[], $9::smallint[], $10::text[],
  $11::uuid[], $12::int[], $13::text[], $14::float8[], $15::float8[], $16::text[], $17::text[])`;

/** Batches in flight at once. */
const PARALLEL_BATCHES = 4;

/**
 * With a window, a batch of this many changes goes out without waiting it out: the window
 * is for a trickle of single results, and under load batches are big without waiting (while
 * a wait there would hold back the result recorder, whose batches end at the commit).
 */
const WINDOW_CLOSES_AT = 32;

/**
 * Group-committed state changes: transitions of tasks and their attempt rows, written by
 * one multi-row statement per batch. Up to {@link PARALLEL_BATCHES} batches run at once,
 * and batches in flight never share a task, so two transactions never lock the same rows
 * (no deadlocks) and one task's writes commit in order. When little is happening,
 * everything waiting goes out in one batch. When Postgres refuses a value of one caller's
 * transitions, only that caller's write fails (see the batcher's `isolate`). Progress is
 * written elsewhere (see the progress buffer), never in these batches.
 */
export class TransitionWriter {
  private readonly batcher: Batcher<TaskTransition, undefined>;

  constructor(private readonly options: TransitionWriterOptions) {
    this.batcher = new Batcher<TaskTransition, undefined>({
      flush: async (items) => {
        await this.flush(items);
        return items.map(() => undefined);
      },
      windowMs: options.windowMs,
      windowItems: WINDOW_CLOSES_AT,
      maxBatch: options.maxBatch,
      maxInFlight: PARALLEL_BATCHES,
      keyOf: (item) => item.id,
      isolate: isDataError,
      onFlushed: options.onBatch,
    });
  }

  /**
   * Writes transitions; resolves when they are committed (or found stale by the guard).
   * Rejects with Postgres' error when it refuses a value of these transitions.
   */
  async write(transitions: TaskTransition[]): Promise<void> {
    await this.batcher.submitMany(transitions);
  }

  /** Resolves once everything queued so far is written. */
  async idle(): Promise<void> {
    await this.batcher.idle();
  }

  private async flush(items: TaskTransition[]): Promise<void> {
    const params = [...transitionParams(latestPerTask(items)), ...attemptParams(mergeAttempts(items))];
    // One statement, one implicit transaction: no BEGIN/COMMIT round trips. Prepared once
    // per connection.
    await this.options.pool.query({ name: "tq_record_transitions", text: RECORD_TRANSITIONS_SQL, values: params });
  }
}

/** Ranks transitions of one task: a later attempt wins; within one attempt, an outcome beats RUNNING. */
function rank(t: TaskTransition): number {
  return t.attempt * 2 + (t.state === "RUNNING" ? 0 : 1);
}

/** One UPDATE may touch a row once: keep the transition that the guard would let win. */
function latestPerTask(transitions: TaskTransition[]): TaskTransition[] {
  const byId = new Map<string, TaskTransition>();
  for (const t of transitions) {
    const seen = byId.get(t.id);
    if (!seen || rank(t) >= rank(seen)) {
      byId.set(t.id, seen && !t.startedAt ? { ...t, startedAt: seen.startedAt, workerId: t.workerId ?? seen.workerId } : t);
    }
  }
  return [...byId.values()];
}

/**
 * Attempt rows to upsert: one per (task, attempt) that was started, with its outcome if
 * known, except the attempt that ends the task in SUCCEEDED: the task row records that one
 * (the view `task_attempt_history`, migration 0004, puts it back into the history).
 */
function mergeAttempts(transitions: TaskTransition[]): TaskTransition[] {
  const byKey = new Map<string, TaskTransition>();
  for (const t of transitions) {
    if (t.attempt < 1 || !t.startedAt) continue;
    if (t.state !== "RUNNING" && !t.attemptOutcome) continue;
    const key = `${t.id}/${t.attempt}`;
    const seen = byKey.get(key);
    byKey.set(key, seen ? { ...seen, ...t, attemptOutcome: t.attemptOutcome ?? seen.attemptOutcome } : t);
  }
  return [...byKey.values()].filter((t) => t.state !== "SUCCEEDED");
}

function transitionParams(transitions: TaskTransition[]): unknown[] {
  return [
    textArray(transitions.map((t) => t.id)),
    textArray(transitions.map((t) => t.state)),
    numberArray(transitions.map((t) => t.attempt)),
    textArray(transitions.map((t) => t.workerId)),
    numberArray(transitions.map((t) => epochMs(t.startedAt))),
    numberArray(transitions.map((t) => epochMs(t.finishedAt))),
    numberArray(transitions.map((t) => epochMs(t.scheduledAt))),
    byteaArray(transitions.map((t) => t.result)),
    numberArray(transitions.map((t) => t.resultFormat)),
    textArray(transitions.map((t) => (t.error ? JSON.stringify(t.error) : null))),
  ];
}

function attemptParams(attempts: TaskTransition[]): unknown[] {
  return [
    textArray(attempts.map((a) => a.id)),
    numberArray(attempts.map((a) => a.attempt)),
    textArray(attempts.map((a) => a.workerId ?? "")),
    numberArray(attempts.map((a) => epochMs(a.startedAt))),
    numberArray(attempts.map((a) => epochMs(a.attemptEndedAt ?? null))),
    textArray(attempts.map((a) => a.attemptOutcome)),
    textArray(attempts.map((a) => (a.error ? JSON.stringify(a.error) : null))),
  ];
}
