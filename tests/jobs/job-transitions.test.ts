import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { JobErrorInfo } from "../../src/errors.ts";
import { jobIdFor, type JobSource } from "../../src/jobs/job.model.ts";
import type { JobStore } from "../../src/jobs/job.store.ts";
import { sentCommands, startStoreHarness, type StoreHarness, type TestStore } from "../helpers/redis-store.ts";

/**
 * Each transition script against a real redis-server, a fresh key prefix per test: claim,
 * complete, fail, release, requeue, markPublished, setProgress, renewLease, requestCancel —
 * including the stale-lease-holder guard, a lapsed lease finished by the same worker, and a
 * cancel that arrives before any worker claimed the job. A lapsed lease is the lease key gone,
 * which is what Redis's PX expiry does; the tests delete it rather than wait for it.
 */
const source = (key: string): JobSource => ({ bucket: "media", key, eTag: "e1" });
const claimOf = (store: JobStore, key: string, messageId = "m1") =>
  store.claim({ id: jobIdFor(source(key)), source: source(key), tenantId: "acme", userId: "ana", messageId });
const transient: JobErrorInfo = { category: "transient", code: "s3-unavailable", message: "503", retryable: true };
const processing: JobErrorInfo = {
  category: "processing",
  code: "image-unreadable",
  message: "corrupt",
  retryable: false,
};

