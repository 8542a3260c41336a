/**
 * Lua shared by the job scripts (job.scripts.ts, job-query.scripts.ts): index bookkeeping,
 * expiry, the per-status gauges and the time-bucketed counters. Prepended to each script, so
 * every transition stays one atomic script. The key names they build are listed in
 * job.scripts.ts; `p` is always the key prefix.
 */

/** Upper bounds (ms) of the duration histogram buckets; one more bucket holds everything above. */
export const DURATION_BUCKET_BOUNDS_MS = [
  100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 900_000, 3_600_000,
] as const;

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Minute buckets answer windows up to this long; longer windows read hour buckets. */
export const MINUTE_BUCKETS_MAX_WINDOW_MS = 3 * HOUR_MS;
/** How long a bucket outlives its own minute / hour (then Redis expires it). */
export const MINUTE_BUCKET_KEEP_MS = 4 * HOUR_MS;
export const HOUR_BUCKET_KEEP_MS = 8 * 24 * HOUR_MS;

export const LUA_HELPERS = `
-- The indexes a job with status s, type t and tenant n (maybe '') is a member of: every
-- combination of the three filters the API accepts, so any filtered list is one ZRANGE.
local function index_keys(p, s, t, n)
  local keys = {p .. 'idx:all', p .. 'idx:s=' .. s, p .. 'idx:t=' .. t, p .. 'idx:s=' .. s .. ':t=' .. t}
  if n and n ~= '' then
    keys[5] = p .. 'idx:n=' .. n
    keys[6] = p .. 'idx:s=' .. s .. ':n=' .. n
    keys[7] = p .. 'idx:t=' .. t .. ':n=' .. n
    keys[8] = p .. 'idx:s=' .. s .. ':t=' .. t .. ':n=' .. n
  end
  return keys
end

-- Moves a job from the indexes of 'before' to those of 'after' ({s, t, n}; either may be nil),
-- touching only the keys that differ.
local function reindex(p, id, score, before, after)
  local old = before and index_keys(p, before.s, before.t, before.n) or {}
  local new = after and index_keys(p, after.s, after.t, after.n) or {}
  local wanted, had = {}, {}
  for _, key in ipairs(new) do wanted[key] = true end
  for _, key in ipairs(old) do
    had[key] = true
    if not wanted[key] then redis.call('ZREM', key, id) end
  end
  for _, key in ipairs(new) do
    if not had[key] then redis.call('ZADD', key, score, id) end
  end
end

-- The source-key index: one lexically ordered set, member = key NUL id.
local function key_member(key, id) return key .. '\\0' .. id end

-- Every change pushes the job's expiry to now + ttl; the sweep removes what is due.
local function touch(p, id, now, ttlMs) redis.call('ZADD', p .. 'expiry', now + ttlMs, id) end

-- Jobs per status in the store (what the console shows as waiting and running).
local function gauge(p, from, to)
  if from then redis.call('HINCRBY', p .. 'stats:now', from, -1) end
  if to then redis.call('HINCRBY', p .. 'stats:now', to, 1) end
end

local function buckets(p, now)
  local m, h = math.floor(now / ${MINUTE_MS}), math.floor(now / ${HOUR_MS})
  return {{p .. 'stats:m:' .. m, (m + 1) * ${MINUTE_MS} + ${MINUTE_BUCKET_KEEP_MS}}, {p .. 'stats:h:' .. h, (h + 1) * ${HOUR_MS} + ${HOUR_BUCKET_KEEP_MS}}}
end

-- Adds to counters of the minute and the hour of 'now': fields = {name, by, name, by, ...}.
local function count(p, now, fields)
  for _, bucket in ipairs(buckets(p, now)) do
    for i = 1, #fields, 2 do redis.call('HINCRBY', bucket[1], fields[i], fields[i + 1]) end
    redis.call('PEXPIREAT', bucket[1], bucket[2])
  end
end

local DURATION_BOUNDS = {${DURATION_BUCKET_BOUNDS_MS.join(", ")}}
-- One duration observation: count, sum, min, max and a histogram bucket, per minute and hour.
local function observe(p, now, name, ms)
  ms = math.max(0, math.floor(ms))
  local slot = #DURATION_BOUNDS + 1
  for i, bound in ipairs(DURATION_BOUNDS) do
    if ms <= bound then slot = i break end
  end
  for _, bucket in ipairs(buckets(p, now)) do
    local key = bucket[1]
    redis.call('HINCRBY', key, name .. ':n', 1)
    redis.call('HINCRBY', key, name .. ':sum', ms)
    redis.call('HINCRBY', key, name .. ':b' .. slot, 1)
    local min = tonumber(redis.call('HGET', key, name .. ':min'))
    if not min or ms < min then redis.call('HSET', key, name .. ':min', ms) end
    local max = tonumber(redis.call('HGET', key, name .. ':max'))
    if not max or ms > max then redis.call('HSET', key, name .. ':max', ms) end
    redis.call('PEXPIREAT', key, bucket[2])
  end
end

local function entry(timeline, iso, event, detail)
  redis.call('RPUSH', timeline, cjson.encode({at = iso, event = event, detail = detail}))
end

local function is_terminal(status) return status == 'completed' or status == 'failed' or status == 'cancelled' end

-- Deletes one job with everything that names it: hash, timeline, lease, every index entry, its
-- gauge and its expiry entry. f is HMGET status, type, tenantId, source (f[1] nil: the hash is gone).
local function drop_job(p, id, f)
  if f[1] then
    reindex(p, id, 0, {s = f[1], t = f[2] or 'pending', n = f[3] or ''}, nil)
    local ok, source = pcall(cjson.decode, f[4] or '{}')
    if ok and type(source) == 'table' and type(source.key) == 'string' then redis.call('ZREM', p .. 'idx:key', key_member(source.key, id)) end
    gauge(p, f[1], nil)
  end
  local job = p .. 'job:' .. id
  redis.call('DEL', job, job .. ':timeline', p .. 'lease:' .. id)
  redis.call('ZREM', p .. 'expiry', id)
end
`;
