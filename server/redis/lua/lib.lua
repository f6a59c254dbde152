-- lib.lua: shared prelude, prepended to every script at load time.
-- Every script works on ONE queue, and every key it touches carries that queue's hash tag, so
-- that one script call touches one hash slot (Redis Cluster, key-based ACLs). Key names are
-- built in server/redis/keys.ts. Every script takes:
--   KEYS[1] <Q>types    SET   the task types that have ready tasks (a type may stay a while
--                             after its last ready task went; lease.lua removes it)
--   KEYS[2] <Q>delayed  ZSET  SCHEDULED and FAILED (back-off) tasks by due time (ms)
--   KEYS[3] <Q>leases   ZSET  RUNNING tasks by lease deadline (ms)
--   KEYS[4] <Q>startdl  ZSET  never-started tasks with a start deadline, by that deadline (ms)
--   KEYS[5] <Q>counts   HASH  counters kept as tasks move: running (leased), scheduled (in
--                             <Q>delayed: SCHEDULED or FAILED waiting for a retry)
--   KEYS[6] <Q>paused   STRING present while the queue is paused (a copy of Postgres' queues
--                             table; lease.lua leases nothing from a paused queue)
--   then the keys of each script's header;
--   ARGV[1] <Q>, the queue's key prefix '{<prefix><queue>}:' (hash tag included),
--   ARGV[2] now (ms since epoch).
-- Keys named by data found inside the queue are built from ARGV[1], as BullMQ builds job keys
-- from its queue prefix: they carry the same hash tag, hence the same slot:
--   <Q>r:<type>    ZSET  ready tasks of one type, score (100 - priority) * 1e13 + created_ms
--                        (lowest first); a worker that takes some types only is served from
--                        those types' sets
--   <Q>t:<id>      HASH  task dispatch state (fields below)
--   <Q>s:<session> SET   ids of this queue's tasks leased to one worker session
--   <Q>m:<minute>  HASH  attempts ended in that minute (ms // 60000): s succeeded, f failed
--                        (retryable or dead-lettered), c cancelled; expires after 16 min
-- Tasks with a concurrency key (hash field ck) are kept apart from the key-less ones above:
--   <Q>k:<type> <key> ZSET ready tasks of one type and key, scored like <Q>r:<type> (a type
--                        holds no space, so the first space ends it)
--   <Q>kq:<type>   ZSET  the round-robin ring of one type: the keys that have ready tasks of
--                        it and are not parked, scored by turn (lowest served next; a served key
--                        goes to the tail). The types registry holds '~<type>' while it may
--                        hold keys. A key whose ready set emptied may stay until lease.lua meets it.
--   <Q>kc          HASH  RUNNING tasks per key (every leased keyed task, whatever the limit)
--   <Q>kp          HASH  keys parked at the per-key limit: key -> the types (space-separated)
--                        whose rings lease.lua took it out of; the key's next lease end puts it
--                        back in those rings
-- Counter 'keyed' of <Q>counts: ready keyed tasks (key-less ones are the <Q>r: sets' sizes).
-- Cross-queue keys ({<prefix>}:queues, servers, srv:<id>, node:<id>, layout, epoch) are never
-- touched by a script: the server reaches them with plain, pipelined commands.
-- Task hash fields:
--   q queue, ty type, sc ready score, a attempts made, st state, p payload,
--   d descriptor: the JSON array [type, payload_format, max_attempts, timeout_ms, created_ms,
--     labels, backoff_initial_ms, backoff_max_ms, backoff_multiplier] (written by the server,
--     returned as is by lease.lua; read here only when an attempt ends other than by success),
--   to timeout ms (only when > 0), due (SCHEDULED/FAILED), sd start deadline (never started yet),
--   ck concurrency key (only when the task has one),
--   while leased: tok lease token, w session, wid worker, sa started ms; cr cancel reason.
-- A finished task's hash is replaced by a string 'st|a|fa|fs' (fa: finished ms, fs: the server
-- recording the outcome) that expires; until then recovery can tell a result still being written
-- to Postgres from one whose writer died. Scripts read task keys with task_fields, which serves
-- both forms.
-- Task hash states (st): queued, scheduled, failed, running, done, cancelled, expired.
-- Numbers passed to redis.call are formatted by Redis on every call, so values that are
-- already strings (ARGV, hash fields) are passed as they are.
local P = ARGV[1]
local NOW_S = ARGV[2]
local NOW = tonumber(NOW_S)
local TYPES_KEY, DELAYED_KEY, LEASES_KEY, STARTDL_KEY, COUNTS_KEY, PAUSED_KEY = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local TERMINAL_TTL_S = '600'
local TIMEOUT_GRACE_MS = 2000
-- Members per variadic call (Lua's unpack is limited to a few thousand values).
local CHUNK = 4000

local function task_key(id) return P .. 't:' .. id end
local function session_key(sid) return P .. 's:' .. sid end
local function ready_key(ty) return P .. 'r:' .. ty end
local function keyed_ready_key(ty, ck) return P .. 'k:' .. ty .. ' ' .. ck end
local function ring_key(ty) return P .. 'kq:' .. ty end
local KC_KEY = P .. 'kc'
local KP_KEY = P .. 'kp'

-- The score after the last of ring `ring` (0 when it is empty).
local function ring_tail_score(ring)
  local last = redis.call('ZRANGE', ring, -1, -1, 'WITHSCORES')
  return last[2] and (tonumber(last[2]) + 1) or 0
end

-- Adds key ck at the tail of type ty's ring (no change when it is in the ring already).
local function ring_push(ty, ck)
  local ring = ring_key(ty)
  redis.call('ZADD', ring, 'NX', string.format('%d', ring_tail_score(ring)), ck)
  redis.call('SADD', TYPES_KEY, '~' .. ty)
end

-- True when key ck is parked (at its limit) out of type ty's ring.
local function is_parked(ck, ty)
  local parked = redis.call('HGET', KP_KEY, ck)
  if not parked then return false end
  for t in string.gmatch(parked, '%S+') do
    if t == ty then return true end
  end
  return false
end

-- After `added` tasks joined the ready set of type ty and key ck: a set that was empty
-- puts its key in the ring, unless the key is parked.
local function keyed_ready_added(ty, ck, added)
  if added > 0 and redis.call('ZCARD', keyed_ready_key(ty, ck)) == added and not is_parked(ck, ty) then
    ring_push(ty, ck)
  end
end

-- Removes ready task `id` of type ty and key ck ('' or false: none) from its ready set.
local function remove_ready(id, ty, ck)
  if ck and ck ~= '' then
    if redis.call('ZREM', keyed_ready_key(ty, ck), id) == 1 then redis.call('HINCRBY', COUNTS_KEY, 'keyed', -1) end
  else
    redis.call('ZREM', ready_key(ty), id)
  end
end

-- Puts task `id` (ready score `score`, type `ty`, concurrency key `ck`, '' or false for none)
-- back among the ready tasks.
local function make_ready(id, score, ty, ck)
  if ck and ck ~= '' then
    local added = redis.call('ZADD', keyed_ready_key(ty, ck), score, id)
    if added > 0 then redis.call('HINCRBY', COUNTS_KEY, 'keyed', added) end
    keyed_ready_added(ty, ck, added)
    return
  end
  redis.call('ZADD', ready_key(ty), score, id)
  redis.call('SADD', TYPES_KEY, ty)
end

-- Gives back the running slots of keys whose leases ended (key -> count) and puts parked keys
-- back in their rings.
local function release_keys(ended_by_key)
  for ck, n in pairs(ended_by_key) do
    if redis.call('HINCRBY', KC_KEY, ck, -n) <= 0 then redis.call('HDEL', KC_KEY, ck) end
    local parked = redis.call('HGET', KP_KEY, ck)
    if parked then
      redis.call('HDEL', KP_KEY, ck)
      for ty in string.gmatch(parked, '%S+') do
        if redis.call('ZCARD', keyed_ready_key(ty, ck)) > 0 then ring_push(ty, ck) end
      end
    end
  end
end
local OUTCOMES_KEY = P .. 'm:' .. string.format('%d', math.floor(NOW / 60000))
local OUTCOMES_TTL_S = '960'

-- Counter changes of this script call by field (running, scheduled) and outcome (s, f, c),
-- applied once by flush_counts().
local count_deltas = {}
local outcome_deltas = {}
-- Counts a task entering (1) or leaving (-1) the queue's running or scheduled tasks.
local function count_state(field, delta) count_deltas[field] = (count_deltas[field] or 0) + delta end
-- Counts an ended attempt: 's', 'f' or 'c'.
local function count_outcome(field) outcome_deltas[field] = (outcome_deltas[field] or 0) + 1 end
-- Applies the counter changes gathered by count_state and count_outcome.
local function flush_counts()
  for field, delta in pairs(count_deltas) do
    if delta ~= 0 then redis.call('HINCRBY', COUNTS_KEY, field, delta) end
  end
  local outcomes = false
  for field, delta in pairs(outcome_deltas) do
    redis.call('HINCRBY', OUTCOMES_KEY, field, delta)
    outcomes = true
  end
  if outcomes then redis.call('EXPIRE', OUTCOMES_KEY, OUTCOMES_TTL_S) end
  count_deltas = {}
  outcome_deltas = {}
end

-- Runs `cmd key ...items` over a flat list of members (or score/member pairs), in chunks;
-- returns the sum of the replies (e.g. how many members ZADD added).
local function call_bulk(cmd, key, items)
  local n = #items
  local sum = 0
  for i = 1, n, CHUNK do
    local r = redis.call(cmd, key, unpack(items, i, math.min(i + CHUNK - 1, n)))
    if type(r) == 'number' then sum = sum + r end
  end
  return sum
end

-- Adds ready tasks gathered by type (type -> flat score/id list) to their ready sets; a name
-- '<type> <key>' holds tasks with a concurrency key (see ready_list_name).
local function add_ready(ready_by_type)
  local types = {}
  local keyed = 0
  for name, ready in pairs(ready_by_type) do
    local ty, ck = string.match(name, '^(%S*) (.*)$')
    if ty then
      local added = call_bulk('ZADD', keyed_ready_key(ty, ck), ready)
      keyed = keyed + added
      keyed_ready_added(ty, ck, added)
    else
      call_bulk('ZADD', ready_key(name), ready)
      types[#types + 1] = name
    end
  end
  call_bulk('SADD', TYPES_KEY, types)
  if keyed > 0 then redis.call('HINCRBY', COUNTS_KEY, 'keyed', keyed) end
end

-- The name add_ready files a task of type ty and concurrency key ck ('' or false: none) under.
local function ready_list_name(ty, ck)
  if ck and ck ~= '' then return ty .. ' ' .. ck end
  return ty
end

-- Appends `value` to the list stored under `name` in `lists`, creating it.
local function push_to(lists, name, value)
  local list = lists[name]
  if not list then
    list = {}
    lists[name] = list
  end
  list[#list + 1] = value
end

-- Lease deadline: now + lease, capped by the attempt's timeout (plus grace) when it has one.
local function lease_deadline(lease_ms, started_ms, timeout_ms)
  local deadline = NOW + lease_ms
  if timeout_ms and timeout_ms > 0 then
    deadline = math.min(deadline, started_ms + timeout_ms + TIMEOUT_GRACE_MS)
  end
  return deadline
end

-- Replaces a task's hash by what a finished task keeps: state, attempts, finish time and server
-- (one SET replaces the hash whole and sets the expiry).
local function mark_terminal(k, st, server_id, attempt)
  redis.call('SET', k, st .. '|' .. (attempt or '0') .. '|' .. NOW_S .. '|' .. (server_id or ''), 'EX', TERMINAL_TTL_S)
end

-- Positions of the finished marker's values, by the hash field names they stand for.
local MARKER_FIELDS = { st = 1, a = 2, fa = 3, fs = 4 }

-- The fields `names` of task key k, as HMGET returns them (false for a missing one). For a
-- finished task (a marker string, see mark_terminal) the marker's values stand for st, a, fa
-- and fs, and every other field is missing.
local function task_fields(k, names)
  local f = redis.pcall('HMGET', k, unpack(names))
  if not f.err then return f end
  local marker = { string.match(redis.call('GET', k), '^([^|]*)|([^|]*)|([^|]*)|(.*)$') }
  local out = {}
  for i, name in ipairs(names) do
    local at = MARKER_FIELDS[name]
    out[i] = at and marker[at] or false
  end
  return out
end

-- Fields end_lease needs, in this order.
local LEASE_FIELDS = { 'st', 'tok', 'a', 'w', 'q', 'wid', 'sa', 'cr', 'ck' }
local function lease_fields(k)
  return task_fields(k, LEASE_FIELDS)
end

-- Leases ended in this script call; their set memberships are removed once, at the end.
local ended_ids = {}
local ended_count = 0
local ended_by_session = {}
-- Keyed leases ended in this call, by concurrency key (see release_keys).
local ended_by_key = {}

-- Ends the current lease of task `id`, whose lease_fields are `f`.
-- how: 'succeeded' | 'failed' (retryable) | 'fatal' (non-retryable) | 'expired' | 'timeout' | 'lost'
-- jitter: number in [0,1) used for the retry back-off; server_id: the server that will write
-- the outcome to Postgres.
-- Stores in out[n + 1 .. n + 7]: state, attempt, worker_id, started_ms, due_ms, queue, session_id,
-- where state is the new TaskState name: SUCCEEDED, FAILED (waiting for retry), QUEUED, DEAD or
-- CANCELLED; returns n + 7. The caller must run flush_lease_ends() before it returns.
local function end_lease(id, f, how, jitter, server_id, out, n)
  local k = task_key(id)
  local attempt = tonumber(f[3]) or 0
  ended_count = ended_count + 1
  ended_ids[ended_count] = id
  local sid = f[4]
  if sid then push_to(ended_by_session, sid, id) end
  local state
  local due = 0
  count_state('running', -1)
  local ck = f[9]
  if ck then ended_by_key[ck] = (ended_by_key[ck] or 0) + 1 end
  if f[8] then
    state = 'CANCELLED'
    count_outcome('c')
    mark_terminal(k, 'cancelled', server_id, f[3])
  elseif how == 'succeeded' then
    state = 'SUCCEEDED'
    count_outcome('s')
    mark_terminal(k, 'done', server_id, f[3])
  else
    local d = cjson.decode(redis.call('HGET', k, 'd'))
    if how == 'fatal' or attempt >= (tonumber(d[3]) or 1) then
      state = 'DEAD'
      count_outcome('f')
      mark_terminal(k, 'done', server_id, f[3])
    else
      redis.call('HDEL', k, 'tok', 'w')
      if how == 'failed' then
        local backoff = d[7] * (d[9] ^ (attempt - 1))
        backoff = math.min(backoff, d[8])
        backoff = math.floor(backoff / 2 + backoff / 2 * jitter)
        due = NOW + backoff
        state = 'FAILED'
        count_outcome('f')
        count_state('scheduled', 1)
        redis.call('HSET', k, 'st', 'failed', 'due', due)
        redis.call('ZADD', DELAYED_KEY, due, id)
      else
        state = 'QUEUED'
        redis.call('HSET', k, 'st', 'queued')
        local r = redis.call('HMGET', k, 'sc', 'ty')
        make_ready(id, r[1], r[2] or '', ck)
      end
    end
  end
  out[n + 1] = state
  out[n + 2] = attempt
  out[n + 3] = f[6] or ''
  out[n + 4] = f[7] or '0'
  out[n + 5] = due
  out[n + 6] = f[5] or ''
  out[n + 7] = sid or ''
  return n + 7
end

-- Removes the leases ended by end_lease from the lease deadlines and their sessions' sets, and
-- applies the counter changes.
local function flush_lease_ends()
  flush_counts()
  call_bulk('ZREM', LEASES_KEY, ended_ids)
  for sid, ids in pairs(ended_by_session) do call_bulk('SREM', session_key(sid), ids) end
  release_keys(ended_by_key)
  ended_by_key = {}
end
