-- lease.lua: leases up to N ready tasks of one queue to one or more worker sessions.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] lease_ms, ARGV[4] token prefix, ARGV[5] queue,
-- then triples: session_id, worker_id, count (tasks wanted by that session, in order).
-- The n-th task leased by the call (from 1) gets lease token "<token prefix>.<n>".
-- Returns one flat array:
--   leased count of each session (in ARGV order), expired count E,
--   then 5 values per leased task, the sessions' tasks one after the other in ARGV order:
--     id, attempt, deadline_ms, descriptor (see lib.lua), payload
--   then the E ids of popped tasks whose start deadline had passed (expired, not leased).
local lease_ms = tonumber(ARGV[3])
local token_prefix = ARGV[4] .. '.'
-- Integers formatted with %d, which is much cheaper than Lua's default number formatting.
local format = string.format
local rk = ready_key(ARGV[5])
local LEASE_READ = { 'st', 'sd', 'a', 'to', 'd', 'p' }
local default_deadline = NOW + lease_ms
local default_deadline_s = format('%d', default_deadline)
local sessions = (#ARGV - 5) / 3
local out = {}
for s = 1, sessions + 1 do out[s] = 0 end
local out_n = sessions + 1
local expired = {}
local leases = {}
local leases_n = 0
local n = 0
for s = 1, sessions do
  local i = 3 + 3 * s
  local sid, wid, want = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local members = {}
  local got = 0
  local empty = false
  while got < want and not empty do
    -- ZRANGE + ZREMRANGEBYRANK pops like ZPOPMIN without formatting every score as a reply.
    local popped = redis.call('ZRANGE', rk, 0, want - got - 1)
    if #popped == 0 then
      empty = true
    else
      redis.call('ZREMRANGEBYRANK', rk, 0, #popped - 1)
    end
    for _, id in ipairs(popped) do
      local k = task_key(id)
      local f = task_fields(k, LEASE_READ)
      local start_deadline = tonumber(f[2]) or 0
      if f[1] == 'queued' and start_deadline > 0 and NOW > start_deadline then
        redis.call('ZREM', P .. 'startdl', id)
        mark_terminal(k, 'expired', '', f[3])
        expired[#expired + 1] = id
      elseif f[1] == 'queued' then
        if start_deadline > 0 then
          redis.call('HDEL', k, 'sd')
          redis.call('ZREM', P .. 'startdl', id)
        end
        n = n + 1
        local attempt = (tonumber(f[3]) or 0) + 1
        redis.call('HSET', k, 'st', 'running', 'tok', format('%s%d', token_prefix, n), 'w', sid, 'wid', wid, 'sa', NOW_S,
          'a', format('%d', attempt))
        local deadline = lease_deadline(lease_ms, NOW, tonumber(f[4]))
        leases[leases_n + 1] = deadline == default_deadline and default_deadline_s or deadline
        leases[leases_n + 2] = id
        leases_n = leases_n + 2
        got = got + 1
        members[got] = id
        out[out_n + 1] = id
        out[out_n + 2] = attempt
        out[out_n + 3] = deadline
        out[out_n + 4] = f[5] or ''
        out[out_n + 5] = f[6] or ''
        out_n = out_n + 5
      end
    end
  end
  out[s] = got
  call_bulk('SADD', session_key(sid), members)
  if empty then break end
end
out[sessions + 1] = #expired
for _, id in ipairs(expired) do
  out_n = out_n + 1
  out[out_n] = id
end
call_bulk('ZADD', P .. 'leases', leases)
return out
