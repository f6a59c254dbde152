-- Tasks: the system of record. One row per task, updated by guarded transitions.
CREATE TABLE tasks (
  id               uuid PRIMARY KEY,
  queue            text        NOT NULL,
  type             text        NOT NULL,
  payload          bytea       NOT NULL,
  payload_format   smallint    NOT NULL,            -- 1 = JSON text, 2 = opaque bytes
  priority         smallint    NOT NULL DEFAULT 0,
  state            text        NOT NULL CHECK (state IN
                     ('SCHEDULED','QUEUED','RUNNING','SUCCEEDED','FAILED','DEAD','CANCELLED')),
  attempt          integer     NOT NULL DEFAULT 0,
  max_attempts     integer     NOT NULL,
  backoff_initial_ms integer   NOT NULL,
  backoff_max_ms   integer     NOT NULL,
  backoff_multiplier real      NOT NULL,
  timeout_ms       integer,
  idempotency_key  text,
  labels           jsonb       NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  scheduled_at     timestamptz,
  started_at       timestamptz,
  finished_at      timestamptz,
  worker_id        text,
  result           bytea,
  result_format    smallint,
  last_error       jsonb,
  progress         jsonb,
  cancel_reason    text
);

CREATE UNIQUE INDEX tasks_queue_idempotency_key ON tasks (queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_queue_id ON tasks (queue, id DESC);
CREATE INDEX tasks_unfinished ON tasks (id)
  WHERE state IN ('SCHEDULED','QUEUED','RUNNING','FAILED');

-- Attempts: one row per dispatch of a task to a worker.
CREATE TABLE task_attempts (
  task_id     uuid        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt     integer     NOT NULL,
  worker_id   text        NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz,
  outcome     text,
  error       jsonb,
  PRIMARY KEY (task_id, attempt)
);
