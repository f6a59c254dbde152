-- reap.lua: ends leases of one queue whose deadline has passed (no heartbeat, or the attempt
-- timed out).
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] server id, ARGV[4] limit
-- Returns one flat array, per ended lease: id, how ('expired' or 'timeout'), lease_token, then
-- the 7 values end_lease appends (see lib.lua).
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASES_KEY, '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local k = task_key(id)
  local f = lease_fields(k)
  if f[1] == 'running' then
    local how = 'expired'
    local timeout = tonumber(redis.call('HGET', k, 'to')) or 0
    if timeout > 0 and NOW >= tonumber(f[7]) + timeout then how = 'timeout' end
    out[#out + 1] = id
    out[#out + 1] = how
    out[#out + 1] = f[2] or ''
    end_lease(id, f, how, 0, ARGV[3], out, #out)
  else
    ended_count = ended_count + 1
    ended_ids[ended_count] = id
  end
end
flush_lease_ends()
return out
