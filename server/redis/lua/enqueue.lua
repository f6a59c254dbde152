-- enqueue.lua: adds tasks to the dispatch state; idempotent (a task whose hash exists is skipped,
-- unless it is finished and the call re-drives).
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] '1' to replace a finished task's hash (re-drive), else '0',
-- then 6 fields per task:
--   id, queue, ready_score, extras, descriptor (see lib.lua), payload
-- where extras is '' for a task with nothing below to set (the usual case), else
-- 'due_ms:attempt:start_deadline_ms:timeout_ms' with '0' for none.
-- Returns: {added_count, queue_with_ready_tasks...}
local added = 0
local replace_finished = ARGV[3] == '1'
local ready_by_queue = {}
local delayed = {}
local start_deadlines = {}
local queues = {}
for i = 4, #ARGV, 6 do
  local id = ARGV[i]
  local k = task_key(id)
  if replace_finished then
    local st = task_fields(k, { 'st' })[1]
    if st == 'done' or st == 'cancelled' or st == 'expired' then redis.call('DEL', k) end
  end
  if redis.call('EXISTS', k) == 0 then
    local q, score, extras = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    local scheduled = false
    if extras == '' then
      redis.call('HSET', k, 'st', 'queued', 'a', '0', 'q', q, 'sc', score, 'd', ARGV[i + 4], 'p', ARGV[i + 5])
      push_to(ready_by_queue, q, score)
      push_to(ready_by_queue, q, id)
    else
      local due_s, attempt, start_deadline_s, timeout_s = string.match(extras, '^([^:]*):([^:]*):([^:]*):([^:]*)$')
      scheduled = tonumber(due_s) > NOW
      local fields = { 'st', 'queued', 'a', attempt, 'q', q, 'sc', score, 'd', ARGV[i + 4], 'p', ARGV[i + 5] }
      if scheduled then
        fields[2] = 'scheduled'
        fields[#fields + 1] = 'due'
        fields[#fields + 1] = due_s
        delayed[#delayed + 1] = due_s
        delayed[#delayed + 1] = id
        count_state(q, 'scheduled', 1)
      else
        push_to(ready_by_queue, q, score)
        push_to(ready_by_queue, q, id)
      end
      if timeout_s ~= '0' then
        fields[#fields + 1] = 'to'
        fields[#fields + 1] = timeout_s
      end
      if start_deadline_s ~= '0' then
        fields[#fields + 1] = 'sd'
        fields[#fields + 1] = start_deadline_s
        start_deadlines[#start_deadlines + 1] = start_deadline_s
        start_deadlines[#start_deadlines + 1] = id
      end
      redis.call('HSET', k, unpack(fields))
    end
    queues[q] = true
    added = added + 1
  end
end
local out = { added }
for q, ready in pairs(ready_by_queue) do
  call_bulk('ZADD', ready_key(q), ready)
  out[#out + 1] = q
end
call_bulk('ZADD', P .. 'delayed', delayed)
call_bulk('ZADD', P .. 'startdl', start_deadlines)
local names = {}
for q, _ in pairs(queues) do names[#names + 1] = q end
call_bulk('SADD', P .. 'queues', names)
flush_counts()
return out
