-- lib.lua: shared prelude, prepended to every script at load time.
-- Every script takes ARGV[1] = key prefix (e.g. "tq:") and ARGV[2] = now (ms since epoch).
-- Keys (derived from the prefix; single Redis instance, scripts are atomic):
--   <P>t:<id>      HASH  task dispatch state: q ty p pf pr a ma bi bm bx to lb ca st tok w wid sa cr due sd fa fs
--   <P>q:<queue>   ZSET  ready tasks, score (100 - priority) * 1e13 + created_ms (lowest first)
--   <P>delayed     ZSET  SCHEDULED and FAILED (back-off) tasks by due time (ms)
--   <P>leases      ZSET  RUNNING tasks by lease deadline (ms)
--   <P>startdl     ZSET  never-started tasks with a start deadline, by that deadline (ms)
--   <P>s:<session> SET   ids of tasks leased to one worker session
--   <P>queues      SET   names of known queues
--   <P>srv:<id>    STRING a live server (expires unless refreshed); <P>servers SET of their ids
-- A finished task's hash keeps fa (finished at, ms) and fs (the server that recorded it) until it
-- expires, so recovery can tell a result still being written to Postgres from one whose writer died.
-- Task hash states (st): queued, scheduled, failed, running, done, cancelled, expired.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local TERMINAL_TTL_S = 600
local TIMEOUT_GRACE_MS = 2000

local function task_key(id) return P .. 't:' .. id end
local function ready_key(q) return P .. 'q:' .. q end
local function session_key(sid) return P .. 's:' .. sid end
local function ready_score(priority, created_ms) return (100 - priority) * 1e13 + created_ms end

-- Lease deadline: now + lease, capped by the attempt's timeout (plus grace) when it has one.
local function lease_deadline(lease_ms, started_ms, timeout_ms)
  local deadline = NOW + lease_ms
  if timeout_ms and timeout_ms > 0 then
    deadline = math.min(deadline, started_ms + timeout_ms + TIMEOUT_GRACE_MS)
  end
  return deadline
end

local function mark_terminal(k, st, server_id)
  redis.call('HSET', k, 'st', st, 'fa', NOW, 'fs', server_id or '')
  redis.call('HDEL', k, 'p', 'tok')
  redis.call('EXPIRE', k, TERMINAL_TTL_S)
end

-- Ends the current lease of task `id`.
-- how: 'succeeded' | 'failed' (retryable) | 'fatal' (non-retryable) | 'expired' | 'timeout' | 'lost'
-- jitter: number in [0,1) used for the retry back-off; server_id: the server that will write
-- the outcome to Postgres.
-- Returns {id, state, attempt, worker_id, started_ms, due_ms, how, queue, session_id, lease_token} where state is the new
-- TaskState name: SUCCEEDED, FAILED (waiting for retry), QUEUED, DEAD or CANCELLED.
local function end_lease(id, how, jitter, server_id)
  local k = task_key(id)
  local f = redis.call('HMGET', k, 'a', 'ma', 'bi', 'bm', 'bx', 'w', 'q', 'pr', 'ca', 'cr', 'wid', 'sa', 'tok')
  local attempt = tonumber(f[1]) or 0
  local max_attempts = tonumber(f[2]) or 1
  redis.call('ZREM', P .. 'leases', id)
  if f[6] then redis.call('SREM', session_key(f[6]), id) end
  redis.call('HDEL', k, 'tok', 'w')
  local state
  local due = 0
  if f[10] then
    state = 'CANCELLED'
  elseif how == 'succeeded' then
    state = 'SUCCEEDED'
  elseif how == 'fatal' or attempt >= max_attempts then
    state = 'DEAD'
  elseif how == 'failed' then
    local backoff = tonumber(f[3]) * (tonumber(f[5]) ^ (attempt - 1))
    backoff = math.min(backoff, tonumber(f[4]))
    backoff = math.floor(backoff / 2 + backoff / 2 * jitter)
    due = NOW + backoff
    state = 'FAILED'
    redis.call('HSET', k, 'st', 'failed', 'due', due)
    redis.call('ZADD', P .. 'delayed', due, id)
  else
    state = 'QUEUED'
    redis.call('HSET', k, 'st', 'queued')
    redis.call('ZADD', ready_key(f[7]), ready_score(tonumber(f[8]), tonumber(f[9])), id)
  end
  if state == 'SUCCEEDED' or state == 'DEAD' then
    mark_terminal(k, 'done', server_id)
  elseif state == 'CANCELLED' then
    mark_terminal(k, 'cancelled', server_id)
  end
  return { id, state, attempt, f[11] or '', tonumber(f[12]) or 0, due, how, f[7] or '', f[6] or '', f[13] or '' }
end
