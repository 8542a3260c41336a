import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { LuaScript } from "../jobs/lua-script.ts";
import type { JobEvent } from "../job-events/job-event.ts";

/**
 * Webhook deliveries in Redis. Workers only record job events here (one Redis write, in the
 * job-event publisher, before a job's message is deleted), so a receiver that is down never blocks or
 * slows processing; the API process fans them out to the endpoints and delivers them on their
 * own retry schedule (webhook-dispatcher.ts).
 *
 * Key layout (P = REDIS_KEY_PREFIX):
 *   P wh:event:{eventId}   STRING the event JSON; SET NX, so a re-published event is recorded once (8 days)
 *   P wh:inbox             LIST   event ids recorded and not yet fanned out
 *   P wh:d:{deliveryId}    HASH   id, eventId, eventType, endpoint, tenantId, state (pending|delivered|failed),
 *                                 attempts, replays, createdAt, nextAt, lastAttemptAt, lastStatus, lastError,
 *                                 deliveredAt (epoch ms); expires DELIVERY_KEEP_MS after its final state
 *   P wh:due               ZSET   pending delivery ids by next attempt (a claimed one: by its lease's end)
 *   P wh:recent            ZSET   delivery ids by creation, the newest RECENT_KEPT (dashboard, list)
 * A delivery id is derived from (event id, endpoint id): one event reaches one endpoint as one
 * delivery however often it is recorded or fanned out.
 */
export const EVENT_KEEP_MS = 8 * 86_400_000;
export const DELIVERY_KEEP_MS = 7 * 86_400_000;
const RECENT_KEPT = 1_000;

export type DeliveryState = "pending" | "delivered" | "failed";

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  endpoint: string;
  tenantId?: string;
  state: DeliveryState;
  attempts: number;
  replays: number;
  createdAt: string;
  nextAt?: string;
  lastAttemptAt?: string;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: string;
}

export const deliveryIdOf = (eventId: string, endpointId: string): string =>
  createHash("sha256").update(`${eventId}\u0000${endpointId}`).digest("hex").slice(0, 32);

/** RECORD: KEYS event, inbox · ARGV json, keepMs → 1 recorded, 0 already. */
const recordScript = new LuaScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  return 1
end
return 0
`);

/** FAN_OUT: KEYS inbox, due, recent · ARGV prefix, eventId, nowMs, recentKept, then per delivery: id, endpoint, eventType, tenantId. */
const fanOutScript = new LuaScript(`
local p, eventId, now, kept = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 5, #ARGV, 4 do
  local id = ARGV[i]
  local key = p .. 'wh:d:' .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'id', id, 'eventId', eventId, 'endpoint', ARGV[i + 1], 'eventType', ARGV[i + 2], 'state', 'pending',
      'attempts', 0, 'replays', 0, 'createdAt', now, 'nextAt', now)
    if ARGV[i + 3] ~= '' then redis.call('HSET', key, 'tenantId', ARGV[i + 3]) end
    redis.call('ZADD', KEYS[2], now, id)
    redis.call('ZADD', KEYS[3], now, id)
  end
end
redis.call('LREM', KEYS[1], 0, eventId)
local excess = redis.call('ZCARD', KEYS[3]) - kept
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1) end
return 1
`);

/** CLAIM_DUE: KEYS due · ARGV nowMs, leaseEndMs, max → ids due now, each moved to the lease's end (another API replica skips them). */
const claimDueScript = new LuaScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`);

/**
 * RESULT: KEYS delivery, due · ARGV id, nowMs, outcome (delivered|retry|failed), status, error, nextAtMs, keepMs
 * Applied only to a pending delivery (a replay racing a result leaves the replay's schedule).
 */
const resultScript = new LuaScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'lastAttemptAt', ARGV[2], 'lastStatus', ARGV[4], 'lastError', ARGV[5])
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[1], 'nextAt', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'nextAt', '')
if ARGV[3] == 'delivered' then redis.call('HSET', KEYS[1], 'deliveredAt', ARGV[2]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
`);

/** REPLAY: KEYS delivery, due · ARGV id, nowMs → 0 unknown, 1 scheduled now (the event id and body stay the same). */
const replayScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'nextAt', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'replays', 1)
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`);

export interface FanOutTarget {
  id: string;
  eventType: string;
  tenantId: string | undefined;
}

