-- EXPIRED: a task whose start deadline passed before its first attempt started.
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check CHECK (state IN
  ('SCHEDULED','QUEUED','RUNNING','SUCCEEDED','FAILED','DEAD','CANCELLED','EXPIRED'));

-- Latest start of the first attempt (schedule-to-start deadline).
ALTER TABLE tasks ADD COLUMN start_deadline timestamptz;

-- Attempts granted per run (what a re-drive grants again); NULL until the first re-drive,
-- when max_attempts stops being the per-run budget.
ALTER TABLE tasks ADD COLUMN attempt_budget integer;

-- Dead letters are listed and purged by queue.
CREATE INDEX tasks_dead ON tasks (queue, id DESC) WHERE state = 'DEAD';
