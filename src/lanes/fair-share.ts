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

/** How long a picked message counts as starting at most, if the gate never settles it. */
const STARTING_FORGET_MS = 30_000;

const NO_SLOT: Slot = { release: async () => undefined };

interface TenantUsage {
  running: number;
  started: number;
}

/** The index of the eligible entry running the fewest jobs, then with the fewest recent starts, then the first; -1 if none is eligible. */
function leastUsed(usage: readonly TenantUsage[], eligible: (entry: TenantUsage) => boolean): number {
  let best = -1;
  usage.forEach((entry, index) => {
    if (!eligible(entry)) return;
    const current = best === -1 ? undefined : usage[best]!;
    if (
      !current ||
      entry.running < current.running ||
      (entry.running === current.running && entry.started < current.started)
    )
      best = index;
  });
  return best;
}

export class FairShare {
  private readonly options: FairShareOptions;
  private readonly keys: FairShareKeys;
  /** Per tenant: picked messages not yet settled by the gate (expiry of each, ms). */
  private readonly starting = new Map<string, number[]>();

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
   * Which of the messages a worker holds starts next (index, oldest first), or -1: none may start
   * yet. A tenant may run at most its share of the lane's slots — max(1, ⌊capacity ÷ active
   * tenants⌋) — while other tenants are active (running, or seen within FAIR_SHARE_WINDOW); a lone
   * tenant may use them all. Among the held messages whose tenant is below that, the one whose
   * tenant runs the fewest jobs in the lane now wins, then the one that has taken the fewest
   * slots within the window, then the oldest. So a slot stays free for a neighbour's next upload
   * rather than going to a flood's tenth, and B's one upload held behind A's burst starts next.
   * Redis trouble: the oldest (FIFO, as without fair share).
   */
  async pickNext(tenants: ReadonlyArray<string | undefined>): Promise<number> {
    if (!this.options.enabled || tenants.length === 0) return 0;
    const owners = tenants.map((tenant) => tenant ?? NO_TENANT);
    try {
      const capacity = Math.max(1, await this.options.capacity());
      const { usage, active } = await this.readUsage(owners);
      const allowed = active === 1 ? capacity : Math.max(1, Math.floor(capacity / active));
      const best = leastUsed(usage, (entry) => entry.running < allowed);
      if (best !== -1) this.markStarting(owners[best]!);
      return best;
    } catch (error) {
      this.options.logger.warn(
        { err: error, lane: this.options.lane },
        "fair share unavailable; the oldest held message starts",
      );
      return 0;
    }
  }

  /**
   * Which held message may start above the worker's concurrency (a newcomer slot), or -1: one
   * whose tenant runs nothing in the lane, fleet-wide, while this worker's slots are all busy
   * (with other tenants' jobs, then). The fewest slots taken within the window wins, then the
   * oldest. Redis trouble: none (the extra slot is a courtesy, never taken blind).
   */
  async pickNewcomer(tenants: ReadonlyArray<string | undefined>): Promise<number> {
    if (!this.options.enabled || tenants.length === 0) return -1;
    const owners = tenants.map((tenant) => tenant ?? NO_TENANT);
    try {
      const { usage } = await this.readUsage(owners);
      const best = leastUsed(usage, (entry) => entry.running === 0);
      if (best !== -1) this.markStarting(owners[best]!);
      return best;
    } catch (error) {
      this.options.logger.warn({ err: error, lane: this.options.lane }, "fair share unavailable; no newcomer slot");
      return -1;
    }
  }

  /**
   * Which held message to put behind the queue as a probe, or -1 (MediaConsumer.pickProbe; it
   * asks only with every slot busy and the look-ahead full). A flood deeper than the look-ahead
   * hides what is queued behind it: a neighbour's upload there is not even seen (so not
   * "active") until the flood's messages ahead of it have run. When every held message's tenant
   * is running in the lane already, the newest that may still be deferred goes back behind the
   * queue and the next receive looks one message further. None while a held tenant runs
   * nothing: that one is the neighbour, and it gets the next slot (or a newcomer slot). The
   * held flood keeps the worker's slots busy meanwhile, so a lone tenant loses nothing but
   * order. Redis trouble: none.
   */
  async pickProbe(tenants: ReadonlyArray<string | undefined>, deferrable: readonly boolean[]): Promise<number> {
    if (!this.options.enabled || tenants.length === 0) return -1;
    const owners = tenants.map((tenant) => tenant ?? NO_TENANT);
    try {
      const { usage } = await this.readUsage(owners);
      if (usage.some((entry) => entry.running === 0)) return -1;
      for (let index = owners.length - 1; index >= 0; index -= 1) if (deferrable[index]) return index;
      return -1;
    } catch (error) {
      this.options.logger.warn({ err: error, lane: this.options.lane }, "fair share unavailable; no probe");
      return -1;
    }
  }

  /**
   * Which held messages go to the lane's backlog queue, at most `count` (MediaConsumer.pickSpill;
   * it asks with every slot busy and the look-ahead over its size, the lane's queue being read
   * on). One at a time, each the newest message of the tenant with the most work here — running
   * in the lane plus still held — among tenants already running, so a neighbour with nothing
   * running is kept (it takes the next slot or a newcomer slot) and a flood goes to the backlog,
   * from where any worker takes it when it has room. Only messages that may still be deferred.
   * Redis trouble: none (the lane's queue then waits for room, as without a backlog).
   */
  async pickSpill(
    tenants: ReadonlyArray<string | undefined>,
    deferrable: readonly boolean[],
    count: number,
  ): Promise<number[]> {
    if (!this.options.enabled || tenants.length === 0 || count <= 0) return [];
    const owners = tenants.map((tenant) => tenant ?? NO_TENANT);
    try {
      const { usage } = await this.readUsage(owners);
      const heldOf = new Map<string, number>();
      for (const owner of owners) heldOf.set(owner, (heldOf.get(owner) ?? 0) + 1);
      const chosen: number[] = [];
      while (chosen.length < count) {
        let best = -1;
        let bestLoad = 0;
        for (let index = owners.length - 1; index >= 0; index -= 1) {
          if (!deferrable[index] || usage[index]!.running === 0 || chosen.includes(index)) continue;
          const load = usage[index]!.running + heldOf.get(owners[index]!)!;
          if (load > bestLoad) {
            best = index;
            bestLoad = load;
          }
        }
        if (best === -1) break;
        chosen.push(best);
        heldOf.set(owners[best]!, heldOf.get(owners[best]!)! - 1);
      }
      return chosen;
    } catch (error) {
      this.options.logger.warn(
        { err: error, lane: this.options.lane },
        "fair share unavailable; nothing to the backlog",
      );
      return [];
    }
  }

  /** A probe or spill of `tenant` went behind the queue or to the backlog: it waits like a deferred message (the message decrements it when it returns). */
  async noteProbed(tenant: string | undefined): Promise<void> {
    if (!this.options.enabled) return;
    const { redis, windowMs, slotTtlMs } = this.options;
    const waitingKey = this.keys[2];
    await redis
      .multi()
      .zincrby(waitingKey, 1, tenant ?? NO_TENANT)
      .pexpire(waitingKey, Math.max(windowMs, slotTtlMs) * 2)
      .exec()
      .catch(() => undefined);
  }

  /** Per owner: its running slots in the lane (with those picked here and not yet settled) and its slots taken within the window; and the active tenants. */
  private async readUsage(owners: readonly string[]): Promise<{ usage: TenantUsage[]; active: number }> {
    const { redis, windowMs, slotTtlMs } = this.options;
    const reply = (await usageScript.run(
      redis,
      [this.keys[0], this.keys[1], this.keys[3]],
      [Date.now(), windowMs, slotTtlMs, ...owners],
    )) as number[];
    const flat = reply.map(Number);
    const usage = owners.map((owner, index) => ({
      // Picked here but not yet holding their Redis slot (the gate takes it a few ms later).
      running: flat[2 * index]! + this.startingCount(owner),
      started: flat[2 * index + 1]!,
    }));
    return { usage, active: Math.max(1, flat[flat.length - 1]!) };
  }

  /** The gate reached its decision for a picked message of `tenant` (its slot is in Redis now, or it went elsewhere). */
  settleStart(tenant: string | undefined): void {
    this.starting.get(tenant ?? NO_TENANT)?.shift();
  }

  private startingCount(owner: string): number {
    const now = Date.now();
    const list = (this.starting.get(owner) ?? []).filter((expiry) => expiry > now);
    if (list.length === 0) this.starting.delete(owner);
    else this.starting.set(owner, list);
    return list.length;
  }

  private markStarting(owner: string): void {
    const list = this.starting.get(owner) ?? [];
    // A picked message that never reaches the gate (unparseable, aborted) stops counting after this.
    list.push(Date.now() + STARTING_FORGET_MS);
    this.starting.set(owner, list);
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
