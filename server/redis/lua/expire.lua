-- expire.lua: ends never-started tasks of one queue whose start deadline has passed (state EXPIRED).
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] limit
-- Returns {next_deadline_ms or -1, expired ids...}
local out = { -1 }
for _, id in ipairs(redis.call('ZRANGEBYSCORE', STARTDL_KEY, '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local k = task_key(id)
  local f = task_fields(k, { 'st', 'q', 'a', 'ty', 'ck' })
  redis.call('ZREM', STARTDL_KEY, id)
  if f[1] == 'queued' or f[1] == 'scheduled' then
    if f[1] == 'queued' then
      remove_ready(id, f[4] or '', f[5])
    else
      redis.call('ZREM', DELAYED_KEY, id)
      count_state('scheduled', -1)
    end
    mark_terminal(k, 'expired', '', f[3])
    out[#out + 1] = id
  end
end
flush_counts()
local first = redis.call('ZRANGE', STARTDL_KEY, 0, 0, 'WITHSCORES')
if #first > 0 then out[1] = tonumber(first[2]) end
return out
