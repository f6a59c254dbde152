import type pg from "pg";
import { waitFor } from "./wait-for.js";

/** States no transition leaves. */
export const TERMINAL_STATES = ["SUCCEEDED", "DEAD", "CANCELLED", "EXPIRED"] as const;

/** The columns of `tasks` the fault tests read. */
export interface TaskRecord {
  /** Task id. */
  id: string;
  queue: string;
  type: string;
  state: string;
  attempt: number;
  worker_id: string | null;
  result: Buffer | null;
  started_at: Date | null;
  finished_at: Date | null;
}

/** One attempt of a task: a row of the view `task_attempt_history`. */
export interface AttemptRecord {
  task_id: string;
  attempt: number;
  worker_id: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
}

/** One task's row, or undefined. */
export async function readTask(pool: pg.Pool, id: string): Promise<TaskRecord | undefined> {
  const { rows } = await pool.query<TaskRecord>(
    "select id, queue, type, state, attempt, worker_id, result, started_at, finished_at from tasks where id = $1",
    [id],
  );
  return rows[0];
}

/** Every task of the given queues. */
export async function readTasks(pool: pg.Pool, queues: readonly string[]): Promise<TaskRecord[]> {
  const { rows } = await pool.query<TaskRecord>(
    "select id, queue, type, state, attempt, worker_id, result, started_at, finished_at from tasks where queue = any($1)",
    [queues],
  );
  return rows;
}

/** The attempts of one task, oldest first. */
export async function readAttempts(pool: pg.Pool, id: string): Promise<AttemptRecord[]> {
  const { rows } = await pool.query<AttemptRecord>(
    "select task_id, attempt, worker_id, started_at, finished_at, outcome from task_attempt_history where task_id = $1 order by attempt",
    [id],
  );
  return rows;
}

/** Every attempt of the tasks of the given queues. */
export async function readAttemptsOfQueues(pool: pg.Pool, queues: readonly string[]): Promise<AttemptRecord[]> {
  const { rows } = await pool.query<AttemptRecord>(
    `select a.task_id, a.attempt, a.worker_id, a.started_at, a.finished_at, a.outcome
       from task_attempt_history a join tasks t on t.id = a.task_id
      where t.queue = any($1) order by a.task_id, a.attempt`,
    [queues],
  );
  return rows;
}

/** How many tasks of the given queues are in each state. */
export async function stateCounts(pool: pg.Pool, queues: readonly string[]): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ state: string; n: string }>(
    "select state, count(*) as n from tasks where queue = any($1) group by state",
    [queues],
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/** Options for {@link waitUntilAllTerminal}. */
export interface WaitTerminalOptions {
  /** How many tasks must exist (at least). */
  expected: number;
  timeoutMs: number;
  /** Poll interval, ms. Default 100. */
  intervalMs?: number;
}

/**
 * Waits until at least `expected` tasks exist in `queues` and none of them is unfinished;
 * returns the final state counts. The timeout error names the counts last seen.
 */
export async function waitUntilAllTerminal(
  pool: pg.Pool,
  queues: readonly string[],
  options: WaitTerminalOptions,
): Promise<Record<string, number>> {
  let last: Record<string, number> = {};
  try {
    return await waitFor(
      async () => {
        last = await stateCounts(pool, queues);
        const total = Object.values(last).reduce((a, b) => a + b, 0);
        const finished = TERMINAL_STATES.reduce((n, s) => n + (last[s] ?? 0), 0);
        return total >= options.expected && finished === total ? last : undefined;
      },
      { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs ?? 100, message: `${options.expected} tasks to finish` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; states last seen: ${JSON.stringify(last)}`);
  }
}

/**
 * Waits until every attempt of the finished tasks of `queues` records how it ended:
 * attempt outcomes are written in the background and may trail the task's final state.
 * Resolves true once settled, false at the deadline (the invariant check then reports them).
 */
export async function waitUntilAttemptsSettled(pool: pg.Pool, queues: readonly string[], timeoutMs: number): Promise<boolean> {
  try {
    await waitFor(
      async () => {
        const { rows } = await pool.query<{ n: string }>(
          `select count(*) as n from task_attempt_history a join tasks t on t.id = a.task_id
            where t.queue = any($1) and a.outcome is null and t.state = any($2)`,
          [queues, TERMINAL_STATES],
        );
        return Number(rows[0]!.n) === 0;
      },
      { timeoutMs, intervalMs: 100, message: "attempt outcomes to be written" },
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Inserts a QUEUED echo task straight into Postgres, created `ageMs` ago, without telling
 * Redis: the state a crash between a submit's commit and its enqueue leaves behind.
 */
export async function insertOrphanTask(pool: pg.Pool, id: string, queue: string, ageMs: number): Promise<void> {
  await pool.query(
    `insert into tasks (id, queue, type, payload, payload_format, state, max_attempts, backoff_initial_ms,
       backoff_max_ms, backoff_multiplier, created_at, updated_at)
     values ($1, $2, 'echo', convert_to('{"orphan":true}', 'UTF8'), 1, 'QUEUED', 3, 1000, 300000, 2,
             now() - make_interval(secs => $3 / 1000.0), now() - make_interval(secs => $3 / 1000.0))`,
    [id, queue, ageMs],
  );
}
