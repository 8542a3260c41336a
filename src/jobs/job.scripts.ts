import { LUA_HELPERS } from "./lua-helpers.ts";
import { LuaScript } from "./lua-script.ts";

/*
 * Every state change of a job is one of these scripts, so it is atomic and checks the state it
 * starts from: a stale worker (its lease expired and another worker took the job over) can
 * never overwrite a newer state, and the indexes, gauges and counters change with the state.
 *
 * Key layout (P = REDIS_KEY_PREFIX, default "mp:"):
 *   P job:{id}              HASH   id, type, status, source (JSON), tenantId, userId, attempts, progress,
 *                                  result (JSON), error (JSON), createdAt, startedAt, finishedAt (epoch ms),
 *                                  durationMs, messageId, workerId, cancelRequested ('1': durable cancel),
 *                                  announced (id of the job event published for the current terminal state;
 *                                  the field keeps its first name, as does `announcedEventId` in the API)
 *   P job:{id}:timeline     LIST   JSON {at, event, detail} appended in order
 *   P lease:{id}            STRING the lease token of the worker processing it, with a TTL (PX)
 *   P idx:all               ZSET   id scored by createdAt, and one ZSET per filter combination:
 *   P idx:s={status}        P idx:t={type}        P idx:n={tenant}        P idx:s={status}:t={type}
 *   P idx:s={status}:n={tenant}   P idx:t={type}:n={tenant}   P idx:s={status}:t={type}:n={tenant}
 *                                  (jobs without a tenant are in the four tenant-free ones), so a list by
 *                                  any filter is one ZREVRANGEBYSCORE of one key: O(log N + page)
 *   P idx:key               ZSET   score 0, member `{source key}\0{id}`: exact and prefix search by ZRANGEBYLEX
 *   P expiry                ZSET   id scored by when it expires (its last change + JOB_STATUS_TTL)
 *   P stats:now             HASH   jobs per status now (queued, processing, completed, failed, cancelled)
 *   P stats:m:{minute}      HASH   what happened in that minute (epoch ms / 60000); expires 4 h after it:
 *   P stats:h:{hour}        HASH   the same per hour; expires 8 days after it. Fields: created, started,
 *                                  retries, requeued, {completed|failed|cancelled}:{type}, cat:{category},
 *                                  code:{error code}, and per duration d:{type} (processing time) and lat
 *                                  (created → completed): :n :sum :min :max :b{bucket} (DURATION_BUCKET_BOUNDS_MS)
 *   P cancel                PUBSUB channel; message = job id whose cancellation was requested (a hint: the
 *                                  durable flag is cancelRequested, read on every lease renewal)
 *
 * Expiry is the sweep's (SWEEP in job-query.scripts.ts, run by every worker and API process):
 * job hashes and timelines have no Redis TTL, because a hash Redis expired on its own would
 * leave its index entries with nothing to find them by. The sweep deletes a due job together
 * with every index entry and its gauge, atomically, so the key count returns to its baseline.
 * Index keys are derived inside the scripts, so this layout assumes a single Redis node (or
 * Redis Cluster with one hash slot), which is how the product ships.
 *
 * Every script's ARGV starts with the same five: prefix, id, nowMs, nowIso, ttlMs (expiry).
 */

/**
 * CLAIM: KEYS job, lease, timeline · ARGV head, leaseToken, leaseMs, sourceJson, sourceKey,
 * tenantId, userId, messageId, workerId
 * Returns {outcome, attempts, status[, messageId of the holder's delivery when busy]}: outcome is
 *   claimed    — this worker now holds the lease (new job, queued job, or a lapsed lease taken over)
 *   busy       — another worker holds a live lease; leave the message alone
 *   completed | failed | cancelled — the job is terminal; the delivery is a duplicate. A job whose
 *                cancel was requested before any worker claimed it becomes cancelled here.
 */
