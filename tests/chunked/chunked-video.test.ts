import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createVideoProcessor } from "../../src/processors/video.processor.ts";
import { parseMediaPlaylist } from "../../src/processors/video/master-playlist.ts";
import { buildChunkTask } from "../../src/pipeline/chunked/chunk-task.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { processLocally, testConfig } from "../helpers/process-locally.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { verifyHlsTree } from "../helpers/verify-hls.ts";
import { manifestKeyOf, runPrefixesOf } from "../helpers/outputs.ts";
import {
  CHUNK_ENV,
  countFrames,
  decodeErrors,
  downloadTree,
  entries,
  losslessScaled,
  ssimOf,
  startTimes,
} from "./chunk-helpers.ts";

/**
 * Chunked video end to end (VIDEO_CHUNK_SECONDS=4 on a 14 s clip: chunks 0–4, 4–8, 8–12,
 * 12–14 s and the audio task) through the real consumer, Redis, the S3/SQS emulator and ffmpeg.
 */
describe("chunked video through the real pipeline", () => {
  let stack: TestStack;
  let dir: string;
  let clip: string;
  const FPS = 25;
  const DURATION = 14;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-chunked-"));
    clip = await generateClip({
      width: 320,
      height: 180,
      durationSec: DURATION,
      fps: FPS,
      out: path.join(dir, "clip.mp4"),
    });
    stack = await startTestStack({ env: CHUNK_ENV });
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a 14 s clip in four chunks plays end to end: every rung decodes clean, lasts the source within one frame, and switches at every segment", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-long.mp4";
    const fetchesBefore = await sourceFetches(stack);
    const jobId = await stack.uploadAndNotify(key, await readFile(clip));
    const job = await stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    // One worker: the planner's download served every task (four chunks, audio, stills); none fetched it again.
    const fetches = await sourceFetches(stack);
    assert.deepEqual(
      { kept: fetches.kept - fetchesBefore.kept, downloaded: fetches.downloaded - fetchesBefore.downloaded },
      { kept: 6, downloaded: 0 },
    );
    assert.equal(job.type, "video");
    assert.deepEqual(entries(job, "chunked")[0]?.["chunks"], 4);
    const encoded = entries(job, "chunk-encoded");
    assert.deepEqual(encoded.map((entry) => entry["chunk"]).sort(), ["audio", "stills", "v0", "v1", "v2", "v3"]);
    for (const entry of encoded) {
      assert.equal(typeof entry["workerId"], "string");
      assert.ok(Date.parse(String(entry["endedAt"])) >= Date.parse(String(entry["startedAt"])));
    }
    assert.equal(entries(job, "completed").length, 1);
    assert.equal(entries(job, "stitched").length, 1);

    const master = await downloadTree(stack, job, path.join(dir, "first"));
    const masterText = await readFile(master, "utf8");
    assert.match(masterText, /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac".*URI="audio\/index.m3u8"/);
    // Keyframe at every segment start, same boundaries in every rung, CODECS and FRAME-RATE true, clean decode.
    const rungs = await verifyHlsTree(master, { sourceDurationSec: DURATION, segmentSeconds: 2 });
    assert.deepEqual(
      rungs.map((rung) => `${rung.width}x${rung.height}`),
      ["256x144", "320x180"],
    );
    for (const rung of rungs) {
      const playlist = path.join(path.dirname(master), rung.uri);
      assert.equal(await decodeErrors(playlist), "");
      const { frames, durationSec } = await countFrames(playlist);
      assert.equal(frames, DURATION * FPS, `${rung.uri}: ${frames} frames`);
      assert.ok(Math.abs(durationSec - DURATION) <= 1 / FPS + 1e-6, `${rung.uri} lasts ${durationSec} s`);
      // No segment spans two chunks: the joins at 4, 8 and 12 s are segment boundaries.
      const segments = parseMediaPlaylist(await readFile(playlist, "utf8")).segments;
      assert.deepEqual(
        segments.map((segment) => segment.uri),
        Array.from({ length: 7 }, (_, index) => `segment_${String(index).padStart(5, "0")}.ts`),
      );
    }
    const audio = path.join(path.dirname(master), "audio", "index.m3u8");
    assert.equal(await decodeErrors(audio), "");
    assert.ok(Math.abs((await countFrames(audio, "a:0")).durationSec - DURATION) < 0.1);

    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as {
      outputs: Array<{ variant: string }>;
      metadata: { chunks: unknown[]; hls: { renditions: unknown[] } };
    };
    assert.equal(manifest.metadata.chunks.length, 6, "four chunks, the audio and the stills task");
    assert.equal(manifest.metadata.hls.renditions.length, 2);
    for (const variant of ["hls_master", "hls_playlist", "poster", "poster_webp"])
      assert.ok(
        manifest.outputs.some((output) => output.variant === variant),
        `manifest lacks ${variant}`,
      );
    // The plan and everything beside it are gone once the job completed.
    assert.deepEqual(await stack.store.redis.keys(`${stack.store.keyPrefix}chunks:${jobId}*`), []);
  });

  test("a clip without sound is chunked too: no audio group, a poster from the stills task", async () => {
    const silent = await generateClip({
      width: 320,
      height: 180,
      durationSec: 10,
      fps: FPS,
      audio: false,
      out: path.join(dir, "silent.mp4"),
    });
    const jobId = await stack.uploadAndNotify(
      "tenants/t1/users/u1/media/1700000005-silent.mp4",
      await readFile(silent),
    );
    const job = await stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(entries(job, "chunk-encoded").length, 5, "three chunks, the (empty) audio task and the stills");
    const posters = (job.result as { outputs?: Array<{ variant: string }> } | undefined)?.outputs ?? [];
    assert.ok(
      posters.some((output) => output.variant === "poster"),
      "the stills task made the poster",
    );
    const master = await downloadTree(stack, job, path.join(dir, "silent"));
    assert.doesNotMatch(await readFile(master, "utf8"), /EXT-X-MEDIA|AUDIO=/);
    const rungs = await verifyHlsTree(master, { sourceDurationSec: 10, segmentSeconds: 2 });
    assert.ok(rungs.every((rung) => rung.hasVideo && !rung.hasAudio));
  });

  test("chunked rungs match the one-pass rungs of the same source (SSIM ≥ 0.99, same frame count, same audio/video start offset)", async () => {
    const key = "tenants/t1/users/u1/media/1700000001-abc-ssim.mp4";
    const jobId = await stack.uploadAndNotify(key, await readFile(clip));
    const job = await stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const master = await downloadTree(stack, job, path.join(dir, "ssim"));
    const onePass = await processLocally(createVideoProcessor(testConfig(CHUNK_ENV)), clip, {
      config: testConfig({ ...CHUNK_ENV, VIDEO_CHUNK_SECONDS: "0" }),
    });
    try {
      for (const [rung, width, height] of [
        ["144p", 256, 144],
        ["180p", 320, 180],
      ] as const) {
        const reference = [...onePass.files.entries()].find(([outputKey]) =>
          outputKey.endsWith(`/hls/${rung}/index.m3u8`),
        );
        assert.ok(reference, `one pass wrote no ${rung} playlist`);
        const chunked = path.join(path.dirname(master), rung, "index.m3u8");
        const ssim = await ssimOf(chunked, reference[1]);
        assert.ok(ssim >= 0.99, `${rung}: SSIM ${ssim}`);
        // Against the source, chunking may lose only a little of what one pass keeps.
        const source = await losslessScaled(clip, width, height, path.join(dir, `source-${rung}.mkv`));
        const chunkedLoss = 1 - (await ssimOf(chunked, source));
        const onePassLoss = 1 - (await ssimOf(reference[1], source));
        assert.ok(
          chunkedLoss <= onePassLoss + 0.003,
          `${rung}: SSIM loss against the source ${chunkedLoss.toFixed(4)} chunked, ${onePassLoss.toFixed(4)} one pass`,
        );
        assert.equal((await countFrames(chunked)).frames, (await countFrames(reference[1])).frames);
      }
      // Audio starts where it does relative to the video in one pass (within one AAC frame, 1024 samples).
      const referenceSegment = [...onePass.files.entries()].find(([outputKey]) =>
        outputKey.endsWith("/hls/180p/segment_00000.ts"),
      )![1];
      const onePassStart = await startTimes(referenceSegment);
      const chunkedVideo = await startTimes(path.join(path.dirname(master), "180p", "segment_00000.ts"));
      const chunkedAudio = await startTimes(path.join(path.dirname(master), "audio", "segment_00000.ts"));
      const onePassOffset = onePassStart.audio! - onePassStart.video!;
      const chunkedOffset = chunkedAudio.audio! - chunkedVideo.video!;
      assert.ok(
        Math.abs(onePassOffset - chunkedOffset) <= 1024 / 48_000,
        `audio − video start: one pass ${onePassOffset.toFixed(4)} s, chunked ${chunkedOffset.toFixed(4)} s`,
      );
    } finally {
      await onePass.cleanup();
    }
  });

  test("duplicate deliveries change nothing: the S3 event twice at once, then the event and a chunk task again after completion", async () => {
    const key = "tenants/t1/users/u1/media/1700000002-abc-dup.mp4";
    const { eTag } = await stack.upload(key, await readFile(clip));
    const sequencer = "00000000000000000000000000000042";
    await stack.sendEvent(key, eTag, sequencer);
    await stack.sendEvent(key, eTag, sequencer);
    const { jobIdFor } = await import("../../src/jobs/job.model.ts");
    const jobId = jobIdFor({ bucket: stack.bucket, key, eTag, sequencer });
    const job = await stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    await stack.waitForEmptyQueue("duplicates handled", 30_000);
    const prefix = runPrefixesOf(job)[1];
    const before = await snapshot(stack, prefix);
    const planId = String(entries(job, "chunks-sent")[0]?.["planId"]);
    await stack.sendEvent(key, eTag, sequencer);
    await stack.sendRaw(buildChunkTask({ jobId, planId, part: "video", chunkIndex: 1, startSec: 4, endSec: 8 }));
    await stack.waitForEmptyQueue("redeliveries handled", 30_000);
    const again = await stack.store.get(jobId);
    assert.equal(again?.status, "completed");
    assert.equal(entries(again!, "completed").length, 1);
    assert.equal(entries(again!, "chunks-sent").length, 1, "planned once");
    assert.equal(entries(again!, "chunk-started").length, 6, "each part encoded once (four chunks, audio, stills)");
    assert.deepEqual(await snapshot(stack, prefix), before);
  });

  test("a cancel mid-job stops every chunk and leaves no outputs and no chunk state", async () => {
    const long = await generateClip({
      width: 320,
      height: 180,
      durationSec: 40,
      fps: FPS,
      out: path.join(dir, "long.mp4"),
    });
    const key = "tenants/t1/users/u1/media/1700000003-abc-cancel.mp4";
    const jobId = await stack.uploadAndNotify(key, await readFile(long));
    await stack.waitForJob(jobId, (job) => job.timeline.some((entry) => entry.event === "chunk-encoded"), 120_000);
    await stack.store.requestCancel(jobId, { by: "test", via: "test" });
    await stack.store.redis.publish(stack.store.cancelChannel, jobId);
    const cancelled = await stack.waitForJob(jobId, (job) => job.status === "cancelled", 60_000);
    assert.equal(cancelled.error?.category, "cancelled");
    await stack.waitForEmptyQueue("every chunk task ended", 60_000);
    assert.ok(entries(cancelled, "chunk-encoded").length < 11, "not every chunk ran: the cancel stopped the rest");
    assert.deepEqual(await stack.listKeys(`tenants/t1/users/u1/media/processed/1700000003-abc-cancel`), []);
    assert.deepEqual(await stack.store.redis.keys(`${stack.store.keyPrefix}chunks:${jobId}*`), []);
  });

  test("a permanent chunk failure fails the job once, naming the chunk, and removes what the other chunks wrote", async () => {
    const long = await generateClip({
      width: 320,
      height: 180,
      durationSec: 40,
      fps: FPS,
      out: path.join(dir, "long2.mp4"),
    });
    const key = "tenants/t1/users/u1/media/1700000004-abc-changed.mp4";
    const jobId = await stack.uploadAndNotify(key, await readFile(long));
    await stack.waitForJob(jobId, (job) => job.timeline.some((entry) => entry.event === "chunks-sent"), 60_000);
    // The source changes under the plan (no event for it): the tasks that download it now refuse it.
    await stack.upload(key, await readFile(clip));
    const failed = await stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.code, "source-changed");
    assert.match(failed.error?.message ?? "", /^(chunk \d+ \(\d+–\d+ s\)|audio task): the source changed/);
    await stack.waitForEmptyQueue("every chunk task ended", 60_000);
    const after = await stack.store.get(jobId);
    assert.equal(entries(after!, "failed").length, 1, "failed once");
    assert.deepEqual(await stack.listKeys("tenants/t1/users/u1/media/processed/1700000004-abc-changed"), []);
    assert.deepEqual(await stack.store.redis.keys(`${stack.store.keyPrefix}chunks:${jobId}*`), []);
  });
});

/** media_chunk_source_fetches_total of the stack's worker, by where the source came from. */
async function sourceFetches(stack: TestStack): Promise<{ kept: number; downloaded: number }> {
  const { values } = await stack.worker.metrics.chunkSourceFetches.get();
  const of = (source: string) => values.find((value) => value.labels["source"] === source)?.value ?? 0;
  return { kept: of("kept"), downloaded: of("downloaded") };
}

/** Every key under a prefix with its ETag. */
async function snapshot(stack: TestStack, prefix: string): Promise<Record<string, string>> {
  const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
  const result: Record<string, string> = {};
  for (const key of await stack.listKeys(prefix))
    result[key] = (await stack.s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }))).ETag ?? "";
  return result;
}
