import { LuaScript } from "../jobs/lua-script.ts";

/**
 * Fair share's Redis state, per lane (P = REDIS_KEY_PREFIX):
 *   P lane:{lane}:running  ZSET  "<slotId>|<tenant>" scored by the slot's expiry (epoch ms); a
 *                                running job refreshes its slot, so a worker that dies holding
 *                                slots frees them when they expire
 *   P lane:{lane}:seen     ZSET  tenant scored by when one of its messages was last seen (ms);
 *                                entries older than FAIR_SHARE_WINDOW no longer count as active
 *   P lane:{lane}:waiting  ZSET  tenant scored by its deferred messages not yet back (the
 *                                "top tenants by waiting work" view)
 *   P lane:{lane}:starts   ZSET  "<slotId>|<tenant>" scored by when that slot was taken (ms); kept
 *                                for FAIR_SHARE_WINDOW: each tenant's recent use of the lane, which
 *                                decides whose held message starts next (USAGE)
 * Every key expires after a quiet spell, so an idle lane leaves nothing behind.
 */
export type FairShareKeys = [running: string, seen: string, waiting: string, starts: string];

export function fairShareKeys(prefix: string, lane: string): FairShareKeys {
  const base = `${prefix}lane:${lane}:`;
  return [`${base}running`, `${base}seen`, `${base}waiting`, `${base}starts`];
}

/**
 * ADMIT: KEYS running, seen, waiting, starts · ARGV nowMs, tenant, slotId, slotTtlMs, capacity, windowMs,
 * mayDefer (1|0), returning (1: a deferred message came back)
 * Drops expired slots and stale tenants, marks the tenant seen, then either takes a slot
 * (returns {1, mine, shareMilli}) or defers (returns {0, mine, shareMilli}). Share = capacity /
 * active tenants (seen in the window or running). Defers only when the tenant already holds at
 * least its share AND another active tenant holds less than its share: a lone tenant, or one
 * whose neighbours are all at their share, always runs.
 */
export const admitScript = new LuaScript(`
local running, seen, waiting, starts = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, tenant, slot = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local ttl, capacity, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local mayDefer, returning = ARGV[7] == '1', ARGV[8] == '1'
redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
redis.call('ZREMRANGEBYSCORE', seen, '-inf', now - window)
if returning then
  local left = tonumber(redis.call('ZINCRBY', waiting, -1, tenant))
  if left <= 0 then redis.call('ZREM', waiting, tenant) end
end
redis.call('ZADD', seen, now, tenant)
local counts, active = {}, {}
for _, member in ipairs(redis.call('ZRANGE', running, 0, -1)) do
  local bar = string.find(member, '|', 1, true)
  local owner = string.sub(member, bar + 1)
  counts[owner] = (counts[owner] or 0) + 1
  active[owner] = true
end
for _, owner in ipairs(redis.call('ZRANGE', seen, 0, -1)) do active[owner] = true end
local tenants = 0
for _ in pairs(active) do tenants = tenants + 1 end
local share = capacity / tenants
local mine = counts[tenant] or 0
local keep = math.max(window, ttl) * 2
local defer = false
if mayDefer and mine >= share then
  for owner in pairs(active) do
    if owner ~= tenant and (counts[owner] or 0) < share then defer = true break end
  end
end
if defer then
  redis.call('ZINCRBY', waiting, 1, tenant)
  redis.call('PEXPIRE', waiting, keep)
else
  redis.call('ZADD', running, now + ttl, slot .. '|' .. tenant)
  redis.call('PEXPIRE', running, keep)
  redis.call('ZREMRANGEBYSCORE', starts, '-inf', now - window)
  redis.call('ZADD', starts, now, slot .. '|' .. tenant)
  redis.call('PEXPIRE', starts, keep)
end
redis.call('PEXPIRE', seen, keep)
return {defer and 0 or 1, mine, math.floor(share * 1000)}
`);

/**
 * USAGE: KEYS running, seen, starts · ARGV nowMs, windowMs, slotTtlMs, tenant… (the tenants of
 * the messages a worker holds). Marks each as seen (it has work waiting: active for the deferral
 * rule on every worker of the lane) and returns, per tenant in ARGV order, its running slots and
 * its slots taken within the window: {running1, started1, running2, started2, …}.
 */
export const usageScript = new LuaScript(`
local running, seen, starts = KEYS[1], KEYS[2], KEYS[3]
local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', running, '-inf', now)
redis.call('ZREMRANGEBYSCORE', starts, '-inf', now - window)
local runs, recent = {}, {}
for _, member in ipairs(redis.call('ZRANGE', running, 0, -1)) do
  local owner = string.sub(member, string.find(member, '|', 1, true) + 1)
  runs[owner] = (runs[owner] or 0) + 1
end
for _, member in ipairs(redis.call('ZRANGE', starts, 0, -1)) do
  local owner = string.sub(member, string.find(member, '|', 1, true) + 1)
  recent[owner] = (recent[owner] or 0) + 1
end
local result = {}
for i = 4, #ARGV do
  redis.call('ZADD', seen, now, ARGV[i])
  result[#result + 1] = runs[ARGV[i]] or 0
  result[#result + 1] = recent[ARGV[i]] or 0
end
redis.call('PEXPIRE', seen, math.max(window, ttl) * 2)
return result
`);

/** REFRESH: KEYS running · ARGV member, expiryMs. Extends a slot still held (XX: a released one stays gone). */
export const refreshSlotScript = new LuaScript(`
return redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[2], ARGV[1])
`);
