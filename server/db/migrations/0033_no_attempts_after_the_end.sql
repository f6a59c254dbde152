-- No attempt row for an execution after the task's end.
--
-- A task Postgres has finished can still be leased again when Redis lost the writes that
-- ended it (a Redis Cluster failover that dropped the fencing of its result, or a lease that
-- expired while its slot had no master). That execution is outside the record: the task's
-- outcome stands (the transition guard keeps terminal rows), but until now its RUNNING mark
-- still opened an attempt row numbered past the task's last attempt, and its result, refused
-- by the guard, never closed it; its later transitions also "closed" the task's earlier
-- attempts and invented rows for them, although the successful one is recorded on the task
-- row. Now:
-- * an attempt row is written only for a task not finished when the batch began, or for an
--   attempt that is part of its record (before its last, or its last when that did not
--   succeed: a late outcome of the attempt that ended it still lands);
-- * the closing of earlier attempts and the rows added for missing ones apply only to
--   transitions that reached the task (its attempt, after the update, is at least theirs).
-- The common first attempt still costs nothing more: the task lookup was already made.
--
-- The function keeps plan_cache_mode = force_generic_plan (migration 0006).
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
SET plan_cache_mode = force_generic_plan
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
  -- Read before the UPDATE above (one statement, one snapshot): the task as the batch found it.
  WHERE EXISTS (
    SELECT 1 FROM tasks t WHERE t.id = a.task_id
      AND (t.state NOT IN ('SUCCEEDED', 'DEAD', 'CANCELLED', 'EXPIRED')
           OR a.attempt < t.attempt
           OR (a.attempt = t.attempt AND t.state <> 'SUCCEEDED')))
  ON CONFLICT (task_id, attempt) DO UPDATE SET
    finished_at = COALESCE(EXCLUDED.finished_at, task_attempts.finished_at),
    outcome = COALESCE(EXCLUDED.outcome, task_attempts.outcome),
    error = COALESCE(EXCLUDED.error, task_attempts.error);

  -- After the upsert (an attempt's own outcome in this batch is already written): the task's
  -- earlier attempts still open are closed, and so is its own attempt when the task ends
  -- here otherwise than SUCCEEDED (a lease end carries its attempt's outcome: what is still
  -- open then was left by a server that stopped); earlier attempts with no row at all (their
  -- start was lost too) get one, so that the history is numbered without gaps.
  IF NOT (1 >= ALL (attempts)) OR states && ARRAY['DEAD', 'CANCELLED', 'EXPIRED'] THEN
    UPDATE task_attempts a SET
      outcome = 'WORKER_LOST',
      finished_at = GREATEST(a.started_at, LEAST(now(), COALESCE(
        CASE WHEN a.attempt < u.attempt THEN to_timestamp(u.started_ms / 1000.0) END,
        to_timestamp(u.finished_ms / 1000.0),
        now()))),
      error = COALESCE(a.error, jsonb_build_object(
        'message', 'the end of this attempt was not recorded (its server stopped first)',
        'type', 'LeaseLost',
        'attempt', a.attempt))
    FROM unnest(ids, states, attempts, started_ms, finished_ms) AS u(id, state, attempt, started_ms, finished_ms)
    WHERE (u.attempt > 1 OR u.state IN ('DEAD', 'CANCELLED', 'EXPIRED'))
      AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = u.id AND t.attempt >= u.attempt)
      AND a.task_id = u.id
      AND (a.attempt < u.attempt OR (a.attempt = u.attempt AND u.state IN ('DEAD', 'CANCELLED', 'EXPIRED')))
      AND a.outcome IS NULL;
    INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
    SELECT u.id, k.n, '', u.ended, u.ended, 'WORKER_LOST', jsonb_build_object(
        'message', 'this attempt was not recorded (its server stopped first)',
        'type', 'LeaseLost',
        'attempt', k.n)
    FROM (SELECT x.id, x.attempt, LEAST(now(), COALESCE(to_timestamp(x.started_ms / 1000.0), now())) AS ended
          FROM unnest(ids, attempts, started_ms) AS x(id, attempt, started_ms)
          WHERE x.attempt > 1) u
    CROSS JOIN LATERAL generate_series(1, u.attempt - 1) AS k(n)
    WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = u.id AND t.attempt >= u.attempt)
    ON CONFLICT (task_id, attempt) DO NOTHING;
  END IF;
END
$$;
