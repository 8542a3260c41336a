import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import { NO_TENANT } from "./lane-forward.ts";
import { admitScript, fairShareKeys, refreshSlotScript } from "./fair-share.scripts.ts";

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

const NO_SLOT: Slot = { release: async () => undefined };

export class FairShare {
  private readonly options: FairShareOptions;
  private readonly keys: [string, string, string];

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

  /** The tenants with the most deferred messages not yet back, most first (at most `limit`). */
  async waitingTenants(limit = 10): Promise<Array<{ tenant: string; waiting: number }>> {
    const flat = await this.options.redis.zrevrangebyscore(this.keys[2], "+inf", "1", "WITHSCORES", "LIMIT", 0, limit);
    const result: Array<{ tenant: string; waiting: number }> = [];
    for (let index = 0; index + 1 < flat.length; index += 2)
      result.push({ tenant: flat[index]!, waiting: Number(flat[index + 1]) });
    return result;
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
