-- release.lua: a worker session ended; puts back every task of one queue it still held.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- KEYS[7] <Q>s:<session_id>, the session's set of leased ids.
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] server id, ARGV[4] session_id
-- Returns one flat array, per ended lease: id, how ('lost'), lease_token, then the 7 values
-- end_lease appends (see lib.lua).
local sid = ARGV[4]
local sk = KEYS[7]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', sk)) do
  local f = lease_fields(task_key(id))
  if f[1] == 'running' and f[4] == sid then
    out[#out + 1] = id
    out[#out + 1] = 'lost'
    out[#out + 1] = f[2] or ''
    end_lease(id, f, 'lost', 0, ARGV[3], out, #out)
  end
end
flush_lease_ends()
redis.call('DEL', sk)
return out
