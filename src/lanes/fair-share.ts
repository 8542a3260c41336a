import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import { NO_TENANT } from "./lane-forward.ts";
import {
  admitScript,
  fairShareKeys,
  refreshSlotScript,
  usageScript,
  type FairShareKeys,
} from "./fair-share.scripts.ts";

/**
 * Fair share per tenant within one lane, counted in Redis so every worker of the lane sees the
 * same numbers (the Lua in fair-share.scripts.ts is the rule). A job takes a running slot for
 * its tenant before it starts and gives it back when it ends; the slot expires unless refreshed,
 * so a worker killed while holding slots frees them within `slotTtlMs`. Redis trouble never
 * stops work: admission then fails open (the job runs without a slot, and a warning is logged).
 */
export interface FairShareOptions {
  redis: Redis;
  keyPrefix: string;
  lane: string;
  enabled: boolean;
  /** FAIR_SHARE_WINDOW: how long a seen tenant counts as active. */
  windowMs: number;
  /** How long a slot lives without a refresh (refreshed every third of it). */
  slotTtlMs: number;
  /** Running slots the lane has across its live workers. */
  capacity: () => Promise<number>;
  logger: Logger;
}

/** A held running slot; `release` is idempotent. */
export interface Slot {
  release(): Promise<void>;
}

export type Admission = { admitted: true; slot: Slot } | { admitted: false; running: number; share: number };

export interface WaitingTenant {
  tenant: string;
  /** Its deferred messages not yet back on the lane. */
  waiting: number;
}

/** A lane's tenants with the most deferred messages not yet back, most first (at most `limit`); the API reads this too. */
export async function readWaitingTenants(
  redis: Redis,
  keyPrefix: string,
  lane: string,
  limit: number,
): Promise<WaitingTenant[]> {
  const waitingKey = fairShareKeys(keyPrefix, lane)[2];
  const flat = await redis.zrevrangebyscore(waitingKey, "+inf", "1", "WITHSCORES", "LIMIT", 0, limit);
  const result: WaitingTenant[] = [];
  for (let index = 0; index + 1 < flat.length; index += 2)
    result.push({ tenant: flat[index]!, waiting: Number(flat[index + 1]) });
  return result;
}

const NO_SLOT: Slot = { release: async () => undefined };

export class FairShare {
  private readonly options: FairShareOptions;
  private readonly keys: FairShareKeys;

  constructor(options: FairShareOptions) {
    this.options = options;
    this.keys = fairShareKeys(options.keyPrefix, options.lane);
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  get lane(): string {
    return this.options.lane;
  }

  /**
   * Takes a slot for `tenant` or says to defer. `mayDefer: false` (the message was deferred too
   * often already) always takes one; `returning` marks a deferred message coming back.
   */
  async admit(tenant: string | undefined, flags: { mayDefer: boolean; returning: boolean }): Promise<Admission> {
    if (!this.options.enabled) return { admitted: true, slot: NO_SLOT };
    const { redis, slotTtlMs, windowMs, logger } = this.options;
    const owner = tenant ?? NO_TENANT;
    const slotId = randomUUID();
    try {
      const capacity = Math.max(1, await this.options.capacity());
      const [took, running, shareMilli] = (await admitScript.run(redis, this.keys, [
        Date.now(),
        owner,
        slotId,
        slotTtlMs,
        capacity,
        windowMs,
        flags.mayDefer ? 1 : 0,
        flags.returning ? 1 : 0,
      ])) as [number, number, number];
      if (took === 0) return { admitted: false, running: Number(running), share: Number(shareMilli) / 1000 };
      return { admitted: true, slot: this.holdSlot(`${slotId}|${owner}`) };
    } catch (error) {
      logger.warn({ err: error, lane: this.options.lane }, "fair share unavailable; the job runs without a slot");
      return { admitted: true, slot: NO_SLOT };
    }
  }

  /**
   * Which of the messages a worker holds starts next (index, oldest first): the one whose tenant
   * runs the fewest jobs in the lane now, then has taken the fewest slots within the window, then
   * the oldest — so a tenant with one upload waiting goes ahead of one that has been flooding
   * the lane, across every worker of it. Redis trouble: the oldest (FIFO, as without fair share).
   */
  async pickNext(tenants: ReadonlyArray<string | undefined>): Promise<number> {
    if (!this.options.enabled || tenants.length < 2) return 0;
    const { redis, windowMs, slotTtlMs, logger } = this.options;
    const owners = tenants.map((tenant) => tenant ?? NO_TENANT);
    try {
      const flat = (await usageScript.run(
        redis,
        [this.keys[0], this.keys[1], this.keys[3]],
        [Date.now(), windowMs, slotTtlMs, ...owners],
      )) as number[];
      let best = 0;
      for (let index = 1; index < owners.length; index += 1) {
        const [running, started] = [Number(flat[2 * index]), Number(flat[2 * index + 1])];
        const [bestRunning, bestStarted] = [Number(flat[2 * best]), Number(flat[2 * best + 1])];
        if (running < bestRunning || (running === bestRunning && started < bestStarted)) best = index;
      }
      return best;
    } catch (error) {
      logger.warn({ err: error, lane: this.options.lane }, "fair share unavailable; the oldest held message starts");
      return 0;
    }
  }

  /** The tenants with the most deferred messages not yet back, most first (at most `limit`). */
  waitingTenants(limit = 10): Promise<WaitingTenant[]> {
    return readWaitingTenants(this.options.redis, this.options.keyPrefix, this.options.lane, limit);
  }

  private holdSlot(member: string): Slot {
    const { redis, slotTtlMs, logger } = this.options;
    const timer = setInterval(
      () => {
        refreshSlotScript
          .run(redis, [this.keys[0]], [member, Date.now() + slotTtlMs])
          .catch((error: unknown) => logger.warn({ err: error }, "fair share slot refresh failed"));
      },
      Math.max(200, Math.floor(slotTtlMs / 3)),
    );
    timer.unref();
    let released: Promise<void> | undefined;
    return {
      release: () => {
        clearInterval(timer);
        released ??= redis
          .zrem(this.keys[0], member)
          .then(() => undefined)
          .catch((error: unknown) => logger.warn({ err: error }, "fair share slot release failed; it expires"));
        return released;
      },
    };
  }
}
