import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisServerProcess } from "../../src/dev/redis-server.ts";
import { FairShare, type Admission, type Slot } from "../../src/lanes/fair-share.ts";
import { createLogger } from "../../src/logger.ts";

/** Fair share against a real redis-server: each test on a fresh key prefix, workers as separate FairShare instances. */
describe("fair share per tenant in a lane (real Redis)", () => {
  let server: RedisServerProcess;
  let redis: Redis;
  const clients: Redis[] = [];
  before(async () => {
    server = await RedisServerProcess.start();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    redis.disconnect();
    await server.destroy();
  });

  const lane = (options: {
    capacity: number;
    slotTtlMs?: number;
    windowMs?: number;
    prefix?: string;
    client?: Redis;
  }) =>
    new FairShare({
      redis: options.client ?? redis,
      keyPrefix: options.prefix ?? `t${randomUUID().slice(0, 8)}:`,
      lane: "quick",
      enabled: true,
      windowMs: options.windowMs ?? 30_000,
      slotTtlMs: options.slotTtlMs ?? 60_000,
      capacity: async () => options.capacity,
      logger: createLogger("silent"),
    });
  const slotOf = (admission: Admission): Slot => {
    assert.ok(admission.admitted, `expected a slot, got ${JSON.stringify(admission)}`);
    return admission.slot;
  };
  const asNew = { mayDefer: true, returning: false };

  test("a lone tenant is never deferred, however far past the lane's capacity it goes", async () => {
    const share = lane({ capacity: 2 });
    for (let index = 0; index < 25; index += 1)
      assert.equal((await share.admit("t1", asNew)).admitted, true, `admission ${index + 1}`);
  });

  /** A tenant whose one job already finished: seen in the window, holding nothing. */
  const seenOnce = async (share: FairShare, tenant: string) => slotOf(await share.admit(tenant, asNew)).release();

  test("a tenant at its share is deferred while another tenant waits below its share, and runs again once it is under", async () => {
    const share = lane({ capacity: 3 });
    const first = slotOf(await share.admit("big", asNew));
    slotOf(await share.admit("big", asNew)); // lone so far: runs past any share
    slotOf(await share.admit("small", asNew)); // small holds 0 < share 1.5: runs
    const deferred = await share.admit("big", asNew);
    assert.equal(deferred.admitted, false, "big holds 2 of 3 slots, small 1: big is over its share of 1.5");
    assert.deepEqual(deferred.admitted ? undefined : { running: deferred.running, share: deferred.share }, {
      running: 2,
      share: 1.5,
    });
    assert.deepEqual(await share.waitingTenants(), [{ tenant: "big", waiting: 1 }]);
    assert.equal((await share.admit("small", asNew)).admitted, true, "small below its share is never held back");
    await first.release();
    // big now holds 1 (< 1.5): the deferred message comes back and runs.
    assert.equal((await share.admit("big", { mayDefer: true, returning: true })).admitted, true);
    assert.deepEqual(await share.waitingTenants(), [], "the returning deferred message left the waiting count");
  });

  test("a tenant at its share runs when every other active tenant is at its share too (deferring would help nobody)", async () => {
    const share = lane({ capacity: 2 });
    slotOf(await share.admit("big", asNew));
    slotOf(await share.admit("small", asNew));
    assert.equal((await share.admit("big", asNew)).admitted, true);
  });

  test("mayDefer false (a message deferred too often) always runs", async () => {
    const share = lane({ capacity: 2 });
    slotOf(await share.admit("big", asNew));
    await seenOnce(share, "small");
    assert.equal((await share.admit("big", asNew)).admitted, false);
    assert.equal((await share.admit("big", { mayDefer: false, returning: true })).admitted, true);
  });

  test("the count stays right across workers, and a worker that dies holding slots frees them when they expire", async () => {
    const prefix = `t${randomUUID().slice(0, 8)}:`;
    const doomedClient = new Redis(server.url, { maxRetriesPerRequest: 1 });
    doomedClient.on("error", () => undefined);
    clients.push(doomedClient);
    const doomed = lane({ capacity: 2, slotTtlMs: 1_500, prefix, client: doomedClient });
    const survivor = lane({ capacity: 2, slotTtlMs: 1_500, prefix });
    slotOf(await doomed.admit("big", asNew));
    slotOf(await doomed.admit("big", asNew));
    await seenOnce(survivor, "small");
    assert.equal((await survivor.admit("big", asNew)).admitted, false, "the other worker sees big's two slots");
    // The doomed worker dies: no release, no more refreshes (its connection is gone).
    doomedClient.disconnect();
    const running = () => redis.zcard(`${prefix}lane:quick:running`);
    assert.equal(await running(), 2);
    await sleep(2_000);
    const after = await survivor.admit("big", { mayDefer: true, returning: true });
    assert.equal(after.admitted, true, "big's dead slots expired: it holds none and runs");
    assert.equal(await running(), 1, "only the new slot is counted");
  });

  test("a running job's slot is refreshed, so it outlives its TTL while the job runs", async () => {
    const prefix = `t${randomUUID().slice(0, 8)}:`;
    const share = lane({ capacity: 1, slotTtlMs: 900, prefix });
    const slot = slotOf(await share.admit("big", asNew));
    await sleep(2_000);
    assert.equal(await redis.zcard(`${prefix}lane:quick:running`), 1, "still held after twice its TTL");
    await slot.release();
    assert.equal(await redis.zcard(`${prefix}lane:quick:running`), 0, "released at once");
    await slot.release();
  });

  test("a tenant stops counting as waiting after the window, so a lone tenant is not held back by an old neighbour", async () => {
    const share = lane({ capacity: 1, windowMs: 500 });
    slotOf(await share.admit("big", asNew));
    await seenOnce(share, "small");
    assert.equal((await share.admit("big", asNew)).admitted, false, "small seen just now");
    await sleep(800);
    assert.equal((await share.admit("big", asNew)).admitted, true, "small's last message is older than the window");
  });

  test("off (FAIR_SHARE=false), nothing is counted and nothing deferred", async () => {
    const prefix = `t${randomUUID().slice(0, 8)}:`;
    const off = new FairShare({
      redis,
      keyPrefix: prefix,
      lane: "quick",
      enabled: false,
      windowMs: 30_000,
      slotTtlMs: 60_000,
      capacity: async () => 1,
      logger: createLogger("silent"),
    });
    for (const tenant of ["a", "b", "a", "a", "b"]) assert.equal((await off.admit(tenant, asNew)).admitted, true);
    assert.deepEqual(await redis.keys(`${prefix}*`), []);
  });
});
