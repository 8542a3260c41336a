import { LuaScript } from "./lua-script.ts";

/*
 * Every state change of a job is one of these scripts, so it is atomic and checks the state it
 * starts from: a stale worker (its lease expired and another worker took the job over) can
 * never overwrite a newer state.
 *
 * Key layout (P = REDIS_KEY_PREFIX, default "mp:"):
 *   P job:{id}            HASH   id, type, status, source (JSON), tenantId, userId, attempts, progress,
 *                                result (JSON), error (JSON), createdAt, startedAt, finishedAt (epoch ms),
 *                                durationMs, messageId, workerId, cancelRequested,
 *                                announced (id of the job event published for the current terminal state)
 *   P job:{id}:timeline   LIST   JSON {at, event, detail} appended in order
 *   P lease:{id}          STRING the owner token of the worker processing it, with a TTL (PX)
 *   P idx:created         ZSET   id scored by createdAt — listing newest first
 *   P idx:status:{s}      ZSET   id scored by createdAt, one per status
 *   P idx:type:{t}        ZSET   id scored by createdAt, one per type
 *   P idx:tenant:{t}      ZSET   id scored by createdAt, one per tenant
 *   P cancel              PUBSUB channel; message = job id whose cancellation was requested
 * Job hashes and timelines expire after JOB_STATUS_TTL; index members older than the TTL are
 * trimmed on every claim. Index keys are derived inside the scripts, so this layout assumes a
 * single Redis node (or Redis Cluster with one hash slot), which is how the product ships.
 */

const MOVE_STATUS = `
local function move_status(prefix, id, from, to, score)
  if from and from ~= '' then redis.call('ZREM', prefix .. 'idx:status:' .. from, id) end
  redis.call('ZADD', prefix .. 'idx:status:' .. to, score, id)
end
`;

/**
 * CLAIM: KEYS job, lease, timeline · ARGV prefix, id, owner, nowMs, leaseMs, ttlSec, sourceJson,
 * tenantId, userId, messageId, workerId, nowIso, maxAttempts
 * Returns {outcome, attempts, status[, messageId of the holder's delivery when busy]}: outcome is
 *   claimed    — this worker now owns the job (new job, queued job, or an expired lease taken over)
 *   busy       — another worker holds a live lease; leave the message alone
 *   completed | failed | cancelled — the job is already terminal; the delivery is a duplicate
 */
export const claimScript = new LuaScript(`${MOVE_STATUS}
local job, lease, timeline = KEYS[1], KEYS[2], KEYS[3]
local prefix, id, owner, now, leaseMs, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local nowIso = ARGV[12]
local status = redis.call('HGET', job, 'status')
local createdAt = tonumber(redis.call('HGET', job, 'createdAt') or now)
local function entry(event, detail)
  redis.call('RPUSH', timeline, cjson.encode({at = nowIso, event = event, detail = detail}))
end
if not status then
  redis.call('HSET', job, 'id', id, 'type', 'pending', 'status', 'processing', 'source', ARGV[7],
    'tenantId', ARGV[8], 'userId', ARGV[9], 'attempts', 1, 'progress', 0, 'createdAt', now,
    'startedAt', now, 'messageId', ARGV[10], 'workerId', ARGV[11])
  redis.call('SET', lease, owner, 'PX', leaseMs)
  entry('received', {messageId = ARGV[10], workerId = ARGV[11]})
  redis.call('ZADD', prefix .. 'idx:created', now, id)
  move_status(prefix, id, nil, 'processing', now)
  redis.call('ZADD', prefix .. 'idx:type:pending', now, id)
  if ARGV[8] ~= '' then redis.call('ZADD', prefix .. 'idx:tenant:' .. ARGV[8], now, id) end
  redis.call('EXPIRE', job, ttl)
  redis.call('EXPIRE', timeline, ttl)
  local cutoff = now - ttl * 1000
  redis.call('ZREMRANGEBYSCORE', prefix .. 'idx:created', '-inf', cutoff)
  return {'claimed', 1, 'processing'}
end
if status == 'completed' or status == 'failed' or status == 'cancelled' then
  return {status, tonumber(redis.call('HGET', job, 'attempts') or 0), status}
end
if status == 'processing' then
  local holder = redis.call('GET', lease)
  if holder and holder ~= owner then
    return {'busy', tonumber(redis.call('HGET', job, 'attempts') or 0), status, redis.call('HGET', job, 'messageId') or ''}
  end
end
if redis.call('HGET', job, 'cancelRequested') == '1' then
  redis.call('HSET', job, 'status', 'cancelled', 'finishedAt', now, 'error',
    cjson.encode({category = 'cancelled', code = 'cancelled', message = 'cancelled before processing', retryable = false}))
  move_status(prefix, id, status, 'cancelled', createdAt)
  entry('cancelled', {reason = 'cancel requested before processing'})
  redis.call('DEL', lease)
  return {'cancelled', tonumber(redis.call('HGET', job, 'attempts') or 0), 'cancelled'}
end
local attempts = redis.call('HINCRBY', job, 'attempts', 1)
local previousWorker = redis.call('HGET', job, 'workerId')
redis.call('HSET', job, 'status', 'processing', 'progress', 0, 'startedAt', now, 'messageId', ARGV[10], 'workerId', ARGV[11])
redis.call('HDEL', job, 'finishedAt', 'durationMs')
redis.call('SET', lease, owner, 'PX', leaseMs)
move_status(prefix, id, status, 'processing', createdAt)
if status == 'processing' then
  entry('lease-expired', {previousWorker = previousWorker, workerId = ARGV[11], attempt = attempts})
else
  entry('received', {messageId = ARGV[10], workerId = ARGV[11], attempt = attempts})
end
redis.call('EXPIRE', job, ttl)
redis.call('EXPIRE', timeline, ttl)
return {'claimed', attempts, 'processing'}
`);

