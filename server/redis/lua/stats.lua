-- stats.lua: the dispatch-side figures of one queue (reads only).
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now.
-- Returns an array of 48 values:
--   queued (the key-less ready sets' cardinalities, over the types, plus the 'keyed' counter),
--   running, scheduled (the counters), oldest queued
--   created_ms (-1 when none is queued), paused (1 or 0), then s, f, c over the last 1, 5 and
--   15 minute buckets (the current minute counts as the first), then 15 pairs s, f: each minute's
--   bucket, from the current minute back; then the ready tasks of keys parked at the per-key
--   limit, how many keys are parked, and the rate limit's bucket: tokens (a string) and when
--   counted (ms), '-1' each when there is none.
-- The oldest queued task of keyed tasks is looked for among the first task of at most 100 keys
-- of each type's ring and of the parked keys (an estimate when more keys have ready tasks).
-- Ready scores are (100 - priority) * 1e13 + created_ms, so the lowest score is the oldest task
-- of the highest priority only; the oldest overall is the lowest created_ms among the first
-- member of each priority band present (one lookup per band and type).
local BAND = 1e13
local MINUTE = math.floor(NOW / 60000)
local types, rings = {}, {}
for _, t in ipairs(redis.call('SMEMBERS', TYPES_KEY)) do
  if string.byte(t, 1) == 126 then rings[#rings + 1] = string.sub(t, 2) else types[#types + 1] = t end
end
local row = { 0 }
for _, ty in ipairs(types) do row[1] = row[1] + redis.call('ZCARD', ready_key(ty)) end
local counts = redis.call('HMGET', COUNTS_KEY, 'running', 'scheduled', 'keyed')
row[2] = tonumber(counts[1]) or 0
row[3] = tonumber(counts[2]) or 0
row[1] = row[1] + math.max(0, tonumber(counts[3]) or 0)
local oldest = -1
-- Counts the first ready task of type ty and key ck in the oldest estimate; returns how many
-- ready tasks that key has of that type.
local function keyed_head(ty, ck)
  local rk = keyed_ready_key(ty, ck)
  local first = redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')
  if not first[2] then return 0 end
  local score = tonumber(first[2])
  local created = score - math.floor(score / BAND) * BAND
  if oldest < 0 or created < oldest then oldest = created end
  return redis.call('ZCARD', rk)
end
for _, ty in ipairs(rings) do
  for _, ck in ipairs(redis.call('ZRANGE', ring_key(ty), 0, 99)) do keyed_head(ty, ck) end
end
-- Keys parked at the per-key limit and their ready tasks (at most 1000 keys looked at).
local held, parked_keys = 0, 0
local cursor = '0'
repeat
  local page = redis.call('HSCAN', KP_KEY, cursor, 'COUNT', 100)
  cursor = page[1]
  for i = 1, #page[2], 2 do
    parked_keys = parked_keys + 1
    for ty in string.gmatch(page[2][i + 1], '%S+') do held = held + keyed_head(ty, page[2][i]) end
  end
until cursor == '0' or parked_keys >= 1000
for _, ty in ipairs(types) do
  local rk = ready_key(ty)
  local first = redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')
  local bands = 0
  while #first > 0 and bands < 1000 do
    bands = bands + 1
    local score = tonumber(first[2])
    local band = math.floor(score / BAND)
    local created = score - band * BAND
    if oldest < 0 or created < oldest then oldest = created end
    first = redis.call('ZRANGEBYSCORE', rk, string.format('%d', (band + 1) * BAND), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  end
end
row[4] = oldest
row[5] = redis.call('EXISTS', PAUSED_KEY)
local totals = { 0, 0, 0 }
local at = 6
local minutes = {}
for m = 0, 14 do
  local v = redis.call('HMGET', P .. 'm:' .. string.format('%d', MINUTE - m), 's', 'f', 'c')
  for j = 1, 3 do totals[j] = totals[j] + (tonumber(v[j]) or 0) end
  minutes[2 * m + 1] = tonumber(v[1]) or 0
  minutes[2 * m + 2] = tonumber(v[2]) or 0
  if m == 0 or m == 4 or m == 14 then
    for j = 1, 3 do row[at + j - 1] = totals[j] end
    at = at + 3
  end
end
for i = 1, 30 do row[14 + i] = minutes[i] end
row[45] = held
row[46] = parked_keys
local bucket = redis.call('HMGET', P .. 'rate', 'tk', 'ts')
row[47] = bucket[1] or '-1'
row[48] = bucket[2] or '-1'
return row
