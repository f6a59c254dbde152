-- complete.lua: records results; each is accepted only for the task's current lease (fencing).
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] server id, then 4 fields per result:
--   id, lease_token, how ('succeeded' | 'failed' | 'fatal'), jitter in [0,1)
-- Returns one entry per result: {id, 'STALE'} or the end_lease tuple (see lib.lua).
local out = {}
for i = 4, #ARGV, 4 do
  local id = ARGV[i]
  local f = redis.call('HMGET', task_key(id), 'st', 'tok')
  if f[1] == 'running' and f[2] == ARGV[i + 1] then
    out[#out + 1] = end_lease(id, ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[3])
  else
    out[#out + 1] = { id, 'STALE' }
  end
end
return out
