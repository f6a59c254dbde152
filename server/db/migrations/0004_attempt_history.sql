-- The attempt that ends a task in SUCCEEDED is recorded by the task row alone (its attempt,
-- worker_id, started_at and finished_at): the group-commit writer no longer inserts an
-- attempt row for it, which saves a heap row, an index entry and their WAL for nearly
-- every task. Earlier attempts, and the attempts of tasks that end otherwise, keep their
-- rows in task_attempts.
--
-- This view is the whole history, one row per attempt: the attempt rows, with the final
-- attempt of a SUCCEEDED task taken from the task row (replacing any row written for it
-- while it ran, which has no outcome yet).
CREATE VIEW task_attempt_history AS
SELECT a.task_id, a.attempt, a.worker_id, a.started_at, a.finished_at, a.outcome, a.error
FROM task_attempts a
WHERE NOT EXISTS (
  SELECT 1 FROM tasks t WHERE t.id = a.task_id AND t.state = 'SUCCEEDED' AND t.attempt = a.attempt
)
UNION ALL
SELECT t.id, t.attempt, COALESCE(t.worker_id, ''), COALESCE(t.started_at, t.finished_at), t.finished_at,
  'SUCCEEDED', NULL::jsonb
FROM tasks t
WHERE t.state = 'SUCCEEDED' AND t.attempt >= 1;
