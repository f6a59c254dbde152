-- release.lua: a worker session ended; puts back every task it still held.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] server id, ARGV[4] session_id
-- Returns end_lease tuples (see lib.lua) with how = 'lost'.
local sid = ARGV[4]
local sk = session_key(sid)
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', sk)) do
  local f = redis.call('HMGET', task_key(id), 'st', 'w')
  if f[1] == 'running' and f[2] == sid then
    out[#out + 1] = end_lease(id, 'lost', 0, ARGV[3])
  end
end
redis.call('DEL', sk)
return out
