-- Per-queue settings stored by QueueService.UpdateQueue: a JSON object of the fields set
-- (maxAttempts, initialBackoffMs, maxBackoffMs, backoffMultiplier, defaultPriority,
-- defaultTimeoutMs); a field left out falls back to the server's settings.
ALTER TABLE queues ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';
