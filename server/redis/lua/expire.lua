-- expire.lua: ends never-started tasks whose start deadline has passed (state EXPIRED).
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] limit
-- Returns {next_deadline_ms or -1, expired ids...}
local out = { -1 }
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'startdl', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local k = task_key(id)
  local f = task_fields(k, { 'st', 'q', 'a' })
  redis.call('ZREM', P .. 'startdl', id)
  if f[1] == 'queued' or f[1] == 'scheduled' then
    if f[1] == 'queued' then
      redis.call('ZREM', ready_key(f[2]), id)
    else
      redis.call('ZREM', P .. 'delayed', id)
      count_state(f[2], 'scheduled', -1)
    end
    mark_terminal(k, 'expired', '', f[3])
    out[#out + 1] = id
  end
end
flush_counts()
local first = redis.call('ZRANGE', P .. 'startdl', 0, 0, 'WITHSCORES')
if #first > 0 then out[1] = tonumber(first[2]) end
return out
