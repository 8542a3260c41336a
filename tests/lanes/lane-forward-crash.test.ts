import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { waitForValue } from "../helpers/wait-for.ts";
import { eventsOf, fakeMp4, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

/**
 * The forward-then-delete order under a real fault: the quick-lane worker talks to SQS through a
 * proxy that resets every DeleteMessage, so its forward reaches the video queue but the original
 * is never deleted (what a crash between the two leaves). The original comes back after its
 * visibility timeout, is forwarded again, and the duplicate is dropped by the job-id claim.
 */
describe("lanes: a forward whose original could not be deleted (fault proxy on SQS)", () => {
  let lanes: LaneStack;
  let proxy: FaultProxy;
  before(async () => {
    lanes = await startLaneStack({ maxReceiveCount: 10 });
    proxy = await startFaultProxy(lanes.stack.local.env.AWS_ENDPOINT_URL!);
    await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      WORKER_ID: "w-quick",
      AWS_ENDPOINT_URL: proxy.endpoint,
      SQS_VISIBILITY_TIMEOUT: "10",
    });
    await lanes.startLaneWorker({ WORKER_LANES: "video", WORKER_ID: "w-video" });
  });
  after(async () => {
    await lanes.stop();
    await proxy.close();
  });

  test("the original comes back, is forwarded again, and the job still runs exactly once", async () => {
    // One DeleteMessage call of the SDK is three attempts (its default retry): reset exactly those.
    const SDK_ATTEMPTS = 3;
    let resetDeletes = 0;
    proxy.setSqsRule((action) => {
      if (action !== "DeleteMessage" || resetDeletes >= SDK_ATTEMPTS) return "pass";
      resetDeletes += 1;
      return "reset";
    });
    const jobId = await lanes.stack.uploadAndNotify("tenants/t1/users/u1/media/undeleted.jpg", fakeMp4());
    const first = await lanes.stack.waitForJob(jobId);
    assert.equal(first.status, "completed");
    await waitForValue(
      () => resetDeletes,
      (count) => count >= SDK_ATTEMPTS,
      "the quick worker's delete of the original to fail",
    );
    // The original reappears after its 10 s visibility timeout and is forwarded a second time.
    const job = await lanes.stack.waitForJob(
      jobId,
      (record) => eventsOf(record).filter((event) => event === "lane-forwarded").length >= 2,
      40_000,
    );
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "the original deleted the second time", 30_000);
    await lanes.waitForEmpty(lanes.videoQueueUrl, "both forwards taken off the video queue", 30_000);
    const final = (await lanes.stack.store.get(jobId))!;
    assert.equal(final.status, "completed");
    assert.equal(final.attempts, 1, "claimed once");
    assert.deepEqual(workersOf(final), ["w-video"]);
    assert.equal(lanes.runs.filter((run) => run.jobId === jobId).length, 1, "processed exactly once");
    assert.ok(eventsOf(job).includes("completed"));
    assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0);
  });
});
