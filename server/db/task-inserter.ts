import type pg from "pg";
import type { NewTask } from "../engine/task-records.js";
import { UnstorableInputError } from "../errors.js";
import { Batcher } from "./batcher.js";
import { isDataError } from "./data-errors.js";
import { epochMs } from "./epoch-ms.js";
import { byteaArray, numberArray, textArray } from "./pg-array.js";
import { withTransaction } from "./transaction.js";

/** Outcome of inserting one task. */
export interface InsertOutcome {
  /** Id of the stored task: the new one, or the existing one its idempotency key matched. */
  id: string;
  /** True when an existing task with the same queue and idempotency key was found. */
  existing: boolean;
}

/** Options for {@link TaskInserter}. */
export interface TaskInserterOptions {
  pool: pg.Pool;
  windowMs: number;
  maxBatch: number;
  /** How long an idempotency key keeps naming its task, ms. */
  idempotencyRetentionMs: number;  /** Told about every batch written: rows, seconds, failed (metrics). */
  onBatch?: (rows: number, seconds: number, failed: boolean) => void;
}

/**
 * Inserts the rows of the unnest arrays (see {@link insertParams}); `extended` adds the trace
 * context and concurrency key columns (only batches that carry one of them pay for them).
 */
function insertSql(extended: boolean): string {
  return `
INSERT INTO tasks (id, queue, type, payload, payload_format, priority, state, max_attempts,
  backoff_initial_ms, backoff_max_ms, backoff_multiplier, timeout_ms, idempotency_key, labels,
  created_at, updated_at, scheduled_at, start_deadline${extended ? ", traceparent, tracestate, concurrency_key" : ""})
SELECT u.id, u.queue, u.type, u.payload, u.payload_format, u.priority, u.state, u.max_attempts,
  u.backoff_initial_ms, u.backoff_max_ms, u.backoff_multiplier, u.timeout_ms, u.idempotency_key,
  u.labels::jsonb, to_timestamp(u.created_at / 1000.0), to_timestamp(u.created_at / 1000.0),
  to_timestamp(u.scheduled_at / 1000.0), to_timestamp(u.start_deadline / 1000.0)${extended ? ", u.traceparent, u.tracestate, u.concurrency_key" : ""}
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::smallint[], $6::smallint[],
  $7::text[], $8::int[], $9::int[], $10::int[], $11::real[], $12::int[], $13::text[], $14::text[],
  $15::float8[], $16::float8[], $17::float8[]${extended ? ", $18::text[], $19::text[], $20::text[]" : ""})
  AS u(id, queue, type, payload, payload_format, priority, state, max_attempts, backoff_initial_ms,
       backoff_max_ms, backoff_multiplier, timeout_ms, idempotency_key, labels, created_at, scheduled_at,
       start_deadline${extended ? ", traceparent, tracestate, concurrency_key" : ""})`;
}

const PLAIN_INSERT_SQL = insertSql(false);
const EXTENDED_INSERT_SQL = insertSql(true);

/**
 * The same, skipping rows whose idempotency key is taken; returns the ids inserted. Only for
 * batches with keys: the conflict check makes every row a speculative insertion (more work
 * and one more WAL record per row), which key-less rows cannot need.
 */
const KEYED_SUFFIX = `
ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id`;

/** Releases keys older than the retention window so they can name a new task. */
const RELEASE_EXPIRED_KEYS_SQL = `
UPDATE tasks t SET idempotency_key = NULL
FROM unnest($1::text[], $2::text[]) AS k(queue, idempotency_key)
WHERE t.queue = k.queue AND t.idempotency_key = k.idempotency_key
  AND t.created_at < now() - $3::bigint * interval '1 millisecond'`;

const EXISTING_SQL = `
SELECT t.id, t.queue, t.idempotency_key FROM tasks t
JOIN unnest($1::text[], $2::text[]) AS k(queue, idempotency_key)
  ON t.queue = k.queue AND t.idempotency_key = k.idempotency_key`;

/**
 * Group-committed task inserts: concurrent submits are written by one multi-row statement
 * in one transaction, and each caller is answered when that transaction commits.
 * Idempotency keys are resolved in the same transaction.
 */
export class TaskInserter {
  private readonly batcher: Batcher<NewTask, InsertOutcome>;

  constructor(private readonly options: TaskInserterOptions) {
    this.batcher = new Batcher({
      flush: (tasks) => this.flush(tasks),
      windowMs: options.windowMs,
      maxBatch: options.maxBatch,
      maxInFlight: 4,
      isolate: isDataError,
      onFlushed: options.onBatch,
    });
  }

