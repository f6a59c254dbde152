-- extend.lua: a heartbeat; extends every lease of one queue held by one worker session.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- KEYS[7] <Q>s:<session_id>, the session's set of leased ids.
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] lease_ms, ARGV[4] session_id
-- Returns the number of leases extended.
local lease_ms = tonumber(ARGV[3])
local sid = ARGV[4]
local sk = KEYS[7]
local deadlines = {}
local gone = {}
for _, id in ipairs(redis.call('SMEMBERS', sk)) do
  local f = task_fields(task_key(id), { 'w', 'st', 'sa', 'to' })
  if f[1] == sid and f[2] == 'running' then
    deadlines[#deadlines + 1] = lease_deadline(lease_ms, tonumber(f[3]), tonumber(f[4]))
    deadlines[#deadlines + 1] = id
  else
    gone[#gone + 1] = id
  end
end
for i = 1, #deadlines, CHUNK do
  redis.call('ZADD', LEASES_KEY, 'XX', unpack(deadlines, i, math.min(i + CHUNK - 1, #deadlines)))
end
call_bulk('SREM', sk, gone)
return #deadlines / 2
