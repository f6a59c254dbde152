-- forget.lua: removes the dispatch state of tasks of one queue that Postgres already has
-- finished (a failover lost the writes that ended them here: a fenced result, a cancel), so
-- that they neither run again nor hold running slots.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] leases started at or after this (ms)
--   are left alone ('' for none), then triples: id, the marker state it ends in ('done',
--   'cancelled' or 'expired'), the attempts Postgres has for it.
-- A task is left alone when its hash is missing or already a finished marker, or when it has
-- made more attempts here than Postgres has, or is leased since ARGV[3] (the new master's
-- time): it is running again already (its lease expired during the failover, was reaped and
-- leased anew), and its attempt is let end as any other so that its attempt row gets its
-- outcome. A queued or
-- delayed one leaves its ready or delayed set; a leased one leaves the lease deadlines and its
-- session's set and gives back its running (and concurrency key) slot. Each ends as a finished
-- marker naming no writer: should Postgres turn out to want it again (a re-drive racing this
-- call), the next full recovery sweep finds it 'lost' and enqueues it.
-- Returns how many tasks were removed.
local removed = 0
local leased_before = tonumber(ARGV[3])
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local k = task_key(id)
  local f = lease_fields(k)
  local st = f[1]
  local forget = true
  if (tonumber(f[3]) or 0) > tonumber(ARGV[i + 2]) then
    forget = false
  elseif st == 'running' and leased_before and (tonumber(f[7]) or 0) >= leased_before then
    forget = false
  elseif st == 'queued' then
    remove_ready(id, redis.call('HGET', k, 'ty') or '', f[9])
  elseif st == 'scheduled' or st == 'failed' then
    redis.call('ZREM', DELAYED_KEY, id)
    count_state('scheduled', -1)
  elseif st == 'running' then
    ended_count = ended_count + 1
    ended_ids[ended_count] = id
    if f[4] then push_to(ended_by_session, f[4], id) end
    count_state('running', -1)
    if f[9] then ended_by_key[f[9]] = (ended_by_key[f[9]] or 0) + 1 end
  else
    forget = false
  end
  if forget then
    redis.call('ZREM', STARTDL_KEY, id)
    mark_terminal(k, ARGV[i + 1], '', f[3])
    removed = removed + 1
  end
end
flush_lease_ends()
return removed
