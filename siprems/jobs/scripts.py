"""Every job state transition as one Lua script, so each runs atomically on the
queue Redis (a single instance, not Cluster: scripts build per-id keys from
the prefixes in `siprems.keys`, passed as the first six arguments).

Timestamps come from Redis `TIME` (microseconds, as strings), so records
written by different machines share one clock.
"""

from __future__ import annotations

from siprems import keys

# ARGV[1..6] of every job script.
PREFIX_ARGS = [
    keys.job_record(""),
    keys.job_stream(""),
    keys.job_dead_letters(""),
    keys.job_store_active(""),
    keys.job_children(""),
    keys.JOBS_DELAYED,
]
DEAD_LETTER_MAXLEN = 10_000

# Scripts that finish, cancel or renew must run even when the queue Redis is
# full (maxmemory + noeviction): they are how memory gets freed. Without this
# flag Redis refuses a script's first write once memory is over the limit.
# Enqueue, move-due and redrive keep the default, so a full queue refuses new work.
ALLOW_OOM = "#!lua flags=allow-oom\n"

_PREAMBLE = (
    """
local P_REC, P_STREAM, P_DEAD, P_ACTIVE, P_CHILD, DELAYED = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]

local function now_us()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end
local function ms_of(us) return math.floor(tonumber(us) / 1000) end
local function int(x) return string.format('%d', x) end
local function is_finished(state)
  return state == 'SUCCESS' or state == 'FAILURE' or state == 'REVOKED'
end

local terminal  -- forward: a parent completes from its last child's terminal transition

local function maybe_complete_parent(pid, now, ttl)
  local pkey = P_REC .. pid
  local f = redis.call('HMGET', pkey, 'state', 'sealed', 'children_ok', 'children_failed', 'children_revoked')
  if f[1] ~= 'STARTED' or f[2] ~= '1' then return end
  local total = redis.call('SCARD', P_CHILD .. pid)
  local ok, failed, revoked = tonumber(f[3]) or 0, tonumber(f[4]) or 0, tonumber(f[5]) or 0
  local done = ok + failed + revoked
  local progress = 100
  if total > 0 then progress = math.floor(done * 100 / total) end
  redis.call('HSET', pkey, 'progress', progress, 'children_total', total)
  if done < total then return end
  local result = cjson.encode({total = total, succeeded = ok, failed = failed, revoked = revoked})
  if failed > 0 then
    terminal(pkey, 'FAILURE', now, ttl, {'result', result, 'error', failed .. ' of ' .. total .. ' child jobs failed'})
  else
    terminal(pkey, 'SUCCESS', now, ttl, {'result', result})
  end
end

terminal = function(key, state, now, ttl, fields)
  redis.call('HSET', key, 'state', state, 'finished_at', now, 'entry', '', unpack(fields))
  if state == 'SUCCESS' then redis.call('HSET', key, 'progress', 100) end
  local f = redis.call('HMGET', key, 'id', 'store_id', 'parent_id', 'result_ttl')
  local keep = ttl  -- the job's own result TTL (scheduled occurrences) wins over the default
  if f[4] and f[4] ~= '' then keep = f[4] end
  redis.call('EXPIRE', key, keep)
  redis.call('ZREM', P_ACTIVE .. f[2], f[1])
  redis.call('ZREM', DELAYED, f[1])
  if redis.call('EXISTS', P_CHILD .. f[1]) == 1 then redis.call('EXPIRE', P_CHILD .. f[1], keep) end
  if f[3] and f[3] ~= '' then
    local pkey = P_REC .. f[3]
    local pstate = redis.call('HGET', pkey, 'state')
    if pstate and not is_finished(pstate) then
      local counter = 'children_revoked'
      if state == 'SUCCESS' then counter = 'children_ok' elseif state == 'FAILURE' then counter = 'children_failed' end
      redis.call('HINCRBY', pkey, counter, 1)
      maybe_complete_parent(f[3], now, ttl)
    end
  end
end

-- REVOKED, and the same for its unfinished children (running ones get the cancel flag).
local function revoke(key, now, ttl, message)
  terminal(key, 'REVOKED', now, ttl, {'message', message, 'cancel', '1'})
  local id = redis.call('HGET', key, 'id')
  for _, cid in ipairs(redis.call('SMEMBERS', P_CHILD .. id)) do
    local ckey = P_REC .. cid
    local cstate = redis.call('HGET', ckey, 'state')
    if cstate == 'PENDING' or cstate == 'RETRY' then
      terminal(ckey, 'REVOKED', now, ttl, {'message', 'Cancelled with its parent job', 'cancel', '1'})
    elseif cstate == 'STARTED' then
      redis.call('HSET', ckey, 'cancel', '1')
    end
  end
end

local function dead_letter(queue, key, eid, reason, err, deliveries, now)
  local f = redis.call('HMGET', key, 'id', 'type', 'store_id', 'args')
  redis.call('XADD', P_DEAD .. queue, 'MAXLEN', '~', '"""
    + str(DEAD_LETTER_MAXLEN)
    + """', '*',
    'job_id', f[1] or '', 'type', f[2] or '', 'store_id', f[3] or '', 'args', f[4] or '{}',
    'reason', reason, 'error', err, 'deliveries', deliveries, 'entry', eid, 'failed_at', now)
end
"""
)