export const claimScript = new LuaScript(`${LUA_HELPERS}
local job, lease, timeline = KEYS[1], KEYS[2], KEYS[3]
local p, id, now, iso, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local token, leaseMs, messageId, workerId = ARGV[6], ARGV[7], ARGV[12], ARGV[13]
local f = redis.call('HMGET', job, 'status', 'type', 'tenantId', 'createdAt', 'attempts', 'cancelRequested', 'workerId')
local status = f[1]
if not status then
  redis.call('HSET', job, 'id', id, 'type', 'pending', 'status', 'processing', 'source', ARGV[8],
    'attempts', 1, 'progress', 0, 'createdAt', now, 'startedAt', now, 'messageId', messageId, 'workerId', workerId)
  if ARGV[10] ~= '' then redis.call('HSET', job, 'tenantId', ARGV[10]) end
  if ARGV[11] ~= '' then redis.call('HSET', job, 'userId', ARGV[11]) end
  redis.call('SET', lease, token, 'PX', leaseMs)
  entry(timeline, iso, 'received', {messageId = messageId, workerId = workerId})
  reindex(p, id, now, nil, {s = 'processing', t = 'pending', n = ARGV[10]})
  redis.call('ZADD', p .. 'idx:key', 0, key_member(ARGV[9], id))
  gauge(p, nil, 'processing')
  count(p, now, {'created', 1, 'started', 1})
  touch(p, id, now, ttl)
  return {'claimed', 1, 'processing'}
end
local attempts = tonumber(f[5] or 0)
if is_terminal(status) then return {status, attempts, status} end
if status == 'processing' then
  local holder = redis.call('GET', lease)
  if holder and holder ~= token then
    return {'busy', attempts, status, redis.call('HGET', job, 'messageId') or ''}
  end
end
local was = {s = status, t = f[2] or 'pending', n = f[3] or ''}
local createdAt = tonumber(f[4] or now)
if f[6] == '1' then
  local message = status == 'queued' and 'cancelled before processing' or 'cancelled while its worker was gone'
  redis.call('HSET', job, 'status', 'cancelled', 'finishedAt', now, 'error',
    cjson.encode({category = 'cancelled', code = 'cancelled', message = message, retryable = false}))
  redis.call('HDEL', job, 'announced')
  reindex(p, id, createdAt, was, {s = 'cancelled', t = was.t, n = was.n})
  gauge(p, status, 'cancelled')
  count(p, now, {'cancelled:' .. was.t, 1})
  entry(timeline, iso, 'cancelled', {reason = 'cancel requested before a worker claimed the job'})
  redis.call('DEL', lease)
  touch(p, id, now, ttl)
  return {'cancelled', attempts, 'cancelled'}
end
attempts = redis.call('HINCRBY', job, 'attempts', 1)
redis.call('HSET', job, 'status', 'processing', 'progress', 0, 'startedAt', now, 'messageId', messageId, 'workerId', workerId)
redis.call('HDEL', job, 'finishedAt', 'durationMs')
redis.call('SET', lease, token, 'PX', leaseMs)
if status ~= 'processing' then
  reindex(p, id, createdAt, was, {s = 'processing', t = was.t, n = was.n})
  gauge(p, status, 'processing')
  entry(timeline, iso, 'received', {messageId = messageId, workerId = workerId, attempt = attempts})
else
  entry(timeline, iso, 'lease-expired', {previousWorker = f[7], workerId = workerId, attempt = attempts})
end
count(p, now, {'started', 1})
touch(p, id, now, ttl)
return {'claimed', attempts, 'processing'}
`);

/**
 * TRANSITION: KEYS job, lease, timeline · ARGV head, leaseToken, fromCsv, to, fieldsJson (flat
 * string map to HSET; '' deletes a field), entryJson (timeline entry or ''), workerId
 * Returns 1 when applied, 0 when the job is not in a `from` state or the lease is someone
 * else's. An empty lease token skips the lease check (API-side transitions such as retry). The
 * lease is always released: every transition ends the holder's work on the job. Counts the
 * outcome (completed/failed/cancelled per type, error category and code, durations, retries).
 */
