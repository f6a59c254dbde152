-- enqueue.lua: adds tasks to the dispatch state; idempotent (a task whose hash exists is skipped,
-- unless it is finished and the call re-drives).
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] '1' to replace a finished task's hash (re-drive), else '0',
-- then 16 fields per task:
--   id, queue, type, payload_format, payload, priority, max_attempts, backoff_initial_ms,
--   backoff_max_ms, backoff_multiplier, timeout_ms, labels_json, created_ms, due_ms (0 = now), attempt,
--   start_deadline_ms (0 = none)
-- Returns: {added_count, queue_with_ready_tasks...}
local added = 0
local ready_queues = {}
local replace_finished = ARGV[3] == '1'
for i = 4, #ARGV, 16 do
  local id = ARGV[i]
  local k = task_key(id)
  if replace_finished then
    local st = redis.call('HGET', k, 'st')
    if st == 'done' or st == 'cancelled' or st == 'expired' then redis.call('DEL', k) end
  end
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
    local start_deadline = tonumber(ARGV[i + 15])
    if start_deadline > 0 then
      redis.call('HSET', k, 'sd', start_deadline)
      redis.call('ZADD', P .. 'startdl', start_deadline, id)
    end
    redis.call('SADD', P .. 'queues', q)
    added = added + 1
  end
end
local out = { added }
for q, _ in pairs(ready_queues) do out[#out + 1] = q end
return out
