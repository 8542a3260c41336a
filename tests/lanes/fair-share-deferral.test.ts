import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_DEFERRALS } from "../../src/lanes/lane-forward.ts";
import type { Worker } from "../../src/worker.ts";
import { eventsOf, smallJpeg, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

const MAX_RECEIVES = 1;
const KEY = (tenant: string, name: string) => `tenants/${tenant}/users/u1/media/${name}`;

/**
 * Fair share end to end, with one lane (the default configuration): a worker of two slots that
 * looks 2 messages ahead, deferral by re-send with a 1 s delay, and a queue whose redrive policy
 * moves a message to the DLQ on its second receive — so a deferral made by a visibility change
 * would dead-letter the upload. Test order matters: the lone tenant runs before any other is seen.
 */
describe("fair share through the worker (emulator, real Redis, one lane)", () => {
  let lanes: LaneStack;
  let worker: Worker;
  before(async () => {
    lanes = await startLaneStack({ maxReceiveCount: MAX_RECEIVES });
    worker = await lanes.stack.startAnotherWorker({
      MEDIA_PROCESSOR_CONCURRENCY: "2",
      FAIR_SHARE: "true",
      FAIR_SHARE_DEFER: "1",
      FAIR_SHARE_LOOKAHEAD: "media=2",
      WORKER_ID: "w-fair",
    });
  });
  after(async () => {
    await lanes.stop();
  });

  test("a lone tenant is never deferred, even with four times the worker's slots queued", async () => {
    const image = await smallJpeg();
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        lanes.stack.uploadAndNotify(KEY("solo", `sleep-400-${index}.jpg`), image),
      ),
    );
    for (const id of ids) {
      const job = await lanes.stack.waitForJob(id);
      assert.equal(job.status, "completed");
      assert.ok(!eventsOf(job).includes("deferred"), `${id}: ${eventsOf(job).join(",")}`);
    }
    const forwards = await worker.metrics.registry.getSingleMetricAsString("media_lane_forwards_total");
    assert.doesNotMatch(forwards, /reason="fair-share"/);
  });

  test("a tenant at its share whose held messages fill the look-ahead has them deferred by re-send, more often than maxReceiveCount; each completes once and none reaches the DLQ", async () => {
    const image = await smallJpeg();
    // small's one upload makes it an active tenant for FAIR_SHARE_WINDOW (30 s).
    const small = await lanes.stack.uploadAndNotify(KEY("small", "one.jpg"), image);
    await lanes.stack.waitForJob(small);
    // big runs one long job: its share of the 2 slots among 3 active tenants (solo, small, big).
    const long = await lanes.stack.uploadAndNotify(KEY("big", "sleep-6000-long.jpg"), image);
    await lanes.stack.waitForJob(long, (job) => job.status === "processing");
    // big's next uploads fill the look-ahead and may not start (big is at its share while small
    // is active), so they are put back behind the queue, again and again until long ends.
    const next = [];
    for (const name of ["next-1.jpg", "next-2.jpg", "next-3.jpg"])
      next.push(await lanes.stack.uploadAndNotify(KEY("big", name), image));
    const jobs = await Promise.all(
      next.map((id) => lanes.stack.waitForJob(id, (record) => record.status === "completed", 60_000)),
    );
    const deferralsOf = (job: (typeof jobs)[number]) => job.timeline.filter((entry) => entry.event === "deferred");
    const most = Math.max(...jobs.map((job) => deferralsOf(job).length));
    assert.ok(
      most > MAX_RECEIVES,
      `some message was deferred more than maxReceiveCount (${MAX_RECEIVES}) times: ${jobs.map((job) => eventsOf(job).join(",")).join(" | ")}`,
    );
    for (const job of jobs) {
      const deferrals = deferralsOf(job);
      assert.ok(deferrals.length <= MAX_DEFERRALS);
      assert.deepEqual(
        deferrals.map((entry) => (entry.detail as { deferrals?: number }).deferrals),
        deferrals.map((_, index) => index + 1),
        "each deferral carries its count",
      );
      assert.equal(job.attempts, 1, "deferrals are not attempts");
      assert.deepEqual(workersOf(job), ["w-fair"]);
      assert.equal(lanes.runs.filter((run) => run.jobId === job.id).length, 1);
    }
    await lanes.stack.waitForJob(long);
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "media queue drained");
    await sleep(500);
    assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0, "nothing went to the DLQ");
    const forwards = await worker.metrics.registry.getSingleMetricAsString("media_lane_forwards_total");
    assert.match(forwards, /media_lane_forwards_total\{lane="media",reason="fair-share"\} [2-9]/);
  });

  test("without look-ahead (a video lane) no message is ever deferred, however far over its share its tenant is", async () => {
    await worker.stop(1_000);
    worker = await lanes.stack.startAnotherWorker({
      MEDIA_PROCESSOR_CONCURRENCY: "2",
      FAIR_SHARE: "true",
      FAIR_SHARE_DEFER: "1",
      FAIR_SHARE_LOOKAHEAD: "media=0",
      WORKER_ID: "w-no-lookahead",
    });
    const image = await smallJpeg();
    // big2 holds both slots while small2 is active; its third upload has nothing held behind it:
    // putting it back would only idle the slot it frees, so it waits and runs.
    const small = await lanes.stack.uploadAndNotify(KEY("small2", "one.jpg"), image);
    await lanes.stack.waitForJob(small);
    const longs = [
      await lanes.stack.uploadAndNotify(KEY("big2", "sleep-2500-a.jpg"), image),
      await lanes.stack.uploadAndNotify(KEY("big2", "sleep-2500-b.jpg"), image),
    ];
    for (const id of longs) await lanes.stack.waitForJob(id, (job) => job.status === "processing");
    const lone = await lanes.stack.uploadAndNotify(KEY("big2", "third.jpg"), image);
    const job = await lanes.stack.waitForJob(lone, (record) => record.status === "completed", 30_000);
    assert.ok(!eventsOf(job).includes("deferred"), eventsOf(job).join(","));
  });
});
