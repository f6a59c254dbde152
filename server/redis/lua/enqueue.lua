-- enqueue.lua: adds tasks to the dispatch state; idempotent (a task whose hash exists is skipped).
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, then 15 fields per task:
--   id, queue, type, payload_format, payload, priority, max_attempts, backoff_initial_ms,
--   backoff_max_ms, backoff_multiplier, timeout_ms, labels_json, created_ms, due_ms (0 = now), attempt
-- Returns: {added_count, queue_with_ready_tasks...}
local added = 0
local ready_queues = {}
for i = 3, #ARGV, 15 do
  local id = ARGV[i]
  local k = task_key(id)
  if redis.call('EXISTS', k) == 0 then
    local q = ARGV[i + 1]
    local due = tonumber(ARGV[i + 13])
    local st = 'queued'
    if due > NOW then st = 'scheduled' end
    redis.call('HSET', k, 'q', q, 'ty', ARGV[i + 2], 'pf', ARGV[i + 3], 'p', ARGV[i + 4],
      'pr', ARGV[i + 5], 'ma', ARGV[i + 6], 'bi', ARGV[i + 7], 'bm', ARGV[i + 8], 'bx', ARGV[i + 9],
      'to', ARGV[i + 10], 'lb', ARGV[i + 11], 'ca', ARGV[i + 12], 'a', ARGV[i + 14], 'st', st)
    if st == 'scheduled' then
      redis.call('HSET', k, 'due', due)
      redis.call('ZADD', P .. 'delayed', due, id)
    else
      redis.call('ZADD', ready_key(q), ready_score(tonumber(ARGV[i + 5]), tonumber(ARGV[i + 12])), id)
      ready_queues[q] = true
    end
    redis.call('SADD', P .. 'queues', q)
    added = added + 1
  end
end
local out = { added }
for q, _ in pairs(ready_queues) do out[#out + 1] = q end
return out
