import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";

/**
 * Redis goes away while jobs are in flight and comes back (with its data, as a real Redis with
 * persistence or a replica failover does). Nothing may be deleted whose job was not recorded;
 * readiness reflects the outage; every job ends terminal, processed once.
 */
describe("Redis outage during processing", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({
      processors: [createSlowProcessor(1_500)],
      persistentRedis: true,
      env: { MEDIA_PROCESSOR_CONCURRENCY: "2" },
    });
  });
  after(async () => {
    await stack.stop();
  });

  const ready = async () => (await fetch(`http://127.0.0.1:${stack.worker.health.port}/readyz`)).status;

  test("jobs in flight and jobs arriving during the outage all complete once Redis is back", async () => {
    assert.equal(await ready(), 200);
    const first = await stack.uploadAndNotify("outage/a.txt", "SLOW a");
    const second = await stack.uploadAndNotify("outage/b.txt", "SLOW b");
    await stack.waitForJob(first, (job) => job.status === "processing");
    await stack.local.redis.stop();
    // Arrives while Redis is down: it cannot be claimed, so it must stay on the queue.
    const third = await stack.uploadAndNotify("outage/c.txt", "SLOW c");
    await sleep(2_500);
    assert.equal(await ready(), 503, "not ready while Redis is down");
    const during = await stack.queueDepth();
    assert.ok(
      during.visible + during.inFlight + during.delayed >= 1,
      `messages kept during the outage: ${JSON.stringify(during)}`,
    );
    await stack.local.redis.start();
    for (const jobId of [first, second, third]) {
      const job = await stack.waitForJob(jobId, (record) => record.status === "completed", 60_000);
      assert.equal(job.status, "completed");
      if (process.env.DEBUG_TIMELINE)
        console.log(jobId, job.timeline.map((entry) => `${entry.at.slice(14, 23)} ${entry.event}`).join(" | "));
      assert.equal(job.timeline.filter((entry) => entry.event === "completed").length, 1, `${jobId} completed once`);
    }
    assert.equal(await ready(), 200, "ready again");
    await stack.waitForEmptyQueue("the media queue drained", 20_000);
    assert.deepEqual(await stack.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
    assert.equal((await stack.queueDepth("dlq")).visible, 0);
  });
});
