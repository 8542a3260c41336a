import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import { newSequencer } from "../../src/s3-events/s3-event.parser.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { smallJpeg, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

const KEY = (tenant: string, name: string) => `tenants/${tenant}/users/u1/media/${name}`;

/**
 * The fair share's look-ahead through a real quick-lane worker (one slot): it holds the messages
 * behind the running one and starts the upload of the tenant that used the lane least, so one
 * upload from B does not wait behind A's whole burst. Each test uses its own tenants, so the
 * window's memory of one test does not steer the next.
 */
describe("fair share look-ahead: a waiting tenant's upload starts before a flood's older ones", () => {
  let lanes: LaneStack;
  before(async () => {
    lanes = await startLaneStack({ maxReceiveCount: 2 });
  });
  after(async () => lanes.stop());

  /** Uploads first, then sends every event in order, so the queue holds A's burst and then B's one. */
  async function burstThenOne(
    a: string,
    b: string,
    burst: number,
    sleepMs: number,
  ): Promise<{ aIds: string[]; bId: string }> {
    const image = await smallJpeg();
    const uploads = [
      ...Array.from({ length: burst }, (_, index) => KEY(a, `sleep-${sleepMs}-${index}.jpg`)),
      KEY(b, `sleep-${sleepMs}-one.jpg`),
    ];
    const sent: string[] = [];
    const stored = await Promise.all(uploads.map(async (key) => ({ key, ...(await lanes.stack.upload(key, image)) })));
    for (const { key, eTag } of stored) {
      const sequencer = newSequencer();
      await lanes.stack.sendEvent(key, eTag, sequencer);
      sent.push(jobIdFor({ bucket: lanes.stack.bucket, key, eTag, sequencer }));
    }
    return { aIds: sent.slice(0, burst), bId: sent[burst]! };
  }

  async function startOrder(ids: string[]): Promise<string[]> {
    const jobs = await Promise.all(ids.map((id) => lanes.stack.waitForJob(id, undefined, 60_000)));
    for (const job of jobs) assert.equal(job.status, "completed", `${job.id}: ${JSON.stringify(job.error)}`);
    return [...jobs].sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!)).map((job) => job.id);
  }

  test("with FAIR_SHARE, B's one upload starts second, ahead of five of A's that were queued before it", async () => {
    const worker = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
      FAIR_SHARE: "true",
      WORKER_ID: "w-pick",
    });
    try {
      const { aIds, bId } = await burstThenOne("flood-a", "one-b", 6, 600);
      const order = await startOrder([...aIds, bId]);
      assert.ok(order.indexOf(bId) <= 1, `B started at position ${order.indexOf(bId) + 1} of ${order.length}`);
      assert.equal(
        lanes.runs.filter((run) => aIds.includes(run.jobId) || run.jobId === bId).length,
        7,
        "each ran once",
      );
    } finally {
      await worker.stop(1_000);
    }
  });

  test("without FAIR_SHARE the same queue runs in arrival order: B starts last", async () => {
    const worker = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
      FAIR_SHARE: "false",
      WORKER_ID: "w-fifo",
    });
    try {
      const { aIds, bId } = await burstThenOne("flood-c", "one-d", 6, 300);
      const order = await startOrder([...aIds, bId]);
      assert.equal(order.indexOf(bId), order.length - 1, `B started at position ${order.indexOf(bId) + 1}`);
    } finally {
      await worker.stop(1_000);
    }
  });

  test("a stopping worker hands back the messages it held unstarted; another worker runs each once and none reaches the DLQ", async () => {
    const first = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
      FAIR_SHARE: "true",
      WORKER_ID: "w-holder",
    });
    const image = await smallJpeg();
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1)
      ids.push(await lanes.stack.uploadAndNotify(KEY("held-e", `sleep-1500-${index}.jpg`), image));
    await lanes.stack.waitForJob(ids[0]!, (job) => job.status === "processing");
    await waitFor(
      () => first.consumer.waiting === 4,
      () => `the worker to hold the other 4 (holds ${first.consumer.waiting})`,
      10_000,
    );
    await first.stop(100);
    const second = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "2",
      FAIR_SHARE: "true",
      WORKER_ID: "w-taker",
    });
    try {
      for (const id of ids) {
        const job = await lanes.stack.waitForJob(id, (record) => record.status === "completed", 60_000);
        assert.equal(lanes.runs.filter((run) => run.jobId === id).length, 1, `${id} ran once`);
        if (id !== ids[0])
          assert.deepEqual(workersOf(job), ["w-taker"], "a held message was never started by the holder");
      }
      await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "media queue drained");
      await sleep(300);
      assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0);
    } finally {
      await second.stop(1_000);
    }
  });
});
