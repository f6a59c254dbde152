-- promote.lua: moves SCHEDULED and FAILED tasks of one queue whose time has come to its ready set.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] limit
-- Returns {next_due_ms or -1, then per promoted task: id, attempt, previous state}
local out = { -1 }
local due = redis.call('ZRANGEBYSCORE', DELAYED_KEY, '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[3]))
local ready_by_type = {}
for _, id in ipairs(due) do
  local k = task_key(id)
  local f = task_fields(k, { 'st', 'q', 'sc', 'a', 'ty', 'ck' })
  if f[1] == 'scheduled' or f[1] == 'failed' then
    redis.call('HSET', k, 'st', 'queued')
    redis.call('HDEL', k, 'due')
    local name = ready_list_name(f[5] or '', f[6])
    push_to(ready_by_type, name, f[3])
    push_to(ready_by_type, name, id)
    count_state('scheduled', -1)
    out[#out + 1] = id
    out[#out + 1] = tonumber(f[4]) or 0
    out[#out + 1] = f[1]
  end
end
call_bulk('ZREM', DELAYED_KEY, due)
add_ready(ready_by_type)
flush_counts()
local first = redis.call('ZRANGE', DELAYED_KEY, 0, 0, 'WITHSCORES')
if #first > 0 then out[1] = tonumber(first[2]) end
return out
