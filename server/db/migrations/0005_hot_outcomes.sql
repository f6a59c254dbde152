-- Outcome updates that write no index entry.
--
-- The outcome UPDATE of a task changes its state, and an update that changes a column any
-- index mentions (predicates included) must add an entry to every index of the table. The two
-- partial indexes on state (unfinished tasks, dead tasks) made every outcome update do so.
-- Without them, and with room left on each page, the update is HOT (heap-only): the new row
-- version goes on the same page and no index is touched. Measured with
-- `bench/pg-write-cost.ts`: 23 -> 17 us of Postgres CPU per task, WAL 899 -> 594 bytes.
--
-- * New pages are filled to half, leaving room for each row's outcome version.
-- * Dead-lettered tasks are listed from a small table of their own, kept by the same
--   statement that records the outcome; re-drives and purges delete from it.
-- * Unfinished tasks are found through the primary key: recovery's regular sweep looks at
--   tasks created recently (ids are time-ordered), its full sweep at every task.
ALTER TABLE tasks SET (fillfactor = 50);

CREATE TABLE dead_tasks (
  queue text NOT NULL,
  id    uuid NOT NULL,
  PRIMARY KEY (queue, id)
);
INSERT INTO dead_tasks (queue, id) SELECT queue, id FROM tasks WHERE state = 'DEAD';

DROP INDEX tasks_unfinished;
DROP INDEX tasks_dead;

CREATE OR REPLACE FUNCTION tq_record_transitions(
  ids uuid[], states text[], attempts int[], worker_ids text[], started_ms float8[],
  finished_ms float8[], scheduled_ms float8[], results bytea[], result_formats smallint[],
  errors text[],
  attempt_task_ids uuid[], attempt_numbers int[], attempt_worker_ids text[],
  attempt_started_ms float8[], attempt_ended_ms float8[], attempt_outcomes text[],
  attempt_errors text[]
) RETURNS void
LANGUAGE plpgsql
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
BEGIN
  -- The UPDATE runs as a data-modifying CTE: to completion, though only DEAD rows are read.
  WITH updated AS (
    UPDATE tasks t SET
      state = u.state,
      attempt = u.attempt,
      worker_id = COALESCE(u.worker_id, t.worker_id),
      started_at = COALESCE(to_timestamp(u.started_ms / 1000.0), t.started_at),
      finished_at = to_timestamp(u.finished_ms / 1000.0),
      scheduled_at = CASE WHEN u.state IN ('FAILED', 'SCHEDULED')
                          THEN to_timestamp(u.scheduled_ms / 1000.0) ELSE t.scheduled_at END,
      result = u.result,
      result_format = u.result_format,
      last_error = COALESCE(u.error::jsonb, t.last_error),
      updated_at = now()
    FROM unnest(ids, states, attempts, worker_ids, started_ms, finished_ms, scheduled_ms,
                results, result_formats, errors)
      AS u(id, state, attempt, worker_id, started_ms, finished_ms, scheduled_ms, result,
           result_format, error)
    WHERE t.id = u.id
      AND t.state NOT IN ('SUCCEEDED', 'DEAD', 'CANCELLED', 'EXPIRED')
      AND (t.attempt < u.attempt OR (t.attempt = u.attempt AND u.state <> 'RUNNING'))
    RETURNING t.queue, t.id, t.state
  ),
  -- Tasks that became DEAD join the dead-letter list.
  dead AS (
    INSERT INTO dead_tasks (queue, id)
    SELECT queue, id FROM updated WHERE state = 'DEAD'
    ON CONFLICT DO NOTHING
  )
  INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
  SELECT a.task_id, a.attempt, a.worker_id, to_timestamp(a.started_ms / 1000.0),
    to_timestamp(a.ended_ms / 1000.0), a.outcome, a.error::jsonb
  FROM unnest(attempt_task_ids, attempt_numbers, attempt_worker_ids, attempt_started_ms,
              attempt_ended_ms, attempt_outcomes, attempt_errors)
    AS a(task_id, attempt, worker_id, started_ms, ended_ms, outcome, error)
  WHERE EXISTS (SELECT 1 FROM tasks WHERE tasks.id = a.task_id)
  ON CONFLICT (task_id, attempt) DO UPDATE SET
    finished_at = COALESCE(EXCLUDED.finished_at, task_attempts.finished_at),
    outcome = COALESCE(EXCLUDED.outcome, task_attempts.outcome),
    error = COALESCE(EXCLUDED.error, task_attempts.error);
END
$$;
