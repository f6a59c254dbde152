-- Attempt rows without a foreign key to their task. The key cost a trigger call, a lookup
-- and a row lock (one more WAL record) per attempt row written. Its two duties are kept
-- elsewhere: attempt rows are only written for tasks that exist (the EXISTS in
-- tq_record_transitions), and deleting tasks deletes their attempts in the same statement
-- (TaskRepository.purgeDead).
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_id_fkey;

-- Applies a batch of transitions and upserts their attempt rows, as one statement: the
-- group-commit writer's statement (server/db/transition-writer.ts), kept in the database
-- so that its plan is cached per connection instead of planned for every batch.
--
-- The guard makes every transition safe to apply late, twice or out of order: a terminal
-- row never changes, an older attempt never overwrites a newer one, and a RUNNING mark
-- never overwrites the outcome of its own attempt. Times are epoch milliseconds; NULL
-- elements leave the column as it is where the writer says so (COALESCE).
--
-- Every row of a batch is found by its key. The settings below keep the plan that way:
-- while the tables are small the planner would prefer scanning them whole, and a plan
-- cached then would go on scanning as they grow.
CREATE FUNCTION tq_record_transitions(
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
  -- The UPDATE runs as a data-modifying CTE: to completion, though nothing reads it.
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
