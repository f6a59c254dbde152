-- lease.lua: leases up to N ready tasks of one queue to one or more worker sessions, in rotation.
-- KEYS[1..6] the queue's keys (see lib.lua), then KEYS[6 + s] <Q>s:<session_id> of the s-th
-- session below (its set of leased ids).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] lease_ms,
-- then quadruples: session_id, worker_id, count (tasks wanted by that session), token_prefix
-- (random, fresh for each session in each call).
-- Tasks are dealt in rotation, in ready order (priority, then age): the first to the first
-- session, the second to the second, ..., skipping sessions that got their count; so a queue
-- holding fewer tasks than wanted spreads them over the sessions. The k-th task leased to a
-- session in the call gets lease token "<its token_prefix>.<k>".
-- A paused queue (KEYS[6] present) leases nothing: the reply is {0, 0}.
-- Returns one flat array:
--   leased count L, expired count E,
--   then 6 values per leased task, in the order leased:
--     session index (1-based, in ARGV order), id, attempt, deadline_ms, descriptor (see lib.lua), payload
--   then the E ids of popped tasks whose start deadline had passed (expired, not leased).
-- A paused queue leases nothing.
if redis.call('EXISTS', PAUSED_KEY) == 1 then return { 0, 0 } end
local lease_ms = tonumber(ARGV[3])
-- Integers formatted with %d, which is much cheaper than Lua's default number formatting.
local format = string.format
local rk = READY_KEY
local LEASE_READ = { 'st', 'sd', 'a', 'to', 'd', 'p' }
local default_deadline = NOW + lease_ms
local default_deadline_s = format('%d', default_deadline)
local sessions = (#ARGV - 3) / 4
local sid, wid, want, token_prefix, got, members = {}, {}, {}, {}, {}, {}
-- The rotation: a circular list of the sessions still wanting tasks (next_of), so that a
-- session that got its count leaves it in O(1).
local next_of = {}
local first, last
local total = 0
for s = 1, sessions do
  local i = 4 * s
  sid[s], wid[s], want[s], token_prefix[s] = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3] .. '.'
  got[s] = 0
  members[s] = {}
  if want[s] > 0 then
    total = total + want[s]
    if last then next_of[last] = s else first = s end
    last = s
  end
end
if last then next_of[last] = first end
local current, previous = first, last
local out = { 0, 0 }
local out_n = 2
local expired = {}
local leases = {}
local leases_n = 0
local leased = 0
local empty = first == nil
while leased < total and not empty do
  -- ZRANGE + ZREMRANGEBYRANK pops like ZPOPMIN without formatting every score as a reply.
  local popped = redis.call('ZRANGE', rk, 0, total - leased - 1)
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
      redis.call('ZREM', STARTDL_KEY, id)
      mark_terminal(k, 'expired', '', f[3])
      expired[#expired + 1] = id
    elseif f[1] == 'queued' then
      if start_deadline > 0 then
        redis.call('HDEL', k, 'sd')
        redis.call('ZREM', STARTDL_KEY, id)
      end
      local s = current
      local g = got[s] + 1
      got[s] = g
      members[s][g] = id
      leased = leased + 1
      local attempt = (tonumber(f[3]) or 0) + 1
      redis.call('HSET', k, 'st', 'running', 'tok', format('%s%d', token_prefix[s], g), 'w', sid[s], 'wid', wid[s], 'sa', NOW_S,
        'a', format('%d', attempt))
      local deadline = lease_deadline(lease_ms, NOW, tonumber(f[4]))
      leases[leases_n + 1] = deadline == default_deadline and default_deadline_s or deadline
      leases[leases_n + 2] = id
      leases_n = leases_n + 2
      out[out_n + 1] = s
      out[out_n + 2] = id
      out[out_n + 3] = attempt
      out[out_n + 4] = deadline
      out[out_n + 5] = f[5] or ''
      out[out_n + 6] = f[6] or ''
      out_n = out_n + 6
      -- Next session in the rotation; one that got its count leaves it.
      if g == want[s] then
        next_of[previous] = next_of[s]
      else
        previous = s
      end
      current = next_of[s]
    end
  end
end
out[1] = leased
out[2] = #expired
for _, id in ipairs(expired) do
  out_n = out_n + 1
  out[out_n] = id
end
for s = 1, sessions do
  call_bulk('SADD', KEYS[6 + s], members[s])
end
call_bulk('ZADD', LEASES_KEY, leases)
if leased > 0 then redis.call('HINCRBY', COUNTS_KEY, 'running', leased) end
return out