export const transitionScript = new LuaScript(`${LUA_HELPERS}
local job, lease, timeline = KEYS[1], KEYS[2], KEYS[3]
local p, id, now, iso, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local token, fromCsv, to = ARGV[6], ARGV[7], ARGV[8]
local f = redis.call('HMGET', job, 'status', 'type', 'tenantId', 'createdAt', 'workerId')
local status = f[1]
if not status then return 0 end
local allowed = false
for from in string.gmatch(fromCsv, '([^,]+)') do
  if from == status then allowed = true end
end
if not allowed then return 0 end
if token ~= '' then
  local holder = redis.call('GET', lease)
  if holder and holder ~= token then return 0 end
  if not holder and status == 'processing' then
    -- Our lease lapsed: only the state we own may be finished if nobody else took over since.
    if f[5] ~= ARGV[11] then return 0 end
  end
end
local fields = cjson.decode(ARGV[9])
-- A new state has not been published yet, whatever the previous one was.
redis.call('HDEL', job, 'announced')
for name, value in pairs(fields) do
  if value == cjson.null or value == '' then redis.call('HDEL', job, name) else redis.call('HSET', job, name, value) end
end
redis.call('HSET', job, 'status', to)
local t, createdAt = f[2] or 'pending', tonumber(f[4] or now)
if to ~= status then
  reindex(p, id, createdAt, {s = status, t = t, n = f[3] or ''}, {s = to, t = t, n = f[3] or ''})
  gauge(p, status, to)
end
if to == 'completed' then
  count(p, now, {'completed:' .. t, 1})
  if fields.durationMs then observe(p, now, 'd:' .. t, tonumber(fields.durationMs)) end
  observe(p, now, 'lat', now - createdAt)
elseif to == 'failed' then
  local ok, err = pcall(cjson.decode, fields.error or '{}')
  if not ok or type(err) ~= 'table' then err = {} end
  count(p, now, {'failed:' .. t, 1, 'cat:' .. tostring(err.category or 'unknown'), 1, 'code:' .. tostring(err.code or 'unknown'), 1})
elseif to == 'cancelled' then
  count(p, now, {'cancelled:' .. t, 1})
elseif to == 'queued' and status == 'processing' then
  count(p, now, {'retries', 1})
elseif to == 'queued' then
  count(p, now, {'requeued', 1})
end
if ARGV[10] ~= '' then redis.call('RPUSH', timeline, ARGV[10]) end
redis.call('DEL', lease)
touch(p, id, now, ttl)
return 1
`);

/**
 * RENEW: KEYS lease, job · ARGV leaseToken, leaseMs
 * Extends the lease only if we still hold it, and reports the durable cancel flag, so a worker
 * that missed the cancel channel (its subscriber was reconnecting) still stops within one
 * renewal interval. Returns {held 0/1, cancelRequested 0/1}.
 */
export const renewLeaseScript = new LuaScript(`
local held = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  held = 1
end
local cancel = 0
if redis.call('HGET', KEYS[2], 'cancelRequested') == '1' then cancel = 1 end
return {held, cancel}
`);

