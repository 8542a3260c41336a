import assert from "node:assert/strict";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { generateClip } from "../helpers/generate-video.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { verifyHlsTree } from "../helpers/verify-hls.ts";
import { manifestKeyOf, runPrefixesOf } from "../helpers/outputs.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * Video uploads through the real consumer, Redis and the S3/SQS emulator: the HLS tree lands in
 * S3 with the right headers and plays; a playlist posing as mp4 fails `processing`; a cancel
 * mid-encode leaves no ffmpeg process and no temp dir.
 */
describe("video uploads through the real pipeline", () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-video-e2e-"));
    // The production preset (veryfast): the clips are tiny except the cancel test's, which must still be encoding when the cancel lands.
    stack = await startTestStack({ env: { VIDEO_HLS_SEGMENT_SECONDS: "1" } });
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a 720p upload becomes a playable two-rung HLS tree with poster and manifest in S3", async () => {
    const clip = await generateClip({ width: 1280, height: 720, durationSec: 2, out: path.join(dir, "clip.mp4") });
    const key = "tenants/t1/users/u1/media/1700000000-abc-clip.mp4";
    const jobId = await stack.uploadAndNotify(key, await readFile(clip));
    const job = await stack.waitForJob(jobId, undefined, 90_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.type, "video");
    assert.equal(job.progress, 100);
    const events = job.timeline.map((entry) => entry.event);
    for (const event of ["probed", "planned", "encoded", "poster", "uploaded"])
      assert.ok(events.includes(event), `timeline lacks ${event}: ${events.join(",")}`);

    // …/processed/1700000000-abc-clip.mp4.<run>: the run's tree is `${prefix}/`, its files `${prefix}_`.
    const prefix = runPrefixesOf(job)[1].slice(0, -1);
    const hlsKeys = await stack.listKeys(`${prefix}/hls/`);
    const local = path.join(dir, "downloaded");
    for (const hlsKey of hlsKeys) {
      const target = path.join(local, hlsKey.slice(prefix.length + 1));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await stack.getObject(hlsKey));
    }
    const rungs = await verifyHlsTree(path.join(local, "hls", "master.m3u8"), {
      sourceDurationSec: 2,
      segmentSeconds: 1,
    });
    assert.deepEqual(
      rungs.map((rung) => `${rung.width}x${rung.height}`),
      ["854x480", "1280x720"],
    );

    const head = (objectKey: string) => stack.s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: objectKey }));
    const master = await head(`${prefix}/hls/master.m3u8`);
    assert.equal(master.ContentType, "application/vnd.apple.mpegurl");
    assert.match(master.CacheControl ?? "", /immutable/);
    const segmentKey = hlsKeys.find((hlsKey) => hlsKey.endsWith(".ts"))!;
    assert.equal((await head(segmentKey)).ContentType, "video/mp2t");
    assert.equal((await head(`${prefix}_poster.jpg`)).ContentType, "image/jpeg");
    assert.equal((await head(`${prefix}_poster.webp`)).ContentType, "image/webp");
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as {
      metadata?: { hls?: { renditions: unknown[]; keyPrefix: string } };
    };
    assert.equal(manifest.metadata?.hls?.renditions.length, 2);
    assert.equal(manifest.metadata?.hls?.keyPrefix, `${prefix}/hls/`);
  });

  test("an HLS playlist uploaded as .mp4 fails as processing and writes no media outputs", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-evil.mp4";
    const jobId = await stack.uploadAndNotify(
      key,
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
    );
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "failed");
    assert.equal(job.error?.category, "processing");
    const outputs = await stack.listKeys("tenants/t1/users/u1/media/processed/1700000000-abc-evil");
    assert.deepEqual(outputs, [], "no outputs and no manifest");
  });

  test("a cancel mid-encode stops ffmpeg and removes the job's temp dir", async () => {
    // ~10 MB: long enough that the cancel lands while ffmpeg encodes (the emulator refused a 20 MB PutObject).
    const clip = await generateClip({
      width: 1920,
      height: 1080,
      durationSec: 12,
      fps: 10,
      out: path.join(dir, "long.mp4"),
    });
    const jobId = await stack.uploadAndNotify(
      "tenants/t1/users/u1/media/1700000000-abc-long.mp4",
      await readFile(clip),
    );
    await stack.waitForJob(jobId, (job) => job.status === "processing" && job.progress > 5, 60_000);
    const [workerFolder] = await readdir(stack.tempDir);
    assert.equal(
      (await readdir(path.join(stack.tempDir, workerFolder!))).length,
      1,
      "the job's temp dir exists while it encodes",
    );
    await stack.store.requestCancel(jobId);
    const job = await stack.waitForJob(jobId, undefined, 15_000);
    assert.equal(job.status, "cancelled");
    // Job dirs live in TEMP_DIR/<worker folder>/; the removal runs in the job's finally block, so give it a moment.
    const workerFolders = await readdir(stack.tempDir);
    assert.equal(workerFolders.length, 1);
    const left = await waitForValue(
      () => readdir(path.join(stack.tempDir, workerFolders[0]!)).catch(() => []),
      (entries) => entries.length === 0,
      (last) => `the job's temp dir to be removed; left: ${JSON.stringify(last)}`,
      2_000,
    );
    assert.deepEqual(left, [], "the job's temp dir was not removed");
    const running: string[] = [];
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
      if (cmdline.startsWith("ffmpeg") && cmdline.includes(stack.tempDir)) running.push(entry);
    }
    assert.deepEqual(running, [], "ffmpeg still runs on the job's files");
  });
});
