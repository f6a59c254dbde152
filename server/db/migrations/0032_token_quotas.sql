-- Per-token quotas (CreateTokenRequest.submit_rate, submit_burst, max_worker_streams): NULL
-- means the server's setting (QUOTA_SUBMIT_RATE, QUOTA_SUBMIT_BURST, QUOTA_WORKER_STREAMS).
ALTER TABLE api_tokens
  ADD COLUMN submit_rate        integer CHECK (submit_rate > 0),
  ADD COLUMN submit_burst       integer CHECK (submit_burst > 0),
  ADD COLUMN max_worker_streams integer CHECK (max_worker_streams > 0);
