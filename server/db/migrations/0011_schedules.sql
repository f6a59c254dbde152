-- Schedules (ScheduleService): a cron expression or a fixed interval that submits a task from
-- a template at each tick. Each firing is one transaction that locks the schedule row,
-- advances next_fire_at, records the tick in schedule_firings (unique per schedule and tick)
-- and inserts the tick's task (with a deterministic idempotency key): two servers racing, or
-- a server dying mid-firing, cannot create a tick's task twice.
CREATE TABLE schedules (
  id text PRIMARY KEY,
  -- Exactly one of cron and interval_ms.
  cron text,
  interval_ms bigint,
  time_zone text NOT NULL DEFAULT 'UTC',
  -- The task template: a SubmitTaskRequest in protobuf binary.
  template bytea NOT NULL,
  overlap_policy text NOT NULL,
  catchup_policy text NOT NULL,
  start_at timestamptz,
  end_at timestamptz,
  paused boolean NOT NULL DEFAULT false,
  -- The next tick to fire; null when paused or past end_at.
  next_fire_at timestamptz,
  -- A tick held back by BUFFER_ONE until last_task_id finishes.
  buffered_tick timestamptz,
  -- When a server should next look at the schedule: the earlier of next_fire_at and, with a
  -- buffered tick, the next check of the previous task; null when nothing is to come.
  wake_at timestamptz,
  -- The task of the latest firing (for the overlap policies).
  last_task_id uuid,
  -- Bumped by every change through the API.
  version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((cron IS NULL) <> (interval_ms IS NULL))
);

CREATE INDEX schedules_wake_at ON schedules (wake_at) WHERE wake_at IS NOT NULL;

CREATE TABLE schedule_firings (
  schedule_id text NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  tick_at timestamptz NOT NULL,
  -- True for TriggerSchedule firings (their tick is the time of the call).
  triggered boolean NOT NULL DEFAULT false,
  fired_at timestamptz NOT NULL DEFAULT now(),
  -- SUBMITTED, TRIGGERED, SKIPPED_OVERLAP, BUFFERED, MISSED or FAILED.
  outcome text NOT NULL,
  task_id uuid,
  missed_ticks bigint NOT NULL DEFAULT 0,
  detail text,
  PRIMARY KEY (schedule_id, tick_at, triggered)
);
