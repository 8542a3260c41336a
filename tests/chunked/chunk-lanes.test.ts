import assert from "node:assert/strict";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { generateClip } from "../helpers/generate-video.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { CHUNK_ENV, entries } from "./chunk-helpers.ts";

/**
 * With lanes, a chunked video's tasks go to the queue of the lane the video runs in: a worker
 * serving only the quick lane forwards the upload and never sees a chunk of it.
 */
describe("chunk tasks with lanes", () => {
  let stack: TestStack;
  let dir: string;
  let videoQueueUrl: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-chunk-lanes-"));
    stack = await startTestStack({ noWorker: true, env: CHUNK_ENV });
    const { Attributes: dlq = {} } = await stack.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: stack.config.queue.dlqUrl, AttributeNames: ["QueueArn"] }),
    );
    videoQueueUrl = stack.local.emulator.fauxqs.createQueue("media-lane-video", {
      region: "us-east-1",
      attributes: {
        VisibilityTimeout: "30",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.QueueArn, maxReceiveCount: 3 }),
      },
    }).queueUrl;
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("every chunk of a video runs on the video lane's workers", async () => {
    const lanes = {
      MEDIA_LANES: "quick=image,document,audio;video=video",
      MEDIA_LANE_QUEUE_URLS: `video=${videoQueueUrl}`,
    };
    await stack.startAnotherWorker({ ...lanes, WORKER_LANES: "quick", WORKER_ID: "quick-worker" });
    await stack.startAnotherWorker({ ...lanes, WORKER_LANES: "video", WORKER_ID: "video-worker" });
    const clip = await generateClip({
      width: 320,
      height: 180,
      durationSec: 12,
      fps: 25,
      out: path.join(dir, "clip.mp4"),
    });
    const jobId = await stack.uploadAndNotify("tenants/t1/users/u1/media/1700000000-lanes.mp4", await readFile(clip));
    const job = await stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const encoded = entries(job, "chunk-encoded");
    assert.equal(encoded.length, 6, "four chunks (12 s: 4 + 4 + 2 + 2), the audio and the stills task");
    assert.deepEqual([...new Set(encoded.map((entry) => entry["workerId"]))], ["video-worker"]);
    assert.deepEqual([...new Set(entries(job, "chunk-started").map((entry) => entry["workerId"]))], ["video-worker"]);
  });
});
