-- reap.lua: ends leases whose deadline has passed (no heartbeat, or the attempt timed out).
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] server id, ARGV[4] limit
-- Returns end_lease tuples (see lib.lua) with how = 'expired' or 'timeout'.
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local f = redis.call('HMGET', task_key(id), 'st', 'sa', 'to')
  if f[1] == 'running' then
    local how = 'expired'
    local timeout = tonumber(f[3]) or 0
    if timeout > 0 and NOW >= tonumber(f[2]) + timeout then how = 'timeout' end
    out[#out + 1] = end_lease(id, how, 0, ARGV[3])
  else
    redis.call('ZREM', P .. 'leases', id)
  end
end
return out