# ARGV[7..]: job id, type, queue, store id, args JSON, max retries, due (ms, 0 = now),
# idempotency key ('' = none), idempotency TTL, parent id, cron fire key ('' = none), fire TTL,
# result TTL once finished ('' = the worker's default).
# Returns {job id, 1 if created else 0}.
ENQUEUE = (
    _PREAMBLE
    + """
local id, jtype, queue, store, args = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local max_retries, due, idem, idem_ttl = ARGV[12], tonumber(ARGV[13]), ARGV[14], ARGV[15]
local parent, fire, fire_ttl, result_ttl = ARGV[16], ARGV[17], ARGV[18], ARGV[19]
if idem ~= '' then
  local existing = redis.call('GET', idem)
  if existing and redis.call('EXISTS', P_REC .. existing) == 1 then return {existing, 0} end
end
local key = P_REC .. id
if redis.call('EXISTS', key) == 1 then return {id, 0} end
if fire ~= '' and not redis.call('SET', fire, id, 'NX', 'EX', fire_ttl) then
  return {redis.call('GET', fire), 0}
end
local now = now_us()
local now_ms = ms_of(now)
redis.call('HSET', key, 'id', id, 'type', jtype, 'queue', queue, 'store_id', store, 'args', args,
  'state', 'PENDING', 'attempts', 0, 'failures', 0, 'max_retries', max_retries, 'created_at', now,
  'progress', 0, 'parent_id', parent, 'idempotency_key', idem, 'result_ttl', result_ttl)
redis.call('ZADD', P_ACTIVE .. store, int(now_ms), id)
if parent ~= '' then redis.call('SADD', P_CHILD .. parent, id) end
if idem ~= '' then redis.call('SET', idem, id, 'EX', idem_ttl) end
if due > now_ms then
  redis.call('HSET', key, 'due_at', int(due) .. '000')
  redis.call('ZADD', DELAYED, int(due), id)
else
  local eid = redis.call('XADD', P_STREAM .. queue, '*', 'id', id, 'type', jtype)
  redis.call('HSET', key, 'entry', eid, 'enqueued_at', now)
end
return {id, 1}
"""
)

# ARGV[7..]: queue, group, consumer, max deliveries (0: fresh entries, skip the
# check), result TTL, then (entry id, job id) pairs. Returns one row per entry:
# {entry, 'RUN', job id, type, args, store, attempts, failures, max retries, parent}
# or {entry, verdict, job id} for entries acknowledged without running.
START_BATCH = (
    ALLOW_OOM
    + _PREAMBLE
    + """
local queue, group, consumer, maxd, ttl = ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10]), ARGV[11]
local stream = P_STREAM .. queue
local now = now_us()
local out = {}
for i = 12, #ARGV, 2 do
  local eid, jid = ARGV[i], ARGV[i + 1]
  local key = P_REC .. jid
  local f = redis.call('HMGET', key, 'state', 'entry', 'cancel')
  local verdict = nil
  if not f[1] then verdict = 'MISSING'
  elseif is_finished(f[1]) then verdict = f[1]
  elseif f[2] ~= eid then verdict = 'STALE'
  elseif f[3] == '1' then revoke(key, now, ttl, 'Cancelled'); verdict = 'REVOKED'
  elseif maxd > 0 then
    local p = redis.call('XPENDING', stream, group, eid, eid, 1)
    local n = 0
    if p[1] then n = tonumber(p[1][4]) end
    if n > maxd then
      local err = 'Delivered ' .. n .. ' times without finishing (did a worker die running it?)'
      dead_letter(queue, key, eid, 'max_deliveries', err, n, now)
      terminal(key, 'FAILURE', now, ttl, {'error', err})
      verdict = 'DEAD'
    end
  end
  if verdict then
    redis.call('XACK', stream, group, eid)
    redis.call('XDEL', stream, eid)
    out[#out + 1] = {eid, verdict, jid}
  else
    local attempts = redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('HSET', key, 'state', 'STARTED', 'started_at', now, 'worker', consumer)
    local r = redis.call('HMGET', key, 'type', 'args', 'store_id', 'failures', 'max_retries', 'parent_id')
    out[#out + 1] = {eid, 'RUN', jid, r[1] or '', r[2] or '{}', r[3] or '0', tostring(attempts),
      r[4] or '0', r[5] or '0', r[6] or ''}
  end
end
return out
"""
)