/**
 * TRANSITION: KEYS job, lease, timeline · ARGV prefix, id, owner, fromCsv, to, nowMs, ttlSec,
 * fieldsJson (flat string map to HSET; '' deletes a field), entryJson (timeline entry or ''),
 * workerId, keepLease ('1'/'0')
 * Returns 1 when applied, 0 when the job is not in a `from` state or the lease is someone else's.
 * An empty owner skips the lease check (API-side transitions such as retry).
 */
export const transitionScript = new LuaScript(`${MOVE_STATUS}
local job, lease, timeline = KEYS[1], KEYS[2], KEYS[3]
local prefix, id, owner, fromCsv, to, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local status = redis.call('HGET', job, 'status')
if not status then return 0 end
local allowed = false
for from in string.gmatch(fromCsv, '([^,]+)') do
  if from == status then allowed = true end
end
if not allowed then return 0 end
if owner ~= '' then
  local holder = redis.call('GET', lease)
  if holder and holder ~= owner then return 0 end
  if not holder and status == 'processing' then
    -- Our lease lapsed: only the state we own may be finished if nobody else took over since.
    if redis.call('HGET', job, 'workerId') ~= ARGV[10] then return 0 end
  end
end
local fields = cjson.decode(ARGV[8])
-- A new state has not been announced yet, whatever the previous one was.
redis.call('HDEL', job, 'announced')
for name, value in pairs(fields) do
  if value == cjson.null or value == '' then redis.call('HDEL', job, name) else redis.call('HSET', job, name, value) end
end
redis.call('HSET', job, 'status', to)
local createdAt = tonumber(redis.call('HGET', job, 'createdAt') or now)
if to ~= status then move_status(prefix, id, status, to, createdAt) end
if ARGV[9] ~= '' then redis.call('RPUSH', timeline, ARGV[9]) end
if ARGV[11] ~= '1' then redis.call('DEL', lease) end
redis.call('EXPIRE', job, ttl)
redis.call('EXPIRE', timeline, ttl)
return 1
`);

