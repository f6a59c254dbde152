-- enqueue.lua: adds tasks of one queue to the dispatch state; idempotent (a task whose hash
-- exists is skipped, unless it is finished and the call re-drives).
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] '1' to replace a finished task's hash
-- (re-drive), else '0', ARGV[4] the queue's name (stored in each task hash),
-- then 6 fields per task:
--   id, type, ready_score, extras, descriptor (see lib.lua), payload
-- where extras is '' for a task with nothing below to set (the usual case), else
-- 'due_ms:attempt:start_deadline_ms:timeout_ms:concurrency_key' with '0' for none (the key,
-- last, may hold ':'; empty for none).
-- The server adds the queue to the queue registry ({<prefix>}:queues) itself, before this call.
-- Returns: {added_count, 1 if tasks became ready else 0}
local added = 0
local replace_finished = ARGV[3] == '1'
local q = ARGV[4]
local ready_by_type = {}
local readied = 0
local delayed = {}
local start_deadlines = {}
for i = 5, #ARGV, 6 do
  local id = ARGV[i]
  local k = task_key(id)
  if replace_finished then
    local st = task_fields(k, { 'st' })[1]
    if st == 'done' or st == 'cancelled' or st == 'expired' then redis.call('DEL', k) end
  end
  if redis.call('EXISTS', k) == 0 then
    local ty, score, extras = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    if extras == '' then
      redis.call('HSET', k, 'st', 'queued', 'a', '0', 'q', q, 'ty', ty, 'sc', score, 'd', ARGV[i + 4], 'p', ARGV[i + 5])
      push_to(ready_by_type, ty, score)
      push_to(ready_by_type, ty, id)
      readied = readied + 1
    else
      local due_s, attempt, start_deadline_s, timeout_s, ck = string.match(extras, '^([^:]*):([^:]*):([^:]*):([^:]*):(.*)$')
      local fields = { 'st', 'queued', 'a', attempt, 'q', q, 'ty', ty, 'sc', score, 'd', ARGV[i + 4], 'p', ARGV[i + 5] }
      if ck ~= '' then
        fields[#fields + 1] = 'ck'
        fields[#fields + 1] = ck
      end
      if tonumber(due_s) > NOW then
        fields[2] = 'scheduled'
        fields[#fields + 1] = 'due'
        fields[#fields + 1] = due_s
        delayed[#delayed + 1] = due_s
        delayed[#delayed + 1] = id
        count_state('scheduled', 1)
      else
        local name = ready_list_name(ty, ck)
        push_to(ready_by_type, name, score)
        push_to(ready_by_type, name, id)
        readied = readied + 1
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
    added = added + 1
  end
end
add_ready(ready_by_type)
call_bulk('ZADD', DELAYED_KEY, delayed)
call_bulk('ZADD', STARTDL_KEY, start_deadlines)
flush_counts()
return { added, readied > 0 and 1 or 0 }
