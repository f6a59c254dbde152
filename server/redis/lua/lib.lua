-- lib.lua: shared prelude, prepended to every script at load time.
-- Every script works on ONE queue, and every key it touches carries that queue's hash tag, so
-- that one script call touches one hash slot (Redis Cluster, key-based ACLs). Key names are
-- built in server/redis/keys.ts. Every script takes:
--   KEYS[1] <Q>ready    ZSET  ready tasks, score (100 - priority) * 1e13 + created_ms (lowest first)
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
--   <Q>t:<id>      HASH  task dispatch state (fields below)
--   <Q>s:<session> SET   ids of this queue's tasks leased to one worker session
--   <Q>m:<minute>  HASH  attempts ended in that minute (ms // 60000): s succeeded, f failed
--                        (retryable or dead-lettered), c cancelled; expires after 16 min
-- Cross-queue keys ({<prefix>}:queues, servers, srv:<id>, node:<id>, layout, epoch) are never
-- touched by a script: the server reaches them with plain, pipelined commands.
-- Task hash fields:
--   q queue, sc ready score, a attempts made, st state, p payload,
--   d descriptor: the JSON array [type, payload_format, max_attempts, timeout_ms, created_ms,
--     labels, backoff_initial_ms, backoff_max_ms, backoff_multiplier] (written by the server,
--     returned as is by lease.lua; read here only when an attempt ends other than by success),
--   to timeout ms (only when > 0), due (SCHEDULED/FAILED), sd start deadline (never started yet),
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
local READY_KEY, DELAYED_KEY, LEASES_KEY, STARTDL_KEY, COUNTS_KEY, PAUSED_KEY = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local TERMINAL_TTL_S = '600'
local TIMEOUT_GRACE_MS = 2000
-- Members per variadic call (Lua's unpack is limited to a few thousand values).
local CHUNK = 4000

local function task_key(id) return P .. 't:' .. id end
local function session_key(sid) return P .. 's:' .. sid end
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

-- Runs `cmd key ...items` over a flat list of members (or score/member pairs), in chunks.
local function call_bulk(cmd, key, items)
  local n = #items
  for i = 1, n, CHUNK do
    redis.call(cmd, key, unpack(items, i, math.min(i + CHUNK - 1, n)))
  end
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
local LEASE_FIELDS = { 'st', 'tok', 'a', 'w', 'q', 'wid', 'sa', 'cr' }
local function lease_fields(k)
  return task_fields(k, LEASE_FIELDS)
end

-- Leases ended in this script call; their set memberships are removed once, at the end.
local ended_ids = {}
local ended_count = 0
local ended_by_session = {}

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
        redis.call('ZADD', READY_KEY, redis.call('HGET', k, 'sc'), id)
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
end
