-- W3C trace context of the submit that created each task (the `traceparent` and `tracestate`
-- headers), handed to the worker with every lease so that each attempt runs in the producer's
-- trace. NULL when the submit carried none (tracing off, or a producer that does not trace).
ALTER TABLE tasks ADD COLUMN traceparent text, ADD COLUMN tracestate text;
