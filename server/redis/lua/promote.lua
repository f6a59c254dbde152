-- promote.lua: moves SCHEDULED and FAILED tasks of one queue whose time has come to its ready set.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] limit
-- Returns {next_due_ms or -1, then per promoted task: id, attempt, previous state}
local out = { -1 }
local due = redis.call('ZRANGEBYSCORE', DELAYED_KEY, '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[3]))
local ready = {}
for _, id in ipairs(due) do
  local k = task_key(id)
  local f = task_fields(k, { 'st', 'q', 'sc', 'a' })
  if f[1] == 'scheduled' or f[1] == 'failed' then
    redis.call('HSET', k, 'st', 'queued')
    redis.call('HDEL', k, 'due')
    ready[#ready + 1] = f[3]
    ready[#ready + 1] = id
    count_state('scheduled', -1)
    out[#out + 1] = id
    out[#out + 1] = tonumber(f[4]) or 0
    out[#out + 1] = f[1]
  end
end
call_bulk('ZREM', DELAYED_KEY, due)
call_bulk('ZADD', READY_KEY, ready)
flush_counts()
local first = redis.call('ZRANGE', DELAYED_KEY, 0, 0, 'WITHSCORES')
if #first > 0 then out[1] = tonumber(first[2]) end
return out