# ARGV[7..]: queue, group, result TTL, then groups of five: entry id, job id,
# outcome, a, b. Outcomes: SUCCESS (a = result JSON), FAILURE (a = error,
# b = traceback), RETRY (a = error, b = delay ms), REVOKED (a = message),
# WAIT (fan-out parent waits for its children; a = message), RELEASE (hand
# back to the queue; a = message). Only the current entry of a STARTED job
# changes state; every entry is acknowledged and deleted.
FINISH_BATCH = (
    ALLOW_OOM
    + _PREAMBLE
    + """
local queue, group, ttl = ARGV[7], ARGV[8], ARGV[9]
local stream = P_STREAM .. queue
local now = now_us()
local changed = 0
for i = 10, #ARGV, 5 do
  local eid, jid, outcome, a, b = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local key = P_REC .. jid
  local f = redis.call('HMGET', key, 'state', 'entry')
  if f[1] == 'STARTED' and f[2] == eid then
    changed = changed + 1
    if outcome == 'SUCCESS' then
      terminal(key, 'SUCCESS', now, ttl, {'result', a, 'error', ''})
    elseif outcome == 'FAILURE' then
      dead_letter(queue, key, eid, 'failed', a, '', now)
      terminal(key, 'FAILURE', now, ttl, {'error', a, 'traceback', b})
    elseif outcome == 'RETRY' then
      local due = ms_of(now) + tonumber(b)
      redis.call('HINCRBY', key, 'failures', 1)
      redis.call('HSET', key, 'state', 'RETRY', 'error', a, 'due_at', int(due) .. '000', 'entry', '',
        'last_delay_ms', b)
      redis.call('ZADD', DELAYED, int(due), jid)
    elseif outcome == 'REVOKED' then
      revoke(key, now, ttl, a)
    elseif outcome == 'WAIT' then
      redis.call('HSET', key, 'message', a, 'entry', '')
    elseif outcome == 'RELEASE' then
      local neid = redis.call('XADD', stream, '*', 'id', jid, 'type', redis.call('HGET', key, 'type'))
      redis.call('HSET', key, 'state', 'PENDING', 'entry', neid, 'enqueued_at', now, 'message', a)
    end
  end
  redis.call('XACK', stream, group, eid)
  redis.call('XDEL', stream, eid)
end
return changed
"""
)

# ARGV[7..]: limit. Moves due jobs from the delayed set into their streams.
# Returns {moved, next due time in ms or ''}.
MOVE_DUE = (
    _PREAMBLE
    + """
local now = now_us()
local ids = redis.call('ZRANGEBYSCORE', DELAYED, '-inf', int(ms_of(now)), 'LIMIT', 0, tonumber(ARGV[7]))
for _, jid in ipairs(ids) do
  redis.call('ZREM', DELAYED, jid)
  local key = P_REC .. jid
  local f = redis.call('HMGET', key, 'state', 'queue', 'type')
  if f[1] == 'PENDING' or f[1] == 'RETRY' then
    local eid = redis.call('XADD', P_STREAM .. f[2], '*', 'id', jid, 'type', f[3])
    redis.call('HSET', key, 'entry', eid, 'enqueued_at', now)
  end
end
local nxt = redis.call('ZRANGE', DELAYED, 0, 0, 'WITHSCORES')
return {#ids, nxt[2] or ''}
"""
)

# ARGV[7..]: job id, store id ('' = any store), result TTL.
# Returns {outcome, state}: MISSING, FINISHED, REVOKED or CANCELLING.
CANCEL = (
    ALLOW_OOM
    + _PREAMBLE
    + """
local key = P_REC .. ARGV[7]
local f = redis.call('HMGET', key, 'state', 'store_id', 'sealed')
if not f[1] or (ARGV[8] ~= '' and f[2] ~= ARGV[8]) then return {'MISSING', ''} end
if is_finished(f[1]) then return {'FINISHED', f[1]} end
if f[1] == 'PENDING' or f[1] == 'RETRY' then
  revoke(key, now_us(), ARGV[9], 'Cancelled before it started')
  return {'REVOKED', 'REVOKED'}
end
if f[3] == '1' then  -- a fan-out parent waiting for its children: nothing of its own runs
  revoke(key, now_us(), ARGV[9], 'Cancelled while its child jobs ran')
  return {'REVOKED', 'REVOKED'}
end
redis.call('HSET', key, 'cancel', '1')
return {'CANCELLING', f[1]}
"""
)

