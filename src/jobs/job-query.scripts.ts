import { LUA_HELPERS } from "./lua-helpers.ts";
import { LuaScript } from "./lua-script.ts";

/*
 * The reads that must not cost O(all jobs), and the sweep that bounds the store. Key layout:
 * job.scripts.ts. Each read is one round trip: the ids of one page and their summary fields.
 */

/** The job hash fields a listed job shows: everything but the result (GET /jobs/:id has it and the timeline). */
export const SUMMARY_FIELDS = [
  "id",
  "type",
  "status",
  "source",
  "tenantId",
  "userId",
  "attempts",
  "progress",
  "error",
  "createdAt",
  "startedAt",
  "finishedAt",
  "durationMs",
  "messageId",
  "workerId",
  "cancelRequested",
  "announced",
] as const;

/**
 * LIST_PAGE: KEYS index · ARGV jobKeyPrefix ("P job:"), max (score), min (score), afterId ('' for
 * none), limit, fields… (SUMMARY_FIELDS: the second is type, the third status, the fifth
 * tenantId, the tenth createdAt)
 * Newest first from one index. A cursor is the (score, id) of the last job shown: members
 * with that score come in reverse lexical order, so those ≥ afterId were shown already and are
 * skipped (only ties at one millisecond cost extra). Returns up to limit + 1 rows
 * {id, score, field values…}; the extra one says another page exists.
 */
export const listPageScript = new LuaScript(`
local index, jobs, max, min, after, limit = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
local cursorScore = tonumber(max)
local rows, offset = {}, 0
-- With a cursor the first member read is usually the cursor's own job: read one more up front.
local want = limit + 1
if after ~= '' then want = limit + 2 end
while #rows < limit + 1 do
  local batch = redis.call('ZREVRANGEBYSCORE', index, max, min, 'WITHSCORES', 'LIMIT', offset, want)
  if #batch == 0 then break end
  offset = offset + #batch / 2
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    if not (after ~= '' and tonumber(score) == cursorScore and id >= after) then
      local values = redis.call('HMGET', jobs .. id, unpack(fields))
      if values[3] then
        local row = {id, score}
        for j = 1, #values do row[j + 2] = values[j] end
        rows[#rows + 1] = row
        if #rows == limit + 1 then break end
      end
    end
  end
end
return rows
`);

/**
 * SEARCH_KEY: KEYS idx:key · ARGV jobKeyPrefix ("P job:"), start, end (ZRANGEBYLEX bounds),
 * exactKey ('' for a prefix search), tenant, status, type ('' for any), since, until (createdAt
 * bounds, '' for none), limit, scanMax, fields… (SUMMARY_FIELDS)
 * Jobs by source key in key order, optionally filtered like a list. At most scanMax members are
 * read per call, so filters that skip many cost bounded work; the reply says where to go on.
 * Returns {rows, resumeAfter ('' when the range is exhausted)}; rows as LIST_PAGE's (score 0).
 */
export const searchKeyScript = new LuaScript(`
local jobs, start, stop, exact = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local tenant, status, jobType = ARGV[5], ARGV[6], ARGV[7]
local since, till = tonumber(ARGV[8]), tonumber(ARGV[9])
local limit, scanMax = tonumber(ARGV[10]), tonumber(ARGV[11])
local fields = {}
for i = 12, #ARGV do fields[#fields + 1] = ARGV[i] end
local members = redis.call('ZRANGEBYLEX', KEYS[1], start, stop, 'LIMIT', 0, scanMax)
local rows, resume = {}, ''
for i, member in ipairs(members) do
  -- The id follows the last NUL. Plain finds (no pattern: a pattern search for "the last NUL"
  -- would retry from every position of a long key).
  local cut, from = nil, 1
  while true do
    local at = string.find(member, '\\0', from, true)
    if not at then break end
    cut, from = at, at + 1
  end
  local key, id = member, ''
  if cut then key, id = string.sub(member, 1, cut - 1), string.sub(member, cut + 1) end
  if id ~= '' and (exact == '' or key == exact) then
    local values = redis.call('HMGET', jobs .. id, unpack(fields))
    local created = tonumber(values[10])
    local match = values[3] and (tenant == '' or values[5] == tenant) and (status == '' or values[3] == status)
      and (jobType == '' or values[2] == jobType) and (not since or (created and created >= since)) and (not till or (created and created <= till))
    if match then
      if #rows == limit then return {rows, members[i - 1]} end
      local row = {id, '0'}
      for j = 1, #values do row[j + 2] = values[j] end
      rows[#rows + 1] = row
    end
  end
end
if #members == scanMax then resume = members[#members] end
return {rows, resume}
`);

/**
 * SWEEP: no KEYS · ARGV prefix, nowMs, batch
 * Deletes up to `batch` jobs whose expiry is due: hash, timeline, lease, every index entry and
 * its gauge, in one atomic step per call. Safe to run from every process at once. Returns the
 * number removed (a full batch means: call again).
 */
export const sweepScript = new LuaScript(`${LUA_HELPERS}
local p, now, batch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', p .. 'expiry', '-inf', now, 'LIMIT', 0, batch)
for _, id in ipairs(ids) do
  drop_job(p, id, redis.call('HMGET', p .. 'job:' .. id, 'status', 'type', 'tenantId', 'source'))
end
return #ids
`);

/**
 * REMOVE: no KEYS · ARGV prefix, id…
 * Deletes the named jobs now, like SWEEP deletes due ones (hash, timeline, lease, every index
 * entry, its gauge and its expiry entry): a media item deleted through the API. Only terminal
 * jobs are removed (a queued or processing one is cancelled first by the caller); returns the
 * ids it left because they were not terminal.
 */
export const removeScript = new LuaScript(`${LUA_HELPERS}
local p = ARGV[1]
local kept = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local f = redis.call('HMGET', p .. 'job:' .. id, 'status', 'type', 'tenantId', 'source')
  if f[1] and not is_terminal(f[1]) then
    kept[#kept + 1] = id
  else
    drop_job(p, id, f)
  end
end
return kept
`);
