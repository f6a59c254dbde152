-- probe.lua: which of the given tasks are absent from the dispatch state.
-- KEYS: none (keys derive from the prefix, see lib.lua).
-- ARGV[1] prefix, ARGV[2] now, then task ids.
-- Returns the ids that have no task hash.
local out = {}
for i = 3, #ARGV do
  if redis.call('EXISTS', task_key(ARGV[i])) == 0 then out[#out + 1] = ARGV[i] end
end
return out
