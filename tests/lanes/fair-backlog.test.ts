import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import { newSequencer } from "../../src/s3-events/s3-event.parser.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { smallJpeg, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

const KEY = (tenant: string, name: string) => `tenants/${tenant}/users/u1/media/${name}`;

const movesOf = (job: JobRecord, event: string) => job.timeline.filter((entry) => entry.event === event).length;

/**
 * The quick lane's backlog queue (FAIR_SHARE_BACKLOG_QUEUE_URLS) through real workers, the
 * emulator and Redis: with every slot busy and the look-ahead full, a worker keeps reading the
 * lane's queue and moves a running tenant's surplus to the backlog, so a neighbour's upload
 * queued behind a flood is received at once instead of after the flood. Each test uses its own
 * tenants, so one test's fair-share window does not steer the next.
 */
describe("fair share with a backlog queue: a flood waits in the backlog, the lane's queue stays shallow", () => {
  let lanes: LaneStack;
  before(async () => {
    lanes = await startLaneStack({ maxReceiveCount: 2 });
  });
  after(async () => lanes.stop());

  const backlogEnv = (workerId: string, extra: Record<string, string> = {}) => ({
    WORKER_LANES: "quick",
    MEDIA_PROCESSOR_CONCURRENCY: "1",
    FAIR_SHARE: "true",
    FAIR_SHARE_LOOKAHEAD: "quick=2",
    FAIR_SHARE_NEWCOMER_SLOTS: "quick=1",
    FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${lanes.quickBacklogQueueUrl}`,
    WORKER_ID: workerId,
    ...extra,
  });

  /** Uploads first, then sends every event in order: A's burst, then B's one. */
  async function burstThenOne(a: string, b: string, burst: number, sleepMs: number) {
    const image = await smallJpeg();
    const uploads = [
      ...Array.from({ length: burst }, (_, index) => KEY(a, `sleep-${sleepMs}-${index}.jpg`)),
      KEY(b, `sleep-${sleepMs}-one.jpg`),
    ];
    const stored = await Promise.all(uploads.map(async (key) => ({ key, ...(await lanes.stack.upload(key, image)) })));
    const sent: Array<{ id: string; at: number }> = [];
    for (const { key, eTag } of stored) {
      const sequencer = newSequencer();
      await lanes.stack.sendEvent(key, eTag, sequencer);
      sent.push({ id: jobIdFor({ bucket: lanes.stack.bucket, key, eTag, sequencer }), at: Date.now() });
    }
    return { aIds: sent.slice(0, burst).map((entry) => entry.id), b: sent[burst]! };
  }

  async function completed(ids: readonly string[]): Promise<JobRecord[]> {
    const jobs = await Promise.all(ids.map((id) => lanes.stack.waitForJob(id, undefined, 90_000)));
    for (const job of jobs) assert.equal(job.status, "completed", `${job.id}: ${JSON.stringify(job.error)}`);
    return jobs;
  }

  async function assertDrained(): Promise<void> {
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "lane queue drained");
    await lanes.waitForEmpty(lanes.quickBacklogQueueUrl, "backlog drained");
    await sleep(300);
    assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0, "nothing went to the DLQ");
  }

  test("a neighbour's upload behind a flood five times the look-ahead starts at once; the flood goes to the backlog once per upload and each upload runs once", async () => {
    const worker = await lanes.startLaneWorker(backlogEnv("w-backlog"));
    try {
      const { aIds, b } = await burstThenOne("flood-a", "near-b", 12, 700);
      const jobs = await completed([...aIds, b.id]);
      const bJob = jobs.at(-1)!;
      const aJobs = jobs.slice(0, -1);
      const aStarts = aJobs.map((job) => Date.parse(job.startedAt!)).sort((x, y) => x - y);
      const bStart = Date.parse(bJob.startedAt!);
      // Without the backlog B is seen only once the look-ahead's probes have reached it; with
      // it, B is the next message received after the flood's surplus has moved: it starts in
      // the newcomer slot while A's first upload still runs.
      assert.ok(
        bStart < aStarts[1]!,
        `B started after ${aStarts.filter((at) => at <= bStart).length} of A's 12 (${bStart - b.at} ms after its event)`,
      );
      const backlogged = aJobs.reduce((sum, job) => sum + movesOf(job, "backlogged"), 0);
      assert.ok(backlogged >= 6, `A's surplus went to the backlog (${backlogged} moves)`);
      for (const job of aJobs) {
        assert.ok(movesOf(job, "backlogged") <= 1, `${job.id} moved to the backlog at most once`);
        assert.equal(movesOf(job, "requeued"), 0, "no probes with a backlog");
        assert.equal(job.attempts, 1, "a move is not an attempt");
      }
      assert.equal(movesOf(bJob, "backlogged") + movesOf(bJob, "deferred"), 0, "the neighbour itself is never moved");
      for (const id of [...aIds, b.id])
        assert.equal(lanes.runs.filter((run) => run.jobId === id).length, 1, `${id} ran once`);
      await assertDrained();
      const forwards = await worker.metrics.registry.getSingleMetricAsString("media_lane_forwards_total");
      assert.match(forwards, /media_lane_forwards_total\{lane="quick",reason="backlog"\} \d+/);
    } finally {
      await worker.stop(1_000);
    }
  });

  test("a lone tenant's flood through the backlog is never deferred and never slowed: its slot is never idle and every upload runs once", async () => {
    const worker = await lanes.startLaneWorker(backlogEnv("w-backlog-lone"));
    try {
      const image = await smallJpeg();
      const ids: string[] = [];
      for (let index = 0; index < 10; index += 1)
        ids.push(await lanes.stack.uploadAndNotify(KEY("lone-f", `sleep-400-${index}.jpg`), image));
      const jobs = (await completed(ids)).sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!));
      for (const job of jobs) {
        assert.equal(movesOf(job, "deferred"), 0, "a lone tenant is never deferred");
        assert.equal(lanes.runs.filter((run) => run.jobId === job.id).length, 1, `${job.id} ran once`);
      }
      assert.ok(
        jobs.some((job) => movesOf(job, "backlogged") === 1),
        "the uploads beyond the look-ahead waited in the backlog",
      );
      // One slot: one job at a time, and the next starts as soon as the last ends (the backlog is
      // read whenever the look-ahead has room, so the slot never waits for the flood to come back).
      for (let index = 1; index < jobs.length; index += 1) {
        const gap = Date.parse(jobs[index]!.startedAt!) - Date.parse(jobs[index - 1]!.finishedAt!);
        assert.ok(gap >= -50, `jobs ${index - 1} and ${index} overlapped`);
        assert.ok(gap < 1_500, `the slot sat idle ${gap} ms between jobs ${index - 1} and ${index}`);
      }
      await assertDrained();
    } finally {
      await worker.stop(1_000);
    }
  });

  test("a stopping worker hands back what it held unstarted; another worker runs each upload once and drains the backlog", async () => {
    const first = await lanes.startLaneWorker(backlogEnv("w-backlog-holder"));
    const image = await smallJpeg();
    const ids: string[] = [];
    for (let index = 0; index < 8; index += 1)
      ids.push(await lanes.stack.uploadAndNotify(KEY("held-h", `sleep-1500-${index}.jpg`), image));
    await lanes.stack.waitForJob(ids[0]!, (job) => job.status === "processing");
    await waitFor(
      async () => (await lanes.depth(lanes.quickBacklogQueueUrl)) > 0 && first.consumer.waiting > 0,
      () => `the worker to hold some and move the rest to the backlog (holds ${first.consumer.waiting})`,
      10_000,
    );
    await first.stop(100);
    const second = await lanes.startLaneWorker(backlogEnv("w-backlog-taker", { MEDIA_PROCESSOR_CONCURRENCY: "2" }));
    try {
      for (const id of ids) {
        const job = await lanes.stack.waitForJob(id, (record) => record.status === "completed", 60_000);
        assert.equal(lanes.runs.filter((run) => run.jobId === id).length, 1, `${id} ran once`);
        if (id !== ids[0])
          assert.deepEqual(workersOf(job), ["w-backlog-taker"], "a held message was never started by the holder");
      }
      await assertDrained();
    } finally {
      await second.stop(1_000);
    }
  });
});
