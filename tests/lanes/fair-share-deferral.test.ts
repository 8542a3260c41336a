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
 * looks 4 messages ahead, deferral by re-send with a 1 s delay, and a queue whose redrive policy
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
      FAIR_SHARE_LOOKAHEAD: "media=4",
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

  test("an over-share tenant's held messages are deferred by re-send while a neighbour is below its share, complete once, and never reach the DLQ", async () => {
    const image = await smallJpeg();
    // small's one upload makes it an active tenant for FAIR_SHARE_WINDOW (30 s).
    const small = await lanes.stack.uploadAndNotify(KEY("small", "one.jpg"), image);
    await lanes.stack.waitForJob(small);
    // big takes both slots for a while; its share is 2 slots / 3 active tenants (solo, small, big).
    const longs = [
      await lanes.stack.uploadAndNotify(KEY("big", "sleep-5000-long-1.jpg"), image),
      await lanes.stack.uploadAndNotify(KEY("big", "sleep-7000-long-2.jpg"), image),
    ];
    for (const id of longs) await lanes.stack.waitForJob(id, (job) => job.status === "processing");
    // Three more of big's wait held behind the busy slots; when the first long job ends, the
    // first two to start have others held behind them, so they yield (deferred), the last runs.
    const held = [];
    for (const name of ["next-1.jpg", "next-2.jpg", "next-3.jpg"])
      held.push(await lanes.stack.uploadAndNotify(KEY("big", name), image));
    const jobs = await Promise.all(
      held.map((id) => lanes.stack.waitForJob(id, (record) => record.status === "completed", 60_000)),
    );
    const deferralsOf = (job: (typeof jobs)[number]) => job.timeline.filter((entry) => entry.event === "deferred");
    const deferred = jobs.filter((job) => deferralsOf(job).length > 0);
    assert.ok(
      deferred.length >= 1,
      `some held message was deferred: ${jobs.map((job) => eventsOf(job).join(",")).join(" | ")}`,
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
    for (const id of longs) await lanes.stack.waitForJob(id);
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "media queue drained");
    await sleep(500);
    assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0, "nothing went to the DLQ");
    const forwards = await worker.metrics.registry.getSingleMetricAsString("media_lane_forwards_total");
    assert.match(forwards, /media_lane_forwards_total\{lane="media",reason="fair-share"\} [1-9]/);
  });

  test("a message with nothing held behind it is never deferred, however far over its share its tenant is", async () => {
    const image = await smallJpeg();
    // big2 holds both slots while small2 is active; big2's third upload arrives with nothing
    // else held: putting it back would only idle the slot it frees, so it waits and runs.
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
