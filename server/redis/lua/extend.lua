-- extend.lua: a heartbeat; extends every lease held by one worker session.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] lease_ms, ARGV[4] session_id
-- Returns the number of leases extended.
local lease_ms = tonumber(ARGV[3])
local sid = ARGV[4]
local sk = session_key(sid)
local extended = 0
for _, id in ipairs(redis.call('SMEMBERS', sk)) do
  local f = redis.call('HMGET', task_key(id), 'w', 'st', 'sa', 'to')
  if f[1] == sid and f[2] == 'running' then
    redis.call('ZADD', P .. 'leases', 'XX', lease_deadline(lease_ms, tonumber(f[3]), tonumber(f[4])), id)
    extended = extended + 1
  else
    redis.call('SREM', sk, id)
  end
end
return extended
