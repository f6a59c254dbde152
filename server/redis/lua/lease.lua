-- lease.lua: leases up to N ready tasks of one queue to one or more worker sessions, in rotation.
-- KEYS[1..6] the queue's keys (see lib.lua), KEYS[7] <Q>rate (HASH: the rate limit's token
-- bucket: tk tokens, ts when counted), then KEYS[7 + s] <Q>s:<session_id> of the s-th session
-- below (its set of leased ids).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] lease_ms, ARGV[4] max_running: the
-- queue's concurrency limit ('0': none), ARGV[5] rate_limit: most starts per period ('0':
-- none), ARGV[6] the rate limit's period in ms, ARGV[7] max_per_key: most RUNNING tasks per
-- concurrency key ('0': none), then 5 values per session: session_id, worker_id,
-- count (tasks wanted by that session), token_prefix (random, fresh for each session in each
-- call), types (the task types it takes, separated by spaces; '': every type).
-- Tasks are dealt in rotation, in ready order (priority, then age) across the types taken:
-- each to the next session in the rotation that takes its type, skipping sessions that got
-- their count; so a queue holding fewer tasks than wanted spreads them over the sessions. A
-- task whose type no session of the call takes stays ready. The k-th task leased to a
-- session in the call gets lease token "<its token_prefix>.<k>".
-- With max_running > 0, no more tasks are leased than leave the queue's running counter at
-- max_running (the counter counts every server's leases). With rate_limit > 0, each lease
-- takes a token from a bucket that gains rate_limit tokens per period and holds at most a tenth
-- of rate_limit (at least 1): any window of one period sees at most rate_limit + that burst.
-- Tasks with a concurrency key come from their type's ring of keys (see lib.lua): the key at
-- the ring's head offers its first task (priority, then age, within the key), and once served
-- goes to the tail, so keys take turns; that offer competes with the other sources (key-less
-- tasks, other types) by its score like any head. With max_per_key > 0, a key with
-- max_per_key tasks RUNNING (<Q>kc, every server's leases) is parked out of the ring until
-- one of its leases ends, so that a key at its limit costs nothing per call. Parking that
-- leaves tasks unleased sets the limited flag. A queue with no keyed tasks takes the same
-- path as before keys existed (one SMEMBERS, no other read).
-- Returns one flat array:
--   leased count L, expired count E, ready (1 when ready tasks remain in the queue, else 0),
--   limited (1 when the concurrency limit held tasks back, else 0), next_token_ms (when the
--   rate limit held tasks back: ms until its next token, else -1),
--   then 6 values per leased task, in the order leased:
--     session index (1-based, in ARGV order), id, attempt, deadline_ms, descriptor (see lib.lua), payload
--   then the E ids of popped tasks whose start deadline had passed (expired, not leased).
-- A paused queue (KEYS[6] present) leases nothing: the reply is {0, 0, 1, 0, -1}.
if redis.call('EXISTS', PAUSED_KEY) == 1 then return { 0, 0, 1, 0, -1 } end
local lease_ms = tonumber(ARGV[3])
local max_running = tonumber(ARGV[4])
-- Integers formatted with %d, which is much cheaper than Lua's default number formatting.
local format = string.format
local LEASE_READ = { 'st', 'sd', 'a', 'to', 'd', 'p' }
local default_deadline = NOW + lease_ms
local default_deadline_s = format('%d', default_deadline)
local max_per_key = tonumber(ARGV[7])
local sessions = (#ARGV - 7) / 5
local sid, wid, want, token_prefix, got, members = {}, {}, {}, {}, {}, {}
-- accepts[s]: the set of types session s takes; nil when it takes every type.
local accepts = {}
-- The rotation: a circular list of the sessions still wanting tasks (next_of), so that a
-- session that got its count leaves it in O(1).
local next_of = {}
local first, last
local total = 0
local every_type = false
local declared = {}
for s = 1, sessions do
  local i = 5 * s + 3
  sid[s], wid[s], want[s], token_prefix[s] = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3] .. '.'
  got[s] = 0
  members[s] = {}
  if want[s] > 0 then
    local types = ARGV[i + 4]
    if types == '' then
      every_type = true
    else
      local set = {}
      for t in string.gmatch(types, '%S+') do
        set[t] = true
        declared[t] = true
      end
      accepts[s] = set
    end
    total = total + want[s]
    if last then next_of[last] = s else first = s end
    last = s
  end
end
if last then next_of[last] = first end
local limited = 0
if max_running > 0 and total > 0 then
  local room = max_running - (tonumber(redis.call('HGET', COUNTS_KEY, 'running')) or 0)
  if room < total then
    total = math.max(room, 0)
    limited = 1
  end
end
-- The rate limit's token bucket.
local rate_limit = tonumber(ARGV[5])
local rate_period = tonumber(ARGV[6])
local tokens, tokens_at
local next_token = -1
if rate_limit > 0 and total > 0 then
  local burst = math.max(1, math.floor(rate_limit / 10))
  local b = redis.call('HMGET', KEYS[7], 'tk', 'ts')
  tokens, tokens_at = tonumber(b[1]), tonumber(b[2])
  if not tokens or not tokens_at then
    tokens, tokens_at = burst, NOW
  else
    -- Servers' clocks differ a little: time never runs backwards for the bucket.
    if NOW > tokens_at then
      tokens = math.min(burst, tokens + (NOW - tokens_at) * rate_limit / rate_period)
      tokens_at = NOW
    end
  end
  local allowed = math.floor(tokens)
  if allowed < total then
    total = math.max(allowed, 0)
    next_token = math.max(1, math.ceil((allowed + 1 - tokens) * rate_period / rate_limit))
  end
end
-- Every type with ready tasks is in the registry (KEYS[1]), and '~<type>' for each type whose
-- ring may hold keys; sessions that all name their types need only those of them it holds.
local types, rings = {}, {}
for _, t in ipairs(redis.call('SMEMBERS', TYPES_KEY)) do
  if string.byte(t, 1) == 126 then -- '~'
    local ty = string.sub(t, 2)
    if every_type or declared[ty] then rings[#rings + 1] = ty end
  elseif every_type or declared[t] then
    types[#types + 1] = t
  end
end
local current, previous = first, last
local out = { 0, 0, 0, limited, next_token }
local out_n = 5
local expired = {}
local leases = {}
local leases_n = 0
local leased = 0

-- Leases popped task `id` to session s (which takes its type), or expires it when its start
-- deadline has passed; returns true when leased. A popped task no longer queued is dropped.
local function take(id, s)
  local k = task_key(id)
  local f = task_fields(k, LEASE_READ)
  if f[1] ~= 'queued' then return false end
  local start_deadline = tonumber(f[2]) or 0
  if start_deadline > 0 then
    redis.call('ZREM', STARTDL_KEY, id)
    if NOW > start_deadline then
      mark_terminal(k, 'expired', '', f[3])
      expired[#expired + 1] = id
      return false
    end
    redis.call('HDEL', k, 'sd')
  end
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
  return true
end

-- Moves the rotation on after session s (reached from `before`) got a task: a session that got
-- its count leaves the rotation (and `on_leave(s)` is told).
local function advance(s, before, on_leave)
  if got[s] == want[s] then
    next_of[before] = next_of[s]
    previous = before
    if on_leave then on_leave(s) end
  else
    previous = s
  end
  current = next_of[s]
end

-- The usual case: one type, which every session of the call takes, and no keyed tasks.
local one_type = #types == 1 and #rings == 0
if one_type then
  for s = 1, sessions do
    if want[s] > 0 and accepts[s] ~= nil and not accepts[s][types[1]] then one_type = false end
  end
end
if one_type and total > 0 then
  -- Pop in ready order.
  local rk = ready_key(types[1])
  local empty = false
  while leased < total and not empty do
    -- ZRANGE + ZREMRANGEBYRANK pops like ZPOPMIN without formatting every score as a reply.
    local popped = redis.call('ZRANGE', rk, 0, total - leased - 1)
    if #popped < total - leased then empty = true end
    if #popped > 0 then redis.call('ZREMRANGEBYRANK', rk, 0, #popped - 1) end
    for _, id in ipairs(popped) do
      local s = current
      if take(id, s) then advance(s, previous) end
    end
  end
  if empty then redis.call('SREM', TYPES_KEY, types[1]) end
elseif (#types > 0 or #rings > 0) and total > 0 then
  -- Several sources (key-less types, rings of keys): merge their heads by score; each task goes
  -- to the next session in the rotation that takes its type. wanting[t]: sessions in the
  -- rotation that take type t.
  local heads, at, wanting, popped = {}, {}, {}, {}
  local all_types = {}
  local function count_wanting(t)
    if wanting[t] then return end
    all_types[#all_types + 1] = t
    local n = 0
    for s = 1, sessions do
      if want[s] > 0 and (accepts[s] == nil or accepts[s][t]) then n = n + 1 end
    end
    wanting[t] = n
  end
  for _, t in ipairs(types) do
    heads[t] = redis.call('ZRANGE', ready_key(t), 0, total - 1, 'WITHSCORES')
    at[t] = 1
    popped[t] = {}
    count_wanting(t)
  end
  -- Rings: offer[t] is the head key's first task {id, score, key}, false once the ring is
  -- empty, nil until looked up; running[k]: the key's RUNNING count as read plus this call's.
  local offer, tails, running, key_leased = {}, {}, {}, {}
  for _, t in ipairs(rings) do count_wanting(t) end
  local function key_running(ck)
    local n = running[ck]
    if not n then
      n = tonumber(redis.call('HGET', KC_KEY, ck)) or 0
      running[ck] = n
    end
    return n
  end
  local function park(ck, t)
    local parked = redis.call('HGET', KP_KEY, ck)
    redis.call('HSET', KP_KEY, ck, parked and (parked .. ' ' .. t) or t)
  end
  local parked_any = false
  local function ring_offer(t)
    local o = offer[t]
    if o ~= nil then return o end
    local ring = ring_key(t)
    while true do
      local ck = redis.call('ZRANGE', ring, 0, 0)[1]
      if not ck then
        redis.call('SREM', TYPES_KEY, '~' .. t)
        offer[t] = false
        return false
      end
      if max_per_key > 0 and key_running(ck) >= max_per_key then
        redis.call('ZREM', ring, ck)
        park(ck, t)
        parked_any = true
      else
        local h = redis.call('ZRANGE', keyed_ready_key(t, ck), 0, 0, 'WITHSCORES')
        if h[1] then
          o = { h[1], tonumber(h[2]), ck }
          offer[t] = o
          return o
        end
        redis.call('ZREM', ring, ck)
      end
    end
  end
  local function leave(s)
    for _, t in ipairs(all_types) do
      if accepts[s] == nil or accepts[s][t] then wanting[t] = wanting[t] - 1 end
    end
  end
  local keyed_taken = 0
  while leased < total do
    local best, best_score, best_ring
    for _, t in ipairs(types) do
      local h, a = heads[t], at[t]
      if wanting[t] > 0 and a <= #h then
        local score = tonumber(h[a + 1])
        if not best_score or score < best_score then best, best_score, best_ring = t, score, false end
      end
    end
    for _, t in ipairs(rings) do
      if wanting[t] > 0 then
        local o = ring_offer(t)
        if o and (not best_score or o[2] < best_score) then best, best_score, best_ring = t, o[2], true end
      end
    end
    if not best then break end
    local id, ck
    if best_ring then
      local o = offer[best]
      id, ck = o[1], o[3]
      offer[best] = nil
      redis.call('ZREM', keyed_ready_key(best, ck), id)
      keyed_taken = keyed_taken + 1
      -- The key's turn is over: to the ring's tail (ring_offer drops it if nothing is left).
      local ring = ring_key(best)
      local tail = tails[best] or ring_tail_score(ring)
      redis.call('ZADD', ring, 'XX', format('%d', tail), ck)
      tails[best] = tail + 1
    else
      id = heads[best][at[best]]
      at[best] = at[best] + 2
      popped[best][#popped[best] + 1] = id
    end
    local s, before = current, previous
    while accepts[s] ~= nil and not accepts[s][best] do before, s = s, next_of[s] end
    if take(id, s) then
      advance(s, before, leave)
      if ck then
        running[ck] = key_running(ck) + 1
        key_leased[ck] = (key_leased[ck] or 0) + 1
      end
    end
  end
  for _, t in ipairs(types) do
    call_bulk('ZREM', ready_key(t), popped[t])
    -- Fetched fewer than asked and took them all: that type has no ready task left.
    if #heads[t] < 2 * total and at[t] > #heads[t] then redis.call('SREM', TYPES_KEY, t) end
  end
  for ck, n in pairs(key_leased) do redis.call('HINCRBY', KC_KEY, ck, n) end
  if keyed_taken > 0 then redis.call('HINCRBY', COUNTS_KEY, 'keyed', -keyed_taken) end
  if parked_any and leased < total then limited = 1 end
end
if leased < total or limited == 1 or total == 0 then
  out[3] = redis.call('EXISTS', TYPES_KEY)
  -- Keys parked at their limit hold ready tasks that no ring shows: the queue is not drained,
  -- it waits for a lease end (limited).
  if out[3] == 0 and leased < total and redis.call('EXISTS', KP_KEY) == 1 then
    out[3] = 1
    limited = 1
  end
else
  out[3] = 1
end
out[1] = leased
out[2] = #expired
out[4] = limited
for _, id in ipairs(expired) do
  out_n = out_n + 1
  out[out_n] = id
end
for s = 1, sessions do
  call_bulk('SADD', KEYS[7 + s], members[s])
end
call_bulk('ZADD', LEASES_KEY, leases)
if leased > 0 then redis.call('HINCRBY', COUNTS_KEY, 'running', leased) end
if tokens then
  redis.call('HSET', KEYS[7], 'tk', tostring(tokens - leased), 'ts', format('%d', tokens_at))
  redis.call('PEXPIRE', KEYS[7], format('%d', rate_period + 60000))
end
return out
