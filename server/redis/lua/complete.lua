-- complete.lua: records results; each is accepted only for the task's current lease, held by
-- the session that reports it (fencing). All results are of tasks of one queue.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] server id, then 4 fields per result:
--   id, session_id (the stream that sent the result), lease_token, outcome: 's' succeeded,
--   'x' failed non-retryably (fatal), or a number in [0,1): failed (retryable), that number
--   being the jitter of the retry back-off
-- A result whose token is not the task's current one, or that comes from another session than
-- the one holding the lease, is stale whatever its token.
-- Returns one flat array, per result in order: 'STALE', or the 7 values end_lease appends
-- (see lib.lua).
local out = {}
local n = 0
for i = 4, #ARGV, 4 do
  local id = ARGV[i]
  local f = lease_fields(task_key(id))
  if f[1] == 'running' and f[4] == ARGV[i + 1] and f[2] == ARGV[i + 2] then
    local outcome = ARGV[i + 3]
    if outcome == 's' then
      n = end_lease(id, f, 'succeeded', 0, ARGV[3], out, n)
    elseif outcome == 'x' then
      n = end_lease(id, f, 'fatal', 0, ARGV[3], out, n)
    else
      n = end_lease(id, f, 'failed', tonumber(outcome), ARGV[3], out, n)
    end
  else
    n = n + 1
    out[n] = 'STALE'
  end
end
flush_lease_ends()
return out
