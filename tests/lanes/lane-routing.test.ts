import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import { buildLaneForward } from "../../src/lanes/lane-forward.ts";
import { buildS3Notification, newSequencer, parseMessageBody } from "../../src/s3-events/s3-event.parser.ts";
import type { Worker } from "../../src/worker.ts";
import { eventsOf, fakeMp4, smallJpeg, startLaneStack, workersOf, type LaneStack } from "./lane-stack.ts";

const KEY = (name: string) => `tenants/t1/users/u1/media/${name}`;

describe("lanes: routing by bytes, forward-then-delete (emulator, real Redis, two worker pools)", () => {
  let lanes: LaneStack;
  let quick: Worker;
  let video: Worker;
  before(async () => {
    lanes = await startLaneStack({ maxReceiveCount: 10 });
    quick = await lanes.startLaneWorker({ WORKER_LANES: "quick", WORKER_ID: "w-quick" });
    video = await lanes.startLaneWorker({
      WORKER_LANES: "video",
      WORKER_ID: "w-video",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
    });
  });
  after(async () => {
    await lanes.stop();
  });

  test("a JPEG named .mp4 runs in the quick lane; an MP4 named .jpg is forwarded to the video lane and runs there", async () => {
    const photo = await lanes.stack.uploadAndNotify(KEY("photo.mp4"), await smallJpeg());
    const clip = await lanes.stack.uploadAndNotify(KEY("clip.jpg"), fakeMp4());
    const photoJob = await lanes.stack.waitForJob(photo);
    const clipJob = await lanes.stack.waitForJob(clip);
    assert.equal(photoJob.status, "completed");
    assert.equal(clipJob.status, "completed");
    assert.deepEqual(workersOf(photoJob), ["w-quick"]);
    assert.ok(!eventsOf(photoJob).includes("lane-forwarded"), eventsOf(photoJob).join(","));
    assert.deepEqual(workersOf(clipJob), ["w-video"]);
    const forwarded = clipJob.timeline.find((entry) => entry.event === "lane-forwarded");
    assert.deepEqual(forwarded?.detail, { from: "quick", to: "video" });
    const kinds = Object.fromEntries(lanes.runs.map((run) => [run.jobId, run.kind]));
    assert.equal(kinds[photo], "image");
    assert.equal(kinds[clip], "video");
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "quick queue drained");
    await lanes.waitForEmpty(lanes.videoQueueUrl, "video queue drained");
    const throughput = await video.metrics.registry.getSingleMetricAsString("media_lane_jobs_total");
    assert.match(throughput, /media_lane_jobs_total\{lane="video",status="completed"\} 1/);
    const wait = await quick.metrics.registry.getSingleMetricAsString("media_lane_wait_seconds");
    assert.match(wait, /media_lane_wait_seconds_count\{lane="quick"\} [1-9]/);
    const forwards = await quick.metrics.registry.getSingleMetricAsString("media_lane_forwards_total");
    assert.match(forwards, /media_lane_forwards_total\{lane="video",reason="lane"\} 1/);
  });

  test("one event naming an image and a video: the image runs here, the video is forwarded, the message goes once both are done", async () => {
    const bucket = lanes.stack.bucket;
    const image = await lanes.stack.upload(KEY("pair-a.bin"), await smallJpeg());
    const movie = await lanes.stack.upload(KEY("pair-b.bin"), fakeMp4());
    const records = [
      { bucket, key: KEY("pair-a.bin"), eTag: image.eTag, sequencer: newSequencer() },
      { bucket, key: KEY("pair-b.bin"), eTag: movie.eTag, sequencer: newSequencer() },
    ];
    await lanes.stack.sendRaw(buildS3Notification(records));
    const [a, b] = records.map((record) => jobIdFor(record));
    assert.deepEqual(workersOf(await lanes.stack.waitForJob(a!)), ["w-quick"]);
    assert.deepEqual(workersOf(await lanes.stack.waitForJob(b!)), ["w-video"]);
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "quick queue drained");
    await lanes.waitForEmpty(lanes.videoQueueUrl, "video queue drained");
  });

  test("a crash between the forward's send and the original's delete loses nothing and does not double-process", async () => {
    // The state such a crash leaves, exactly: the forward is on the video queue AND the original
    // S3 event is back on the quick queue (its delete never happened).
    const key = KEY("crash.jpg");
    const { eTag } = await lanes.stack.upload(key, fakeMp4());
    const sequencer = newSequencer();
    const event = buildS3Notification([{ bucket: lanes.stack.bucket, key, eTag, sequencer }]);
    const parsed = parseMessageBody(event, { sourceBuckets: [lanes.stack.bucket], outputSegment: "processed" });
    assert.equal(parsed.kind, "events");
    const ref = parsed.kind === "events" ? parsed.refs[0]! : undefined;
    await lanes.sendTo(
      lanes.videoQueueUrl,
      buildLaneForward({ lane: "video", reason: "lane", tenant: "t1", sentAtMs: Date.now(), deferrals: 0, ref: ref! }),
    );
    await lanes.stack.sendRaw(event);
    const jobId = jobIdFor({ bucket: lanes.stack.bucket, key, eTag, sequencer });
    const job = await lanes.stack.waitForJob(jobId);
    assert.equal(job.status, "completed");
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "the original was forwarded again and deleted");
    await lanes.waitForEmpty(lanes.videoQueueUrl, "both forwards were taken off the video queue");
    const final = await lanes.stack.store.get(jobId);
    assert.equal(final?.attempts, 1, "claimed once");
    assert.equal(lanes.runs.filter((run) => run.jobId === jobId).length, 1, "processed exactly once");
    assert.equal(await lanes.depth(lanes.stack.config.queue.dlqUrl!), 0, "nothing went to the DLQ");
  });

  test("the original is deleted only once its forward is sent: a failed send keeps it, and it goes through later", async () => {
    await quick.stop(1_000);
    // A quick-lane worker whose video queue does not exist: every forward fails.
    const broken = await lanes.startLaneWorker({
      WORKER_LANES: "quick",
      WORKER_ID: "w-broken",
      MEDIA_LANE_QUEUE_URLS: `video=${lanes.videoQueueUrl}-missing`,
    });
    const jobId = await lanes.stack.uploadAndNotify(KEY("kept.jpg"), fakeMp4());
    await sleep(2_500);
    assert.ok((await lanes.depth(lanes.stack.config.queue.queueUrl)) >= 1, "the original is still on the quick queue");
    assert.ok(!lanes.runs.some((run) => run.jobId === jobId), "and nothing ran it");
    await broken.stop(1_000);
    quick = await lanes.startLaneWorker({ WORKER_LANES: "quick", WORKER_ID: "w-quick-2" });
    const job = await lanes.stack.waitForJob(jobId, (record) => record.status === "completed", 30_000);
    assert.deepEqual(workersOf(job), ["w-video"]);
    await lanes.waitForEmpty(lanes.stack.config.queue.queueUrl, "quick queue drained");
  });
});
