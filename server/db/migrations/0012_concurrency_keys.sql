-- Concurrency key of each task (SubmitTaskRequest.concurrency_key): tasks sharing a key share
-- their queue's max_concurrency_per_key and are served round-robin with the other keys. NULL:
-- none. Carried into the Redis dispatch state with the task (and back by recovery).
ALTER TABLE tasks ADD COLUMN concurrency_key text;
