-- probe.lua: how the dispatch state stands for tasks Postgres says are unfinished.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, then task ids.
-- Returns {id, kind, attempt} for each task recovery must act on:
--   'absent'    no hash: Redis lost it, or the enqueue after the commit never happened;
--   'lost'      finished here ('done') but the server that was writing the outcome to Postgres
--               is gone (its srv key expired): the outcome is lost, the task must run again;
--   'cancelled' / 'expired'  finished here: Postgres only lacks that terminal state.
-- Tasks that are fine, or whose outcome a live server is still writing, are not returned.
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local f = task_fields(task_key(id), { 'st', 'fs', 'a' })
  if not f[1] then
    out[#out + 1] = { id, 'absent', 0 }
  elseif f[1] == 'cancelled' or f[1] == 'expired' then
    out[#out + 1] = { id, f[1], tonumber(f[3]) or 0 }
  elseif f[1] == 'done' and redis.call('EXISTS', P .. 'srv:' .. (f[2] or '')) == 0 then
    out[#out + 1] = { id, 'lost', tonumber(f[3]) or 0 }
  end
end
return out