describe("job transition scripts (real Redis)", () => {
  let h: StoreHarness;
  let t: TestStore;
  before(async () => {
    h = await startStoreHarness();
  });
  after(async () => {
    await h.stop();
  });
  const fresh = () => (t = h.store());
  const dropLease = (id: string) => h.redis.del(`${t.prefix}lease:${id}`);
  const members = (index: string) => h.redis.zrange(`${t.prefix}idx:${index}`, "0", "-1");
  const gauges = async () => h.redis.hgetall(`${t.prefix}stats:now`);

  describe("claim", () => {
    test("a new job is recorded processing with its tenant, in the indexes and the gauges, with a lease", async () => {
      fresh();
      const id = jobIdFor(source("a.png"));
      const claim = await claimOf(t.store, "a.png");
      assert.deepEqual([claim.outcome, claim.attempts], ["claimed", 1]);
      const job = await t.store.get(id);
      assert.deepEqual(
        [job?.status, job?.type, job?.tenantId, job?.userId, job?.workerId, job?.messageId],
        ["processing", "pending", "acme", "ana", "worker-a", "m1"],
      );
      assert.deepEqual(
        job?.timeline.map((entry) => entry.event),
        ["received"],
      );
      assert.equal(await h.redis.get(`${t.prefix}lease:${id}`), claim.leaseToken);
      for (const index of [
        "all",
        "s=processing",
        "t=pending",
        "n=acme",
        "s=processing:t=pending",
        "s=processing:n=acme",
        "t=pending:n=acme",
        "s=processing:t=pending:n=acme",
      ]) {
        assert.deepEqual(await members(index), [id], index);
      }
      assert.deepEqual(await gauges(), { processing: "1" });
    });

    test("a second worker is told busy (with the holder's message id) while the lease lives; a terminal job answers its status", async () => {
      fresh();
      await claimOf(t.store, "b.png", "m-first");
      const other = await claimOf(t.peer("worker-b"), "b.png", "m-second");
      assert.deepEqual([other.outcome, other.holderMessageId], ["busy", "m-first"]);
      const id = jobIdFor(source("b.png"));
      const mine = await claimOf(t.store, "b.png", "m-first");
      assert.equal(
        mine.outcome,
        "busy",
        "a new claim, even by the same worker, gets a new lease token: the live lease is someone else's",
      );
      await dropLease(id);
      const retaken = await claimOf(t.store, "b.png", "m-first");
      assert.equal(retaken.outcome, "claimed");
      assert.ok(await t.store.complete(id, retaken.leaseToken, { outputs: [] }, t.now()));
      assert.deepEqual([(await claimOf(t.peer("worker-b"), "b.png")).outcome], ["completed"]);
    });

    test("a lapsed lease is taken over by another worker: attempts go up and the timeline says so", async () => {
      fresh();
      const id = jobIdFor(source("c.png"));
      await claimOf(t.store, "c.png");
      await dropLease(id);
      const taken = await claimOf(t.peer("worker-b"), "c.png", "m2");
      assert.deepEqual([taken.outcome, taken.attempts], ["claimed", 2]);
      const job = await t.store.get(id);
      assert.equal(job?.workerId, "worker-b");
      assert.deepEqual(job?.timeline.at(-1)?.event, "lease-expired");
      assert.deepEqual(job?.timeline.at(-1)?.detail, { previousWorker: "worker-a", workerId: "worker-b", attempt: 2 });
      assert.deepEqual(await gauges(), { processing: "1" }, "no double count when a processing job changes hands");
    });

    test("cancel before claim: a queued job cancelled while it waits is dropped when a worker claims it", async () => {
      fresh();
      const id = jobIdFor(source("d.png"));
      await t.store.enqueue({ id, source: source("d.png"), tenantId: "acme", userId: undefined, via: "intake" });
      assert.equal(await t.store.requestCancel(id, { by: "ops", via: "api" }), "queued");
      const claim = await claimOf(t.store, "d.png");
      assert.equal(claim.outcome, "cancelled");
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.attempts, job?.error?.code], ["cancelled", 0, "cancelled"]);
      assert.deepEqual(
        job?.timeline.map((entry) => entry.event),
        ["queued", "cancelled"],
      );
      assert.deepEqual(job?.timeline[1]?.detail, { by: "ops", via: "api", reason: "cancel requested while queued" });
      assert.deepEqual(await gauges(), { queued: "0", cancelled: "1" });
      assert.deepEqual(await members("s=cancelled:n=acme"), [id]);
      assert.deepEqual(await members("s=queued"), []);
    });

    test("cancel of a processing job whose worker died: the next claim ends it cancelled instead of processing it again", async () => {
      fresh();
      const id = jobIdFor(source("e.png"));
      await claimOf(t.store, "e.png");
      assert.equal(await t.store.requestCancel(id), "processing");
      await dropLease(id);
      const claim = await claimOf(t.peer("worker-b"), "e.png", "m2");
      assert.equal(claim.outcome, "cancelled");
      assert.equal((await t.store.get(id))?.status, "cancelled");
      assert.equal(await h.redis.exists(`${t.prefix}lease:${id}`), 0);
    });
  });

  describe("complete / fail / release", () => {
    test("the stale lease holder cannot overwrite the worker that took the job over", async () => {
      fresh();
      const id = jobIdFor(source("f.png"));
      const stale = await claimOf(t.store, "f.png");
      await dropLease(id);
      const fresh2 = await claimOf(t.peer("worker-b"), "f.png", "m2");
      assert.equal(
        await t.store.complete(id, stale.leaseToken, { outputs: ["old"] }, t.now()),
        false,
        "A's lease is gone and B holds the job",
      );
      assert.equal(await t.store.fail(id, stale.leaseToken, processing, t.now()), false);
      assert.equal(await t.store.release(id, stale.leaseToken, "released"), false);
      assert.equal((await t.store.get(id))?.status, "processing");
      assert.equal(await t.peer("worker-b").complete(id, fresh2.leaseToken, { outputs: ["new"] }, t.now()), true);
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.result], ["completed", { outputs: ["new"] }]);
    });

    test("a lapsed lease nobody took over: the same worker may still finish its job; another worker's id may not", async () => {
      fresh();
      const id = jobIdFor(source("g.png"));
      const claim = await claimOf(t.store, "g.png");
      await dropLease(id);
      assert.equal(
        await t.peer("worker-b").complete(id, claim.leaseToken, {}, t.now()),
        false,
        "the token matches no live lease and the job names worker-a",
      );
      t.advance(1500);
      assert.equal(await t.store.complete(id, claim.leaseToken, { outputs: [] }, t.now() - 1500), true);
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.durationMs, job?.progress], ["completed", 1500, 100]);
      assert.deepEqual(await gauges(), { processing: "0", completed: "1" });
    });

    test("fail records the error and counts category and code; a cancelled-category failure ends cancelled", async () => {
      fresh();
      const id = jobIdFor(source("h.png"));
      const claim = await claimOf(t.store, "h.png");
      await t.store.setType(id, "image");
      assert.equal(await t.store.fail(id, claim.leaseToken, processing, t.now()), true);
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.error], ["failed", processing]);
      assert.deepEqual(await members("s=failed:t=image:n=acme"), [id]);
      const minute = Math.floor(t.now() / 60_000);
      const counts = await h.redis.hgetall(`${t.prefix}stats:m:${minute}`);
      assert.deepEqual(
        [counts["failed:image"], counts["cat:processing"], counts["code:image-unreadable"]],
        ["1", "1", "1"],
      );

      const other = jobIdFor(source("i.png"));
      const second = await claimOf(t.store, "i.png");
      assert.equal(
        await t.store.fail(
          other,
          second.leaseToken,
          { category: "cancelled", code: "cancelled", message: "cancelled", retryable: false },
          t.now(),
        ),
        true,
      );
      assert.equal((await t.store.get(other))?.status, "cancelled");
    });

    test("release puts the job back to queued with the error, counts a retry and frees the lease", async () => {
      fresh();
      const id = jobIdFor(source("j.png"));
      const claim = await claimOf(t.store, "j.png");
      assert.equal(await t.store.release(id, claim.leaseToken, "retry-scheduled", transient, { delaySec: 4 }), true);
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.error?.code, job?.progress], ["queued", "s3-unavailable", 0]);
      assert.deepEqual(job?.timeline.at(-1)?.detail, {
        code: "s3-unavailable",
        category: "transient",
        message: "503",
        delaySec: 4,
      });
      assert.equal(await h.redis.exists(`${t.prefix}lease:${id}`), 0);
      const counts = await h.redis.hgetall(`${t.prefix}stats:m:${Math.floor(t.now() / 60_000)}`);
      assert.equal(counts.retries, "1");
      const again = await claimOf(t.store, "j.png", "m1");
      assert.deepEqual([again.outcome, again.attempts], ["claimed", 2]);
    });

    test("requeue moves only from the allowed states, and clears the last outcome", async () => {
      fresh();
      const id = jobIdFor(source("k.png"));
      const claim = await claimOf(t.store, "k.png");
      assert.equal(await t.store.requeue(id, ["failed", "cancelled"]), false, "processing is not a retryable state");
      await t.store.complete(id, claim.leaseToken, { outputs: [1] }, t.now());
      assert.equal(await t.store.requeue(id, ["failed", "cancelled"]), false);
      assert.equal(await t.store.requeue(id, ["failed", "cancelled", "completed"], { by: "ops" }), true);
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.result, job?.finishedAt], ["queued", undefined, undefined]);
      assert.deepEqual(await gauges(), { processing: "0", completed: "0", queued: "1" });
    });
  });

  describe("markPublished", () => {
    test("marks only the terminal state the event was for; a retried job's new state stays unpublished", async () => {
      fresh();
      const id = jobIdFor(source("l.png"));
      const claim = await claimOf(t.store, "l.png");
      await t.store.complete(id, claim.leaseToken, {}, t.now());
      const finishedAt = Date.parse((await t.store.get(id))!.finishedAt!);
      assert.equal(await t.store.markPublished(id, "ev1", "failed", finishedAt, {}), false, "another status");
      assert.equal(await t.store.markPublished(id, "ev1", "completed", finishedAt + 1, {}), false, "another finish");
      assert.equal(await t.store.markPublished(id, "ev1", "completed", finishedAt, { topic: "x" }), true);
      assert.equal((await t.store.get(id))?.announcedEventId, "ev1");
      await t.store.requeue(id, ["completed"]);
      assert.equal((await t.store.get(id))?.announcedEventId, undefined, "a new state has not been published");
      assert.equal(await t.store.markPublished(id, "ev1", "completed", finishedAt, {}), false);
    });
  });

  describe("progress, lease renewal and durable cancel", () => {
    test("setProgress is one round trip and writes only for the lease holder", async () => {
      fresh();
      const id = jobIdFor(source("m.png"));
      const claim = await claimOf(t.store, "m.png");
      await t.store.setProgress(id, claim.leaseToken, 1); // loads the script
      const sent = await sentCommands(h.redis, () => t.store.setProgress(id, claim.leaseToken, 42.4));
      assert.deepEqual(sent, ["evalsha"]);
      assert.equal((await t.store.get(id))?.progress, 42);
      assert.equal(await t.store.setProgress(id, "not-the-lease", 90), false);
      assert.equal((await t.store.get(id))?.progress, 42);
    });

    test("renewLease extends only our lease and reports the durable cancel flag", async () => {
      fresh();
      const id = jobIdFor(source("n.png"));
      const claim = await claimOf(t.store, "n.png");
      assert.deepEqual(await t.store.renewLease(id, claim.leaseToken), { held: true, cancelRequested: false });
      assert.deepEqual(await t.store.renewLease(id, "someone-else"), { held: false, cancelRequested: false });
      assert.equal(await t.store.requestCancel(id, { by: "ops", via: "api" }), "processing");
      assert.deepEqual(
        await t.store.renewLease(id, claim.leaseToken),
        { held: true, cancelRequested: true },
        "seen without any pub/sub message",
      );
      const job = await t.store.get(id);
      assert.deepEqual([job?.status, job?.cancelRequested], ["processing", true]);
      assert.deepEqual(job?.timeline.at(-1), {
        at: job?.timeline.at(-1)?.at,
        event: "cancel-requested",
        detail: { by: "ops", via: "api" },
      });
    });

    test("requestCancel answers missing, and leaves finished jobs alone", async () => {
      fresh();
      assert.equal(await t.store.requestCancel("0123456789abcdef01234567"), "missing");
      const id = jobIdFor(source("o.png"));
      const claim = await claimOf(t.store, "o.png");
      await t.store.complete(id, claim.leaseToken, {}, t.now());
      assert.equal(await t.store.requestCancel(id), "completed");
      assert.equal((await t.store.get(id))?.cancelRequested, undefined);
    });
  });
});
