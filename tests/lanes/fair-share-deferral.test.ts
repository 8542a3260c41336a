import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_DEFERRALS } from "../../src/lanes/lane-forward.ts";
import type { Worker } from "../../src/worker.ts";
import { eventsOf, smallJpeg, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

const MAX_RECEIVES = 2;
const KEY = (tenant: string, name: string) => `tenants/${tenant}/users/u1/media/${name}`;

/**
 * Fair share end to end, with one lane (the default configuration): a worker of two slots,
 * deferral by re-send with a 1 s delay, and a queue whose redrive policy moves a message to the
 * DLQ after two receives. Test order matters: the lone tenant runs before any other is seen.
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

  test("an over-share tenant's message is deferred more times than maxReceiveCount, still completes once, and never reaches the DLQ", async () => {
    const image = await smallJpeg();
    // small's one upload makes it an active tenant for FAIR_SHARE_WINDOW (30 s).
    const small = await lanes.stack.uploadAndNotify(KEY("small", "one.jpg"), image);
    await lanes.stack.waitForJob(small);
    // big takes one of the two slots for 6 s: its share is 2 slots / 3 active tenants (solo, small, big).
    const long = await lanes.stack.uploadAndNotify(KEY("big", "sleep-6000-long.jpg"), image);
    await lanes.stack.waitForJob(long, (job) => job.status === "processing");
    const next = await lanes.stack.uploadAndNotify(KEY("big", "next.jpg"), image);
    const job = await lanes.stack.waitForJob(next, (record) => record.status === "completed", 60_000);
    const deferrals = job.timeline.filter((entry) => entry.event === "deferred");
    assert.ok(
      deferrals.length > MAX_RECEIVES,
      `deferred ${deferrals.length} times (more than maxReceiveCount ${MAX_RECEIVES}): ${eventsOf(job).join(",")}`,
    );
    assert.ok(deferrals.length <= MAX_DEFERRALS);
    assert.deepEqual(
      deferrals.map((entry) => (entry.detail as { deferrals?: number }).deferrals),
      deferrals.map((_, index) => index + 1),
      "each deferral carries its count",
    );
    assert.equal(job.attempts, 1, "deferrals are not attempts");
    assert.deepEqual(workersOf(job), ["w-fair"]);
    assert.equal(lanes.runs.filter((run) => run.jobId === next).length, 1);
    await lanes.stack.waitForJob(long);
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "media queue drained");
    await sleep(500);
    assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0, "nothing went to the DLQ");
    const waiting = await worker.metrics.registry.getSingleMetricAsString("media_lane_forwards_total");
    assert.match(waiting, /media_lane_forwards_total\{lane="media",reason="fair-share"\} [3-9]/);
  });
});
