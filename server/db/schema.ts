import type { ColumnType, Generated } from "kysely";

/** Task states as stored in `tasks.state`. */
export type TaskStateName =
  | "SCHEDULED"
  | "QUEUED"
  | "RUNNING"
  | "SUCCEEDED"
  | "FAILED"
  | "DEAD"
  | "CANCELLED"
  | "EXPIRED";

/** States no transition leaves. */
export const terminalStates: readonly TaskStateName[] = ["SUCCEEDED", "DEAD", "CANCELLED", "EXPIRED"];

/** Payload / result encodings stored in `*_format`. */
export const PayloadFormat = { json: 1, bytes: 2 } as const;
/** A value of {@link PayloadFormat}. */
export type PayloadFormatValue = (typeof PayloadFormat)[keyof typeof PayloadFormat];

/** Error document stored in `last_error` / `task_attempts.error`. */
export interface StoredError {
  message: string;
  type?: string;
  nonRetryable?: boolean;
  attempt?: number;
}

/** Row of `tasks`. */
export interface TasksTable {
  id: string;
  queue: string;
  type: string;
  payload: Buffer;
  payload_format: number;
  priority: number;
  state: TaskStateName;
  attempt: number;
  /**
   * Attempts allowed in all, the first one included: the task's one attempt budget, shown as
   * both `Task.max_attempts` and `Task.retry_policy.max_attempts`. A re-drive raises it.
   */
  max_attempts: number;
  backoff_initial_ms: number;
  backoff_max_ms: number;
  backoff_multiplier: number;
  timeout_ms: number | null;
  idempotency_key: string | null;
  labels: ColumnType<Record<string, string>, string, string>;
  created_at: Date;
  updated_at: Date;
  scheduled_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  worker_id: string | null;
  result: Buffer | null;
  result_format: number | null;
  last_error: ColumnType<StoredError | null, string | null, string | null>;
  progress: ColumnType<{ percent: number; message: string } | null, string | null, string | null>;
  /** W3C `traceparent` of the submit that created the task (migration 0020); null: none. */
  traceparent: string | null;
  /** W3C `tracestate` that came with it; null: none. */
  tracestate: string | null;
  cancel_reason: string | null;
  start_deadline: Date | null;
  /** Concurrency key given at submit (migration 0012); null: none. */
  concurrency_key: string | null;
  /**
   * The `max_attempts` the task was submitted with, kept by its first re-drive (NULL before):
   * how many further attempts each re-drive grants. Never shown; the API shows `max_attempts`.
   */
  attempt_budget: number | null;
}

/** Row of `task_attempts`. */
export interface TaskAttemptsTable {
  task_id: string;
  attempt: number;
  worker_id: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
  error: ColumnType<StoredError | null, string | null, string | null>;
}

/** Row of `dead_tasks` (migration 0005): the dead-letter list, one row per DEAD task. */
export interface DeadTasksTable {
  queue: string;
  id: string;
}

/** Row of `schema_migrations`. */
export interface SchemaMigrationsTable {
  name: string;
  applied_at: Generated<Date>;
}

/** The kysely database type. */
export interface Database {
  tasks: TasksTable;
  task_attempts: TaskAttemptsTable;
  /** View (migration 0004): every attempt, the final one of a SUCCEEDED task from its row. */
  task_attempt_history: TaskAttemptsTable;
  dead_tasks: DeadTasksTable;
  queues: QueuesTable;
  api_tokens: ApiTokensTable;
  audit_events: AuditEventsTable;
  schema_migrations: SchemaMigrationsTable;
}

/** Row of `api_tokens` (migration 0030): an API token, stored as the hash of its secret. */
export interface ApiTokensTable {
  id: string;
  name: string;
  role: string;
  queues: string[];
  token_hash: string;
  prefix: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  /** Quota overrides (migration 0032); null: the server's setting. */
  submit_rate: number | null;
  submit_burst: number | null;
  max_worker_streams: number | null;
}

/** Row of `queues` (migration 0008): a queue's durable state. */
export interface QueuesTable {
  name: string;
  paused: boolean;
  pause_reason: string;
  paused_at: Date | null;
  /** Stored settings (migration 0009), a JSON object: see StoredQueueSettings. */
  settings: ColumnType<unknown, string | undefined, string>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** A full task row as read back. */
export type TaskRow = {
  [K in keyof TasksTable]: TasksTable[K] extends ColumnType<infer S, unknown, unknown> ? S : TasksTable[K];
};
/** A full attempt row as read back. */
export type TaskAttemptRow = {
  [K in keyof TaskAttemptsTable]: TaskAttemptsTable[K] extends ColumnType<infer S, unknown, unknown>
    ? S
    : TaskAttemptsTable[K];
};

/** Row of `audit_events` (migration 0031): one admin or operator action. */
export interface AuditEventsTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor: string;
  role: string;
  peer: string;
  method: string;
  request_json: string;
  outcome: string;
}
