-- An attempt row is never left open once its task has moved on.
--
-- A lease ends in Redis first and is written to Postgres after. A server that stops before
-- that write commits (killed, or cut short at the end of its shutdown) leaves the attempt's
-- row without outcome or finished_at, or without any row when its RUNNING mark was not
-- written either, while Redis runs the task again. Attempt n + 1 exists only once attempt n
-- has ended (each lease counts one attempt), so any transition of a later attempt now also
-- closes the task's earlier rows still open, and adds the earlier rows missing: outcome
-- WORKER_LOST, ended when the later attempt started (or now); a missing row, of which
-- nothing is known, starts then too, with an empty worker id. A real outcome of that
-- attempt written later still wins (the attempt upsert takes the new outcome), so a write
-- that was only late is not overruled.
--
-- These statements run only for batches that hold a transition past attempt 1 (the IF is a
-- plain array comparison, evaluated without the executor): the common first attempt costs
-- nothing more; a retry costs a primary-key probe per earlier attempt. Recovery closes what
-- this cannot see: a task that ended without a later attempt (e.g. cancelled while queued),
-- rows written before this migration (server/db/open-attempt-repairer.ts).
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
  WHERE EXISTS (SELECT 1 FROM tasks WHERE tasks.id = a.task_id)
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
    WHERE EXISTS (SELECT 1 FROM tasks WHERE tasks.id = u.id)
    ON CONFLICT (task_id, attempt) DO NOTHING;
  END IF;
END
$$;