# ARGV[7..]: parent job id, result TTL. The parent has enqueued all its
# children; it completes when they have all finished (maybe right now).
SEAL_PARENT = (
    ALLOW_OOM
    + _PREAMBLE
    + """
local key = P_REC .. ARGV[7]
local state = redis.call('HGET', key, 'state')
if state ~= 'STARTED' then return state or 'MISSING' end
redis.call('HSET', key, 'sealed', '1', 'children_total', redis.call('SCARD', P_CHILD .. ARGV[7]))
maybe_complete_parent(ARGV[7], now_us(), ARGV[8])
return redis.call('HGET', key, 'state')
"""
)

# ARGV[7..]: queue, dead-letter entry id, max retries for the job type ('' = keep).
# Puts a dead job back into its stream as PENDING. Returns {outcome, job id}.
REDRIVE = (
    _PREAMBLE
    + """
local queue, eid = ARGV[7], ARGV[8]
local r = redis.call('XRANGE', P_DEAD .. queue, eid, eid)
if #r == 0 then return {'MISSING', ''} end
local d = {}
for i = 1, #r[1][2], 2 do d[r[1][2][i]] = r[1][2][i + 1] end
local jid = d['job_id']
local key = P_REC .. jid
local state = redis.call('HGET', key, 'state')
if state and not is_finished(state) then return {'ACTIVE', jid} end
local now = now_us()
if not state then
  redis.call('HSET', key, 'id', jid, 'type', d['type'], 'queue', queue, 'store_id', d['store_id'],
    'args', d['args'], 'created_at', now, 'attempts', 0, 'parent_id', '')
end
redis.call('PERSIST', key)
redis.call('HDEL', key, 'finished_at', 'result', 'error', 'traceback', 'due_at')
redis.call('HSET', key, 'state', 'PENDING', 'failures', 0, 'cancel', 0, 'progress', 0,
  'message', 'Re-driven from the dead-letter stream')
if ARGV[9] ~= '' then redis.call('HSET', key, 'max_retries', ARGV[9])
elseif not redis.call('HGET', key, 'max_retries') then redis.call('HSET', key, 'max_retries', 0) end
redis.call('ZADD', P_ACTIVE .. redis.call('HGET', key, 'store_id'), int(ms_of(now)), jid)
local neid = redis.call('XADD', P_STREAM .. queue, '*', 'id', jid, 'type', d['type'])
redis.call('HSET', key, 'entry', neid, 'enqueued_at', now)
redis.call('XDEL', P_DEAD .. queue, eid)
return {'REDRIVEN', jid}
"""
)

# Not a job script (no prefixes). ARGV: stream, group, consumer, entry ids.
# Renews the lease (idle time) of the entries this consumer still owns, with
# XCLAIM JUSTID (no delivery-count bump); returns the ids it no longer owns.
RENEW = (
    ALLOW_OOM
    + """
local owned, lost = {}, {}
for i = 4, #ARGV do
  local p = redis.call('XPENDING', ARGV[1], ARGV[2], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[3] then owned[#owned + 1] = ARGV[i] else lost[#lost + 1] = ARGV[i] end
end
if #owned > 0 then
  owned[#owned + 1] = 'JUSTID'
  redis.call('XCLAIM', ARGV[1], ARGV[2], ARGV[3], 0, unpack(owned))
end
return lost
"""
)

# ARGV: stream, group, min idle ms. Removes consumers (dead workers) that own
# no pending entry and have been silent longer than min idle; returns names.
PRUNE_CONSUMERS = (
    ALLOW_OOM
    + """
local removed = {}
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', ARGV[1], ARGV[2])) do
  local m = {}
  for i = 1, #c, 2 do m[c[i]] = c[i + 1] end
  if tonumber(m['pending']) == 0 and tonumber(m['idle']) > tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', ARGV[1], ARGV[2], m['name'])
    removed[#removed + 1] = m['name']
  end
end
return removed
"""
)

# KEYS[1]: a cron "last handled occurrence" key; ARGV[1]: unix seconds. Only raises it.
RAISE_TO = """
local cur = redis.call('GET', KEYS[1])
if not cur or tonumber(cur) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('GET', KEYS[1])
"""
