import pg from "pg";
import { TaskInserter } from "../../server/db/task-inserter.js";
import { TransitionWriter } from "../../server/db/transition-writer.js";
import { newTaskId } from "../../server/engine/ids.js";
import { transitionOfLeaseEnd } from "../../server/engine/lease-ends.js";
import { bareTransition, type NewTask, type TaskTransition } from "../../server/engine/task-records.js";
import { legacyStatement } from "./variants.js";

/** How the workload is shaped. */
export interface WorkloadOptions {
  /** Tasks per INSERT. */
  insertBatch: number;
  /** Outcomes handed to the transition writer at a time (it splits them over its lanes). */
  updateBatch: number;
  /** Most tasks inserted but not yet completed. */
  lag: number;
  /** Share of tasks marked RUNNING before their outcome. */
  runningShare: number;
}

function newTasks(count: number): NewTask[] {
  const nowMs = Date.now();
  return Array.from({ length: count }, () => ({
    id: newTaskId(nowMs),
    queue: "bench-pg",
    type: "noop",
    payload: Buffer.from("null"),
    payloadFormat: 1,
    priority: 0,
    maxAttempts: 3,
    backoffInitialMs: 1_000,
    backoffMaxMs: 300_000,
    backoffMultiplier: 2,
    timeoutMs: null,
    idempotencyKey: null,
    labels: {},
    createdMs: nowMs,
    runAt: null,
    startDeadline: null,
  }));
}

const WORKER_ID = "vm/1234/abcdef";

function runningMark(id: string, startedMs: number): TaskTransition {
  return { ...bareTransition(id, "RUNNING", 1), workerId: WORKER_ID, startedAt: new Date(startedMs) };
}

function outcome(id: string, startedMs: number): TaskTransition {
  const end = { id, state: "SUCCEEDED" as const, attempt: 1, workerId: WORKER_ID, startedMs, dueMs: 0, how: "succeeded" as const,
    queue: "bench-pg", sessionId: "s", leaseToken: "t" };
  return transitionOfLeaseEnd(end, Date.now(), { result: { bytes: Buffer.from("null"), format: 1 } });
}

/** Counts the statements a pool runs (each `query` call is one round trip); with `legacy`, rewrites them. */
function countingPool(pool: pg.Pool, legacy: boolean): { pool: pg.Pool; statements: () => number } {
  let statements = 0;
  const query = pool.query.bind(pool) as (text: unknown, ...rest: unknown[]) => unknown;
  (pool as unknown as { query: typeof query }).query = (text: unknown, ...rest: unknown[]) => {
    statements++;
    return query(legacy ? legacyQuery(text) : text, ...rest);
  };
  return { pool, statements: () => statements };
}

/** The first-shipped form of a statement: its text rewritten, unprepared (no name). */
function legacyQuery(query: unknown): unknown {
  if (typeof query === "string") return legacyStatement(query);
  if (typeof query === "object" && query !== null && "text" in query && "values" in query) {
    return { text: legacyStatement(String(query.text)), values: query.values };
  }
  return query;
}

/** The server's two writers over a pool of their own. */
export interface Writers {
  inserter: TaskInserter;
  writer: TransitionWriter;
  /** Statements run so far. */
  statements: () => number;
  close: () => Promise<void>;
}

/** Opens the server's writers over a new pool; with `legacy`, they send the first-shipped statements. */
export async function openWriters(url: string, options: WorkloadOptions, legacy: boolean): Promise<Writers> {
  const { pool, statements } = countingPool(new pg.Pool({ connectionString: url, max: 8 }), legacy);
  pool.on("error", () => undefined);
  await Promise.all(Array.from({ length: 8 }, () => pool.query("select 1")));
  return {
    inserter: new TaskInserter({ pool, windowMs: 0, maxBatch: options.insertBatch, idempotencyRetentionMs: 86_400_000 }),
    writer: new TransitionWriter({ pool, windowMs: 0, maxBatch: 10_000 }),
    statements,
    close: () => pool.end(),
  };
}

/**
 * Inserts `count` tasks in batches and completes them in batches, outcomes at most
 * `options.lag` tasks behind the inserts: two insert batches in flight and one stream of
 * outcomes, like the submit batches and the result flow of a busy server.
 */
export async function writeTasks({ inserter, writer }: Writers, count: number, options: WorkloadOptions): Promise<void> {
  const inserted: string[] = [];
  let completed = 0;
  let insertedCount = 0;
  let waiters: Array<() => void> = [];
  const notify = () => {
    for (const wake of waiters) wake();
    waiters = [];
  };
  const waitForChange = () => new Promise<void>((resolve) => waiters.push(resolve));
  const produce = async () => {
    while (insertedCount < count) {
      if (insertedCount - completed >= options.lag) {
        await waitForChange();
        continue;
      }
      const batch = newTasks(Math.min(options.insertBatch, count - insertedCount));
      insertedCount += batch.length;
      await inserter.insert(batch);
      inserted.push(...batch.map((t) => t.id));
      notify();
    }
  };
  const consume = async () => {
    while (completed < count) {
      const allInserted = insertedCount >= count;
      if (inserted.length < options.updateBatch && !(allInserted && inserted.length > 0)) {
        await waitForChange();
        continue;
      }
      const ids = inserted.splice(0, options.updateBatch);
      const startedMs = Date.now() - 50;
      const marked = ids.slice(0, Math.round(ids.length * options.runningShare));
      if (marked.length > 0) await writer.write(marked.map((id) => runningMark(id, startedMs)));
      await writer.write(ids.map((id) => outcome(id, startedMs)));
      completed += ids.length;
      notify();
    }
  };
  await Promise.all([produce(), produce(), consume()]);
}
