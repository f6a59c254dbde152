-- promote.lua: moves SCHEDULED and FAILED tasks whose time has come to their ready queue.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] limit
-- Returns {next_due_ms or -1, then per promoted task: id, queue, attempt, previous state}
local out = { -1 }
local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[3]))
local ready_by_queue = {}
for _, id in ipairs(due) do
  local k = task_key(id)
  local f = task_fields(k, { 'st', 'q', 'sc', 'a' })
  if f[1] == 'scheduled' or f[1] == 'failed' then
    redis.call('HSET', k, 'st', 'queued')
    redis.call('HDEL', k, 'due')
    push_to(ready_by_queue, f[2], f[3])
    push_to(ready_by_queue, f[2], id)
    count_state(f[2], 'scheduled', -1)
    out[#out + 1] = id
    out[#out + 1] = f[2]
    out[#out + 1] = tonumber(f[4]) or 0
    out[#out + 1] = f[1]
  end
end
call_bulk('ZREM', P .. 'delayed', due)
for q, ready in pairs(ready_by_queue) do call_bulk('ZADD', ready_key(q), ready) end
flush_counts()
local first = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
if #first > 0 then out[1] = tonumber(first[2]) end
return out