  /**
   * Inserts the tasks (grouped with concurrent callers); resolves after the commit. When
   * Postgres refuses a value of these tasks, only this call fails, with
   * {@link UnstorableInputError}: the callers batched with it are written without it.
   */
  async insert(tasks: NewTask[]): Promise<InsertOutcome[]> {
    try {
      return await this.batcher.submitMany(tasks);
    } catch (error) {
      if (!isDataError(error)) throw error;
      throw new UnstorableInputError(`a task could not be stored: ${(error as Error).message}`, { cause: error });
    }
  }

  private async flush(tasks: NewTask[]): Promise<InsertOutcome[]> {
    if (tasks.every((t) => t.idempotencyKey === null)) {
      // No key to resolve: one INSERT statement, committed on its own (no BEGIN/COMMIT trips),
      // prepared once per connection (parsed and planned once, not for every batch).
      const extended = needsExtendedInsert(tasks);
      await this.options.pool.query({
        name: extended ? "tq_insert_extended_tasks" : "tq_insert_tasks",
        text: extended ? EXTENDED_INSERT_SQL : PLAIN_INSERT_SQL,
        values: insertParams(tasks, extended),
      });
      return tasks.map((t) => ({ id: t.id, existing: false }));
    }
    return withTransaction(this.options.pool, (client) => this.insertWithin(client, tasks));
  }

  /**
   * Inserts the tasks within the caller's open transaction, resolving idempotency keys
   * there (a task whose key is taken is not inserted: its outcome names the existing one).
   * Used where a task must commit together with other writes (a schedule's firing).
   */
  async insertWithin(client: pg.ClientBase, tasks: NewTask[]): Promise<InsertOutcome[]> {
    const keyed = tasks.filter((t) => t.idempotencyKey !== null);
    if (keyed.length > 0) {
      await client.query(RELEASE_EXPIRED_KEYS_SQL, [
        keyed.map((t) => t.queue),
        keyed.map((t) => t.idempotencyKey),
        this.options.idempotencyRetentionMs,
      ]);
    }
    const extended = needsExtendedInsert(tasks);
    const inserted = await client.query<{ id: string }>((extended ? EXTENDED_INSERT_SQL : PLAIN_INSERT_SQL) + KEYED_SUFFIX, insertParams(tasks, extended));
    const insertedIds = new Set(inserted.rows.map((r) => r.id));
    const conflicting = tasks.filter((t) => !insertedIds.has(t.id));
    const existingByKey = new Map<string, string>();
    if (conflicting.length > 0) {
      const existing = await client.query<{ id: string; queue: string; idempotency_key: string }>(
        EXISTING_SQL,
        [conflicting.map((t) => t.queue), conflicting.map((t) => t.idempotencyKey)],
      );
      for (const row of existing.rows) existingByKey.set(keyOf(row.queue, row.idempotency_key), row.id);
    }
    return tasks.map((t) => {
      if (insertedIds.has(t.id)) return { id: t.id, existing: false };
      const id = existingByKey.get(keyOf(t.queue, t.idempotencyKey ?? ""));
      if (!id) throw new Error(`task ${t.id} was neither inserted nor found by idempotency key`);
      return { id, existing: true };
    });
  }
}

function keyOf(queue: string, key: string): string {
  return `${queue}\u0000${key}`;
}

/** True when a task of the batch carries a trace context or a concurrency key. */
function needsExtendedInsert(tasks: NewTask[]): boolean {
  return tasks.some((t) => t.trace || t.concurrencyKey);
}

function insertParams(tasks: NewTask[], extended: boolean): unknown[] {
  const params = [
    textArray(tasks.map((t) => t.id)),
    textArray(tasks.map((t) => t.queue)),
    textArray(tasks.map((t) => t.type)),
    byteaArray(tasks.map((t) => t.payload)),
    numberArray(tasks.map((t) => t.payloadFormat)),
    numberArray(tasks.map((t) => t.priority)),
    textArray(tasks.map((t) => (t.runAt ? "SCHEDULED" : "QUEUED"))),
    numberArray(tasks.map((t) => t.maxAttempts)),
    numberArray(tasks.map((t) => t.backoffInitialMs)),
    numberArray(tasks.map((t) => t.backoffMaxMs)),
    numberArray(tasks.map((t) => t.backoffMultiplier)),
    numberArray(tasks.map((t) => t.timeoutMs)),
    textArray(tasks.map((t) => t.idempotencyKey)),
    textArray(tasks.map((t) => JSON.stringify(t.labels))),
    numberArray(tasks.map((t) => t.createdMs)),
    numberArray(tasks.map((t) => epochMs(t.runAt))),
    numberArray(tasks.map((t) => epochMs(t.startDeadline))),
  ];
  if (extended) {
    params.push(
      textArray(tasks.map((t) => t.trace?.traceparent ?? null)),
      textArray(tasks.map((t) => t.trace?.tracestate || null)),
      textArray(tasks.map((t) => t.concurrencyKey || null)),
    );
  }
  return params;
}
