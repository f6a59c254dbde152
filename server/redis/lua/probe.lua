-- probe.lua: how the dispatch state stands for tasks of one queue Postgres says are unfinished.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, then task ids.
-- Returns {id, kind, attempt, server_id, finished_ms} for each task recovery must act on:
--   'absent'    no hash: Redis lost it, or the enqueue after the commit never happened;
--   'done'      finished here: the fourth value names the server writing the outcome to Postgres
--               (the caller checks that server is alive: if not, the outcome is lost and the
--               task must run again; server liveness keys are cross-queue, so not read here),
--               the fifth is when it finished (ms, that server's clock);
--   'cancelled' / 'expired'  finished here: Postgres only lacks that terminal state.
-- Tasks that are fine are not returned.
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local f = task_fields(task_key(id), { 'st', 'fs', 'a', 'fa' })
  if not f[1] then
    out[#out + 1] = { id, 'absent', 0 }
  elseif f[1] == 'cancelled' or f[1] == 'expired' then
    out[#out + 1] = { id, f[1], tonumber(f[3]) or 0 }
  elseif f[1] == 'done' then
    out[#out + 1] = { id, 'done', tonumber(f[3]) or 0, f[2] or '', f[4] or '0' }
  end
end
return out