/** SET_PROGRESS: KEYS lease, job · ARGV leaseToken, percent. Only the lease holder's progress shows. Returns 1 when written. */
export const setProgressScript = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'progress', ARGV[2])
return 1
`);

/** SET_TYPE: KEYS job · ARGV head, type. Moves the job between type indexes. Returns 0 for a missing job. */
export const setTypeScript = new LuaScript(`${LUA_HELPERS}
local p, id = ARGV[1], ARGV[2]
local f = redis.call('HMGET', KEYS[1], 'status', 'type', 'tenantId', 'createdAt')
if not f[1] then return 0 end
local previous = f[2] or 'pending'
if previous == ARGV[6] then return 1 end
reindex(p, id, tonumber(f[4]), {s = f[1], t = previous, n = f[3] or ''}, {s = f[1], t = ARGV[6], n = f[3] or ''})
redis.call('HSET', KEYS[1], 'type', ARGV[6])
return 1
`);

/**
 * REQUEST_CANCEL: KEYS job, timeline · ARGV head, detailJson (who asked: {by, via})
 * Returns the status it found: a queued job becomes cancelled at once; a processing job gets
 * the durable `cancelRequested` flag (its worker reads it on its next lease renewal) and its
 * worker is also told over the cancel channel; a terminal one is untouched.
 */
export const requestCancelScript = new LuaScript(`${LUA_HELPERS}
local job, timeline = KEYS[1], KEYS[2]
local p, id, now, iso, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local detail = cjson.decode(ARGV[6])
local f = redis.call('HMGET', job, 'status', 'type', 'tenantId', 'createdAt')
local status = f[1]
if not status then return 'missing' end
if status == 'queued' then
  local t = f[2] or 'pending'
  redis.call('HDEL', job, 'announced')
  redis.call('HSET', job, 'status', 'cancelled', 'finishedAt', now, 'cancelRequested', '1', 'error',
    cjson.encode({category = 'cancelled', code = 'cancelled', message = 'cancelled while queued', retryable = false}))
  reindex(p, id, tonumber(f[4] or now), {s = 'queued', t = t, n = f[3] or ''}, {s = 'cancelled', t = t, n = f[3] or ''})
  gauge(p, 'queued', 'cancelled')
  count(p, now, {'cancelled:' .. t, 1})
  detail.reason = 'cancel requested while queued'
  entry(timeline, iso, 'cancelled', detail)
  touch(p, id, now, ttl)
  return 'queued'
end
if status == 'processing' then
  redis.call('HSET', job, 'cancelRequested', '1')
  entry(timeline, iso, 'cancel-requested', detail)
  redis.call('PUBLISH', p .. 'cancel', id)
  touch(p, id, now, ttl)
  return 'processing'
end
return status
`);

/**
 * ENQUEUE: KEYS job, timeline · ARGV head, sourceJson, sourceKey, tenantId, userId, detailJson
 * Creates a `queued` record for an event seen before any worker received it (the API's own
 * enqueue, or the intake), so its job is listed, searchable and cancellable while it waits.
 * Returns {'created', 'queued'} or {'exists', status}: an existing record (a worker was
 * quicker, or the object was processed before) is left as it is.
 */
export const enqueueScript = new LuaScript(`${LUA_HELPERS}
local job, timeline = KEYS[1], KEYS[2]
local p, id, now, iso, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local status = redis.call('HGET', job, 'status')
if status then return {'exists', status} end
redis.call('HSET', job, 'id', id, 'type', 'pending', 'status', 'queued', 'source', ARGV[6],
  'attempts', 0, 'progress', 0, 'createdAt', now)
if ARGV[8] ~= '' then redis.call('HSET', job, 'tenantId', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', job, 'userId', ARGV[9]) end
entry(timeline, iso, 'queued', cjson.decode(ARGV[10]))
reindex(p, id, now, nil, {s = 'queued', t = 'pending', n = ARGV[8]})
redis.call('ZADD', p .. 'idx:key', 0, key_member(ARGV[7], id))
gauge(p, nil, 'queued')
count(p, now, {'created', 1})
touch(p, id, now, ttl)
return {'created', 'queued'}
`);

/**
 * MARK_PUBLISHED: KEYS job, timeline · ARGV eventId, status, finishedAtMs, nowIso, detailJson
 * Records that the job event for this terminal state was published, but only while the job is
 * still in that very state (same status, same finishedAt): an event for a state the job has
 * since left (retried meanwhile) must not mark the new one. Returns 1 when marked.
 */
export const markPublishedScript = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[2] then return 0 end
if (redis.call('HGET', KEYS[1], 'finishedAt') or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'announced', ARGV[1])
redis.call('RPUSH', KEYS[2], cjson.encode({at = ARGV[4], event = 'event-published', detail = cjson.decode(ARGV[5])}))
return 1
`);