export class WebhookOutbox {
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, keyPrefix: string) {
    this.redis = redis;
    this.prefix = keyPrefix;
  }

  private key(...parts: string[]): string {
    return `${this.prefix}wh:${parts.join(":")}`;
  }

  /** Records a job event for delivery (idempotent on its event id). */
  async record(event: JobEvent): Promise<boolean> {
    return (
      (await recordScript.run(
        this.redis,
        [this.key("event", event.eventId), this.key("inbox")],
        [JSON.stringify(event), EVENT_KEEP_MS, event.eventId],
      )) === 1
    );
  }

  async inbox(max: number): Promise<string[]> {
    return this.redis.lrange(this.key("inbox"), 0, max - 1);
  }

  async event(eventId: string): Promise<string | null> {
    return this.redis.get(this.key("event", eventId));
  }

  /** Creates the event's deliveries (those not created before) and takes it off the inbox. */
  async fanOut(eventId: string, targets: readonly FanOutTarget[], nowMs: number): Promise<void> {
    const args: Array<string | number> = [this.prefix, eventId, nowMs, RECENT_KEPT];
    for (const target of targets)
      args.push(deliveryIdOf(eventId, target.id), target.id, target.eventType, target.tenantId ?? "");
    await fanOutScript.run(this.redis, [this.key("inbox"), this.key("due"), this.key("recent")], args);
  }

  async claimDue(nowMs: number, leaseMs: number, max: number): Promise<string[]> {
    return (await claimDueScript.run(this.redis, [this.key("due")], [nowMs, nowMs + leaseMs, max])) as string[];
  }

  async result(
    id: string,
    nowMs: number,
    outcome: "delivered" | "retry" | "failed",
    status: number | undefined,
    error: string,
    nextAtMs: number | undefined,
  ): Promise<boolean> {
    const applied = await resultScript.run(
      this.redis,
      [this.key("d", id), this.key("due")],
      [id, nowMs, outcome, status ?? 0, error.slice(0, 500), nextAtMs ?? "", DELIVERY_KEEP_MS],
    );
    return applied === 1;
  }

  async replay(id: string, nowMs: number): Promise<boolean> {
    return (await replayScript.run(this.redis, [this.key("d", id), this.key("due")], [id, nowMs])) === 1;
  }

  async get(id: string): Promise<Delivery | undefined> {
    const hash = await this.redis.hgetall(this.key("d", id));
    return hash.id ? toDelivery(hash) : undefined;
  }

  /** Newest first, up to `limit`, optionally only one state (read from the newest RECENT_KEPT). */
  async recent(limit: number, state?: DeliveryState): Promise<Delivery[]> {
    const ids = await this.redis.zrevrange(this.key("recent"), 0, RECENT_KEPT - 1);
    const found: Delivery[] = [];
    for (let start = 0; start < ids.length && found.length < limit; start += 100) {
      const batch = ids.slice(start, start + 100);
      const pipeline = this.redis.pipeline();
      for (const id of batch) pipeline.hgetall(this.key("d", id));
      for (const [, hash] of (await pipeline.exec()) ?? []) {
        const delivery =
          hash && (hash as Record<string, string>).id ? toDelivery(hash as Record<string, string>) : undefined;
        if (delivery && (!state || delivery.state === state) && found.length < limit) found.push(delivery);
      }
    }
    return found;
  }
}

function toDelivery(hash: Record<string, string>): Delivery {
  const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : undefined);
  const delivery: Delivery = {
    id: hash.id!,
    eventId: hash.eventId ?? "",
    eventType: hash.eventType ?? "",
    endpoint: hash.endpoint ?? "",
    state: (hash.state as DeliveryState | undefined) ?? "pending",
    attempts: Number(hash.attempts ?? 0),
    replays: Number(hash.replays ?? 0),
    createdAt: iso(hash.createdAt) ?? new Date(0).toISOString(),
  };
  if (hash.tenantId) delivery.tenantId = hash.tenantId;
  for (const field of ["nextAt", "lastAttemptAt", "deliveredAt"] as const) {
    const value = iso(hash[field]);
    if (value) delivery[field] = value;
  }
  if (hash.lastStatus && hash.lastStatus !== "0") delivery.lastStatus = Number(hash.lastStatus);
  if (hash.lastError) delivery.lastError = hash.lastError;
  return delivery;
}
