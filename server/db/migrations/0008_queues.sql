-- Queues: per-queue state kept by QueueService. A row exists once a queue was paused (or, later,
-- given settings); queues without one run with the defaults. Redis holds a copy of the paused
-- names (<prefix>paused) that the lease script consults; recovery rebuilds it from here.
CREATE TABLE queues (
  name         text        PRIMARY KEY,
  paused       boolean     NOT NULL DEFAULT false,
  pause_reason text        NOT NULL DEFAULT '',
  paused_at    timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
