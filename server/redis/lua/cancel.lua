-- cancel.lua: cancels one task of one queue in the dispatch state.
-- KEYS[1..6] the queue's keys (see lib.lua).
-- ARGV[1] the queue's key prefix, ARGV[2] now, ARGV[3] id, ARGV[4] reason
-- Returns {'removed'} (it will not be dispatched), {'running', session_id, lease_token}
-- (its worker must be told), {'finished'} (already terminal), or {'absent'} (not in Redis:
-- a tombstone is left so a late enqueue cannot revive it).
local id = ARGV[3]
local k = task_key(id)
local f = task_fields(k, { 'st', 'q', 'w', 'tok', 'a', 'ty', 'ck' })
local st = f[1]
if not st then
  mark_terminal(k, 'cancelled', '', '0')
  return { 'absent' }
end
if st == 'queued' then
  remove_ready(id, f[6] or '', f[7])
  mark_terminal(k, 'cancelled', '', f[5])
  count_outcome('c')
  flush_counts()
  return { 'removed' }
end
if st == 'scheduled' or st == 'failed' then
  redis.call('ZREM', DELAYED_KEY, id)
  mark_terminal(k, 'cancelled', '', f[5])
  count_state('scheduled', -1)
  count_outcome('c')
  flush_counts()
  return { 'removed' }
end
if st == 'running' then
  redis.call('HSET', k, 'cr', ARGV[4])
  return { 'running', f[3], f[4] }
end
if st == 'cancelled' then return { 'removed' } end
return { 'finished' }
