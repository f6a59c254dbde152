-- lease.lua: leases up to N ready tasks of one queue to one or more worker sessions.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, ARGV[3] lease_ms, ARGV[4] token prefix, ARGV[5] queue,
-- then triples: session_id, worker_id, count (tasks wanted by that session, in order).
-- Returns one entry per leased task:
--   {session_id, id, lease_token, attempt, deadline_ms, type, payload_format, payload,
--    max_attempts, timeout_ms, labels_json, created_ms}
-- and {'EXPIRED', id} for each popped task whose start deadline had passed (it is not leased).
local lease_ms = tonumber(ARGV[3])
local token_prefix = ARGV[4]
local rk = ready_key(ARGV[5])
local out = {}
local n = 0
for i = 6, #ARGV, 3 do
  local sid, wid, want = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local got = 0
  local empty = false
  while got < want and not empty do
    local popped = redis.call('ZPOPMIN', rk, want - got)
    if #popped == 0 then empty = true end
    for j = 1, #popped, 2 do
      local id = popped[j]
      local k = task_key(id)
      local head = redis.call('HMGET', k, 'st', 'sd')
      local start_deadline = tonumber(head[2]) or 0
      if head[1] == 'queued' and start_deadline > 0 and NOW > start_deadline then
        redis.call('ZREM', P .. 'startdl', id)
        mark_terminal(k, 'expired')
        out[#out + 1] = { 'EXPIRED', id }
      elseif head[1] == 'queued' then
        if start_deadline > 0 then
          redis.call('HDEL', k, 'sd')
          redis.call('ZREM', P .. 'startdl', id)
        end
        n = n + 1
        local token = token_prefix .. '.' .. n
        local attempt = redis.call('HINCRBY', k, 'a', 1)
        redis.call('HSET', k, 'st', 'running', 'tok', token, 'w', sid, 'wid', wid, 'sa', NOW)
        local f = redis.call('HMGET', k, 'ty', 'pf', 'p', 'ma', 'to', 'lb', 'ca')
        local deadline = lease_deadline(lease_ms, NOW, tonumber(f[5]))
        redis.call('ZADD', P .. 'leases', deadline, id)
        redis.call('SADD', session_key(sid), id)
        out[#out + 1] = { sid, id, token, attempt, deadline, f[1], f[2], f[3], f[4], f[5] or '0', f[6] or '{}', f[7] }
        got = got + 1
      end
    end
  end
  if empty then break end
end
return out
