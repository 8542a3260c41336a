import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import { MAX_DEFERRALS } from "../../src/lanes/lane-forward.ts";
import { newSequencer } from "../../src/s3-events/s3-event.parser.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { smallJpeg, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

const KEY = (tenant: string, name: string) => `tenants/${tenant}/users/u1/media/${name}`;

/** No two of `jobs` ran at the same time (50 ms for the clocks of start and finish records). */
function assertOneAtATime(jobs: readonly JobRecord[], what: string): void {
  const spans = jobs.map((job) => [Date.parse(job.startedAt!), Date.parse(job.finishedAt!)] as const);
  spans.sort((x, y) => x[0] - y[0]);
  for (let index = 1; index < spans.length; index += 1)
    assert.ok(spans[index]![0] >= spans[index - 1]![1] - 50, `${what} ${index - 1} and ${index} overlapped`);
}

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
      // The pick alone (a newcomer slot would start B at once too: the next test).
      FAIR_SHARE_NEWCOMER_SLOTS: "quick=0",
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

  test("with FAIR_SHARE, a flooding tenant keeps to its share of the slots while a neighbour is active, so the neighbour's next upload starts at once; alone again, it takes every slot", async () => {
    const worker = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "2",
      FAIR_SHARE: "true",
      FAIR_SHARE_WINDOW: "4s",
      WORKER_ID: "w-share",
    });
    try {
      const image = await smallJpeg();
      // The neighbour's one upload makes it active for the 4 s window.
      await lanes.stack.waitForJob(await lanes.stack.uploadAndNotify(KEY("calm-g", "one.jpg"), image));
      const flood: string[] = [];
      for (let index = 0; index < 8; index += 1)
        flood.push(await lanes.stack.uploadAndNotify(KEY("flood-f", `sleep-1500-${index}.jpg`), image));
      await lanes.stack.waitForJob(flood[0]!, (job) => job.status === "processing");
      await sleep(700);
      const running = async () =>
        (await Promise.all(flood.map((id) => lanes.stack.store.get(id)))).filter((job) => job?.status === "processing")
          .length;
      assert.equal(await running(), 1, "one of the two slots, while calm-g is active");
      const sentAt = Date.now();
      const next = await lanes.stack.uploadAndNotify(KEY("calm-g", "two.jpg"), image);
      const started = await lanes.stack.waitForJob(next, (job) => job.startedAt !== undefined);
      assert.ok(
        Date.parse(started.startedAt!) - sentAt < 1_000,
        `calm-g waited ${Date.parse(started.startedAt!) - sentAt} ms`,
      );
      // calm-g goes quiet; once the window is over flood-f may use both slots.
      await waitFor(async () => (await running()) === 2, "flood-f to take both slots once alone", 15_000, 50);
      for (const id of flood) assert.equal((await lanes.stack.waitForJob(id, undefined, 40_000)).status, "completed");
    } finally {
      await worker.stop(1_000);
    }
  });

  test("with its one slot busy with a flood's job, a newcomer tenant's upload starts at once in the newcomer slot and the flood never takes it; with no newcomer slot it waits for the running job", async () => {
    const image = await smallJpeg();
    for (const [slots, a, b] of [
      ["quick=1", "nc-flood-a", "nc-one-b"],
      ["quick=0", "nc-flood-c", "nc-one-d"],
    ] as const) {
      const worker = await lanes.startLaneWorker({
        WORKER_LANES: "quick",
        MEDIA_PROCESSOR_CONCURRENCY: "1",
        FAIR_SHARE: "true",
        FAIR_SHARE_NEWCOMER_SLOTS: slots,
        WORKER_ID: `w-newcomer-${slots.slice(-1)}`,
      });
      try {
        const flood: string[] = [];
        for (let index = 0; index < 3; index += 1)
          flood.push(await lanes.stack.uploadAndNotify(KEY(a, `sleep-1500-${index}.jpg`), image));
        await lanes.stack.waitForJob(flood[0]!, (job) => job.status === "processing");
        await sleep(200);
        const sentAt = Date.now();
        const one = await lanes.stack.uploadAndNotify(KEY(b, "sleep-100-one.jpg"), image);
        const newcomer = await lanes.stack.waitForJob(one, undefined, 30_000);
        assert.equal(newcomer.status, "completed", JSON.stringify(newcomer.error));
        const floodJobs = await Promise.all(flood.map((id) => lanes.stack.waitForJob(id, undefined, 30_000)));
        const firstEnd = Date.parse(floodJobs[0]!.finishedAt!);
        const waited = Date.parse(newcomer.startedAt!) - sentAt;
        if (slots === "quick=1") {
          assert.ok(waited < 1_000, `the newcomer waited ${waited} ms`);
          assert.ok(Date.parse(newcomer.startedAt!) < firstEnd, "it ran beside the flood's running job");
          // The flood ran one job at a time: the extra slot is never the flood's.
          assertOneAtATime(floodJobs, "flood jobs");
        } else {
          assert.ok(
            Date.parse(newcomer.startedAt!) >= firstEnd - 50,
            `without a newcomer slot it started ${firstEnd - Date.parse(newcomer.startedAt!)} ms before the running job ended`,
          );
        }
        for (const id of [...flood, one]) assert.equal(lanes.runs.filter((run) => run.jobId === id).length, 1);
      } finally {
        await worker.stop(1_000);
      }
    }
  });

  test("a flood deeper than the look-ahead: held messages of a running tenant go behind the queue one by one until the neighbour queued behind them is seen, and it starts at once", async () => {
    const worker = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
      FAIR_SHARE: "true",
      // A look-ahead of 2 against a burst of 8: B's upload is five messages beyond what the worker holds.
      FAIR_SHARE_LOOKAHEAD: "quick=2",
      FAIR_SHARE_NEWCOMER_SLOTS: "quick=1",
      WORKER_ID: "w-probe",
    });
    try {
      const { aIds, bId } = await burstThenOne("deep-a", "behind-b", 8, 800);
      const jobs = await Promise.all([...aIds, bId].map((id) => lanes.stack.waitForJob(id, undefined, 60_000)));
      for (const job of jobs) assert.equal(job.status, "completed", `${job.id}: ${JSON.stringify(job.error)}`);
      const b = jobs.at(-1)!;
      const aStarts = jobs
        .slice(0, -1)
        .map((job) => Date.parse(job.startedAt!))
        .sort((x, y) => x - y);
      // Without probes B would start after six of A's (it is seen only once they have run).
      assert.ok(
        Date.parse(b.startedAt!) < aStarts[2]!,
        `B started after ${aStarts.filter((at) => at <= Date.parse(b.startedAt!)).length} of A's 8`,
      );
      const probes = jobs.flatMap((job) => job.timeline.filter((entry) => entry.event === "requeued"));
      assert.ok(probes.length > 0, "A's held messages went behind the queue as probes");
      assert.equal(
        b.timeline.filter((entry) => entry.event === "deferred" || entry.event === "requeued").length,
        0,
        "the neighbour itself was never put back",
      );
      for (const id of [...aIds, bId])
        assert.equal(lanes.runs.filter((run) => run.jobId === id).length, 1, `${id} ran once`);
      await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "media queue drained");
      assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0);
    } finally {
      await worker.stop(1_000);
    }
  });

  test("a lone tenant's flood deeper than the look-ahead: probes are bounded (at most MAX_DEFERRALS per upload), every upload runs once, none reaches the DLQ", async () => {
    const worker = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
      FAIR_SHARE: "true",
      FAIR_SHARE_LOOKAHEAD: "quick=2",
      WORKER_ID: "w-lone-probe",
    });
    try {
      const image = await smallJpeg();
      const ids: string[] = [];
      for (let index = 0; index < 6; index += 1)
        ids.push(await lanes.stack.uploadAndNotify(KEY("lone-l", `sleep-500-${index}.jpg`), image));
      const jobs = await Promise.all(ids.map((id) => lanes.stack.waitForJob(id, undefined, 60_000)));
      for (const job of jobs) {
        assert.equal(job.status, "completed", `${job.id}: ${JSON.stringify(job.error)}`);
        const putBack = job.timeline.filter((entry) => entry.event === "deferred" || entry.event === "requeued");
        assert.equal(
          putBack.filter((entry) => entry.event === "deferred").length,
          0,
          "a lone tenant is never deferred",
        );
        assert.ok(putBack.length <= MAX_DEFERRALS, `${putBack.length} probes`);
        assert.equal(lanes.runs.filter((run) => run.jobId === job.id).length, 1, `${job.id} ran once`);
      }
      // One at a time: a probe never runs as a job beside the one in the slot.
      assertOneAtATime(jobs, "jobs");
      await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "media queue drained");
      assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0);
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