/** RENEW: KEYS lease · ARGV owner, leaseMs. Extends the lease only if we still hold it. */
export const renewLeaseScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`);

/** SET_TYPE: KEYS job · ARGV prefix, id, type. Moves the job between type indexes. */
export const setTypeScript = new LuaScript(`
local previous = redis.call('HGET', KEYS[1], 'type')
if not previous then return 0 end
local createdAt = tonumber(redis.call('HGET', KEYS[1], 'createdAt'))
redis.call('ZREM', ARGV[1] .. 'idx:type:' .. previous, ARGV[2])
redis.call('ZADD', ARGV[1] .. 'idx:type:' .. ARGV[3], createdAt, ARGV[2])
redis.call('HSET', KEYS[1], 'type', ARGV[3])
return 1
`);

/**
 * REQUEST_CANCEL: KEYS job, timeline · ARGV prefix, id, nowMs, nowIso
 * Returns the status it found: a queued job becomes cancelled at once; a processing job gets
 * `cancelRequested` and its worker is told over the cancel channel; a terminal one is untouched.
 */
export const requestCancelScript = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'queued' then
  local createdAt = tonumber(redis.call('HGET', KEYS[1], 'createdAt'))
  redis.call('HDEL', KEYS[1], 'announced')
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[3], 'cancelRequested', '1', 'error',
    cjson.encode({category = 'cancelled', code = 'cancelled', message = 'cancelled while queued', retryable = false}))
  redis.call('ZREM', ARGV[1] .. 'idx:status:queued', ARGV[2])
  redis.call('ZADD', ARGV[1] .. 'idx:status:cancelled', createdAt, ARGV[2])
  redis.call('RPUSH', KEYS[2], cjson.encode({at = ARGV[4], event = 'cancelled', detail = {reason = 'cancel requested while queued'}}))
  return 'queued'
end
if status == 'processing' then
  redis.call('HSET', KEYS[1], 'cancelRequested', '1')
  redis.call('RPUSH', KEYS[2], cjson.encode({at = ARGV[4], event = 'cancel-requested'}))
  redis.call('PUBLISH', ARGV[1] .. 'cancel', ARGV[2])
  return 'processing'
end
return status
`);

/**
 * ENQUEUE: KEYS job, timeline · ARGV prefix, id, nowMs, ttlSec, sourceJson, tenantId, userId,
 * nowIso, via
 * Creates a `queued` record for an event the API just put on the queue, so its job is listed
 * and cancellable before a worker receives it. Returns {'created'} or {'exists', status}: an
 * existing record (a worker was quicker, or the object was processed before) is left as it is.
 */
export const enqueueScript = new LuaScript(`
local job, timeline = KEYS[1], KEYS[2]
local prefix, id, now, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local status = redis.call('HGET', job, 'status')
if status then return {'exists', status} end
redis.call('HSET', job, 'id', id, 'type', 'pending', 'status', 'queued', 'source', ARGV[5],
  'tenantId', ARGV[6], 'userId', ARGV[7], 'attempts', 0, 'progress', 0, 'createdAt', now)
if ARGV[6] == '' then redis.call('HDEL', job, 'tenantId') end
if ARGV[7] == '' then redis.call('HDEL', job, 'userId') end
redis.call('RPUSH', timeline, cjson.encode({at = ARGV[8], event = 'queued', detail = {via = ARGV[9]}}))
redis.call('ZADD', prefix .. 'idx:created', now, id)
redis.call('ZADD', prefix .. 'idx:status:queued', now, id)
redis.call('ZADD', prefix .. 'idx:type:pending', now, id)
if ARGV[6] ~= '' then redis.call('ZADD', prefix .. 'idx:tenant:' .. ARGV[6], now, id) end
redis.call('EXPIRE', job, ttl)
redis.call('EXPIRE', timeline, ttl)
return {'created', 'queued'}
`);

/**
 * MARK_ANNOUNCED: KEYS job, timeline · ARGV eventId, status, finishedAtMs, nowIso, detailJson
 * Records that the job event for this terminal state was published, but only while the job is
 * still in that very state (same status, same finishedAt): an event for a state the job has
 * since left (retried meanwhile) must not mark the new one. Returns 1 when marked.
 */
export const markAnnouncedScript = new LuaScript(`
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[2] then return 0 end
if (redis.call('HGET', KEYS[1], 'finishedAt') or '') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'announced', ARGV[1])
redis.call('RPUSH', KEYS[2], cjson.encode({at = ARGV[4], event = 'event-published', detail = cjson.decode(ARGV[5])}))
return 1
`);
