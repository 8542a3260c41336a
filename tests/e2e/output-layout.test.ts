import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { throwIfAborted } from "../../src/errors.ts";
import { buildS3Notification, newSequencer } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import type { Processor } from "../../src/processors/processor.ts";
import { MAX_KEY_BYTES, utf8Bytes } from "../../src/storage/output-keys.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { phoneHeic } from "../helpers/generate-images.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { manifestKeyOf, outputKeyOf, runPrefixesOf } from "../helpers/outputs.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";

/**
 * The output layout through the real worker, Redis and emulator, behind a proxy that enforces
 * S3's 1024-byte key limit (the emulator does not): distinct sources never share a key, a
 * re-upload gets fresh keys and its manifest, old outputs go, keys fit, a user's folder named
 * `processed` is processed, and every key we write is dropped when a bucket notifies us of it.
 */

type Manifest = { jobId: string; run: { token: string; attempt: number }; outputs: Array<{ key: string }> };
type Result = {
  outputs: Array<{ key: string; variant: string }>;
  manifestKey: string;
  run: string;
  superseded?: { by: { eTag?: string } };
};

const solid = (colour: string, format: "jpeg" | "png" = "jpeg") =>
  sharp({ create: { width: 320, height: 240, channels: 3, background: colour } })
    [format]()
    .toBuffer();
const resultOf = (job: JobRecord) => job.result as Result;

/** A processor for the superseded-run test: it writes one output, then waits until the test lets it finish. */
function gatedProcessor() {
  let reached: () => void = () => undefined;
  let release: () => void = () => undefined;
  const reachedGate = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const processor: Processor = {
    name: "gated",
    accepts: (media) => media.kind === "unknown",
    async process(ctx) {
      const output = await ctx.output({
        name: "note.txt",
        variant: "note",
        body: { buffer: await readFile(ctx.inputPath) },
        contentType: "text/plain",
      });
      calls += 1;
      // Only the first run waits; the re-upload's own job runs straight through.
      if (calls === 1) {
        reached();
        await gate;
      }
      throwIfAborted(ctx.signal);
      return { outputs: [output], metadata: {} };
    },
  };
  return { processor, reachedGate, release: () => release() };
}

describe("the output layout, end to end", () => {
  let stack: TestStack;
  let proxy: FaultProxy;
  let dir: string;
  const gated = gatedProcessor();
  /** Every source this suite uploads; everything else in the bucket the worker wrote. */
  const sources = new Set<string>();
  const uploadAndNotify = async (key: string, body: Buffer | string) => {
    sources.add(key);
    return stack.uploadAndNotify(key, body);
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-layout-"));
    stack = await startTestStack({
      processors: [gated.processor],
      endpointFor: async (emulator) => {
        proxy = await startFaultProxy(emulator);
        // S3 refuses keys over 1024 UTF-8 bytes with 400 KeyTooLongError; the emulator does not.
        proxy.setRule(({ path: requestPath }) =>
          keyBytesOf(requestPath) > MAX_KEY_BYTES ? { status: 400, code: "KeyTooLongError" } : "pass",
        );
        return proxy.endpoint;
      },
      env: { VIDEO_HLS_RUNGS: "240:300k:64k", MEDIA_PROCESSOR_CONCURRENCY: "2" },
    });
  });
  after(async () => {
    await stack.stop();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  const drained = () => stack.waitForEmptyQueue("queue drained", 30_000);
  const completed = async (jobId: string, timeoutMs = 90_000) => {
    const job = await stack.waitForJob(jobId, undefined, timeoutMs);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    return job;
  };
  const keysOfRun = async (job: JobRecord) =>
    (await Promise.all(runPrefixesOf(job).map((prefix) => stack.listKeys(prefix)))).flat();
  const manifestOf = async (sourceKey: string) =>
    JSON.parse((await stack.getObject(manifestKeyOf(sourceKey))).toString()) as Manifest;
  const meanRed = async (key: string) => (await sharp(await stack.getObject(key)).stats()).channels[0]!.mean;

  test("collide.jpg and collide.png in one folder keep their own outputs and manifests", async () => {
    const [jpgId, pngId] = [
      await uploadAndNotify("tenants/t1/users/u1/media/collide.jpg", await solid("#e01010")),
      await uploadAndNotify("tenants/t1/users/u1/media/collide.png", await solid("#1010e0", "png")),
    ];
    const [jpg, png] = [await completed(jpgId), await completed(pngId)];
    const [jpgKeys, pngKeys] = [await keysOfRun(jpg), await keysOfRun(png)];
    assert.equal(jpgKeys.length, 6);
    assert.deepEqual(
      jpgKeys.filter((key) => pngKeys.includes(key)),
      [],
      "no shared key",
    );
    assert.notEqual(resultOf(jpg).manifestKey, resultOf(png).manifestKey);
    assert.equal((await manifestOf("tenants/t1/users/u1/media/collide.jpg")).jobId, jpgId);
    assert.equal((await manifestOf("tenants/t1/users/u1/media/collide.png")).jobId, pngId);
    // Each job's thumbnail is its own picture: the red JPEG's, the blue PNG's.
    assert.ok((await meanRed(outputKeyOf(jpg, "thumb_small.webp"))) > 180);
    assert.ok((await meanRed(outputKeyOf(png, "thumb_small.webp"))) < 60);
  });

  test("an iPhone Live Photo's IMG_1234.HEIC and IMG_1234.MOV side by side are an image job and a video job with separate outputs", async () => {
    const clip = await generateClip({ width: 320, height: 240, durationSec: 1, out: path.join(dir, "IMG_1234.MOV") });
    const heicId = await uploadAndNotify("tenants/t1/users/u1/media/IMG_1234.HEIC", await phoneHeic());
    const movId = await uploadAndNotify("tenants/t1/users/u1/media/IMG_1234.MOV", await readFile(clip));
    const [heic, mov] = [await completed(heicId), await completed(movId)];
    assert.deepEqual([heic.type, mov.type], ["image", "video"]);
    const [heicKeys, movKeys] = [await keysOfRun(heic), await keysOfRun(mov)];
    assert.deepEqual(
      heicKeys.filter((key) => movKeys.includes(key)),
      [],
    );
    assert.ok(
      movKeys.some((key) => key.endsWith("/hls/master.m3u8")),
      movKeys.join("\n"),
    );
    assert.equal((await manifestOf("tenants/t1/users/u1/media/IMG_1234.HEIC")).jobId, heicId);
    assert.equal((await manifestOf("tenants/t1/users/u1/media/IMG_1234.MOV")).jobId, movId);
  });

  test("a re-upload of the same key gets fresh keys, the manifest names them, the old outputs are deleted, and only outputs are cached forever", async () => {
    const key = "tenants/t1/users/u1/media/avatar.jpg";
    const first = await completed(await uploadAndNotify(key, await solid("#e01010")));
    const firstKeys = await keysOfRun(first);
    const second = await completed(await uploadAndNotify(key, await solid("#1010e0")));
    assert.notEqual(second.id, first.id);
    const secondKeys = await keysOfRun(second);
    assert.deepEqual(
      secondKeys.filter((outputKey) => firstKeys.includes(outputKey)),
      [],
      "a CDN never sees an old object under a new upload's key",
    );
    const manifest = await manifestOf(key);
    assert.deepEqual([manifest.jobId, manifest.run.token], [second.id, resultOf(second).run]);
    assert.deepEqual(
      manifest.outputs.map((output) => output.key).sort(),
      resultOf(second)
        .outputs.map((output) => output.key)
        .sort(),
    );
    assert.ok((await meanRed(outputKeyOf(second, "thumb_small.webp"))) < 60, "the new picture");
    assert.deepEqual(await keysOfRun(first), [], "the first upload's outputs are gone");
    assert.ok(second.timeline.some((entry) => entry.event === "old-outputs-removed" && entry.detail?.count === 6));
    const head = (objectKey: string) => stack.s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: objectKey }));
    assert.equal(
      (await head(outputKeyOf(second, "optimized.jpg"))).CacheControl,
      "public, max-age=31536000, immutable",
    );
    assert.equal((await head(manifestKeyOf(key))).CacheControl, "no-cache");
  });

  test("the same bytes uploaded twice to an unversioned key are two jobs (the sequencer tells the PUTs apart); a redelivery is still one", async () => {
    const key = "tenants/t1/users/u1/media/same-bytes.png";
    const bytes = await solid("#10a010", "png");
    const first = await completed(await uploadAndNotify(key, bytes));
    const second = await completed(await uploadAndNotify(key, bytes));
    assert.equal(second.source.eTag, first.source.eTag, "identical bytes, identical ETag");
    assert.notEqual(second.id, first.id, "not dropped as a duplicate");
    assert.equal((await manifestOf(key)).jobId, second.id);
    assert.notEqual(resultOf(second).run, resultOf(first).run);
    await stack.sendEvent(key, second.source.eTag, second.source.sequencer);
    await drained();
    assert.equal(
      (await stack.store.get(second.id))?.attempts,
      1,
      "the redelivered event is the same job, not run again",
    );
  });

  test('EventBridge events with version-id "null" and either ETag casing: two uploads of one unversioned key are two jobs', async () => {
    const key = "tenants/t1/users/u1/media/eventbridge.jpg";
    const event = (object: Record<string, unknown>) =>
      JSON.stringify({
        version: "0",
        source: "aws.s3",
        "detail-type": "Object Created",
        time: new Date().toISOString(),
        detail: {
          bucket: { name: stack.bucket },
          object: { key, "version-id": "null", ...object },
          reason: "PutObject",
        },
      });
    sources.add(key);
    const first = await stack.upload(key, await solid("#e01010"));
    const firstSequencer = newSequencer();
    await stack.sendRaw(event({ etag: first.eTag, sequencer: firstSequencer }));
    const firstJob = await completed(
      jobIdFor({ bucket: stack.bucket, key, eTag: first.eTag, sequencer: firstSequencer }),
    );
    const second = await stack.upload(key, await solid("#1010e0"));
    const secondSequencer = newSequencer();
    await stack.sendRaw(event({ eTag: second.eTag, sequencer: secondSequencer }));
    const secondJob = await completed(
      jobIdFor({ bucket: stack.bucket, key, eTag: second.eTag, sequencer: secondSequencer }),
    );
    assert.notEqual(secondJob.id, firstJob.id);
    assert.equal(secondJob.source.versionId, undefined, '"null" is no version');
    assert.equal(secondJob.source.eTag, second.eTag);
    assert.equal((await manifestOf(key)).jobId, secondJob.id);
  });

  test("a job whose source is uploaded again while it runs steps aside: its outputs go, the newer upload's job writes the manifest", async () => {
    const key = "tenants/t1/users/u1/media/race.txt";
    const firstId = await uploadAndNotify(key, "first version");
    await gated.reachedGate;
    const secondId = await uploadAndNotify(key, "second version, uploaded while the first runs");
    const second = await completed(secondId);
    gated.release();
    const first = await completed(firstId);
    assert.deepEqual(resultOf(first).outputs, []);
    assert.equal(resultOf(first).superseded?.by.eTag, second.source.eTag);
    assert.ok(first.timeline.some((entry) => entry.event === "superseded"));
    assert.ok(!first.timeline.some((entry) => entry.event === "manifest-written"));
    assert.deepEqual(await keysOfRun(first), [], "the superseded run's outputs were deleted");
    assert.equal((await manifestOf(key)).jobId, second.id);
    assert.equal(
      (await stack.getObject(outputKeyOf(second, "note.txt"))).toString(),
      "second version, uploaded while the first runs",
    );
  });

  test("a 1024-byte source key is processed: every output key fits S3's limit", async () => {
    const file = `${"été-".repeat(60)}photo.jpg`;
    const folder = "tenants/t1/users/u1/media/";
    const key = `${folder}${"d".repeat(MAX_KEY_BYTES - utf8Bytes(folder) - utf8Bytes(file) - 1)}/${file}`;
    assert.equal(utf8Bytes(key), MAX_KEY_BYTES);
    const job = await completed(await uploadAndNotify(key, await solid("#e01010")));
    const written = [...(await keysOfRun(job)), resultOf(job).manifestKey];
    assert.equal(written.length, 7);
    for (const outputKey of written) assert.ok(utf8Bytes(outputKey) <= MAX_KEY_BYTES, `${utf8Bytes(outputKey)} bytes`);
    assert.match(
      outputKeyOf(job, "thumb_small.webp"),
      /\/processed\/(été-)+[^/]*~[0-9a-f]{16}\.jpg\.[0-9a-f]{8}_thumb_small\.webp$/,
    );
    assert.equal(job.attempts, 1);
  });

  test("a source in a folder so deep that no output key can fit fails at once, before downloading, and is not retried", async () => {
    const key = `${"deep/".repeat(200)}photo.jpg`;
    const jobId = await uploadAndNotify(key, await solid("#e01010"));
    const job = await stack.waitForJob(jobId);
    assert.deepEqual(
      [job.status, job.error?.category, job.error?.code, job.error?.retryable, job.attempts],
      ["failed", "processing", "output-key-too-long", false, 1],
    );
    assert.ok(!job.timeline.some((entry) => entry.event === "downloading"));
    await drained();
    assert.equal((await stack.queueDepth("dlq")).visible, 0);
  });

  test("an S3 400 on an output (EntityTooLarge) fails the job at once instead of three times on its way to the DLQ", async () => {
    proxy.setRule(({ method, path: requestPath }) => {
      if (keyBytesOf(requestPath) > MAX_KEY_BYTES) return { status: 400, code: "KeyTooLongError" };
      return method === "PUT" && requestPath.includes("/too-large/processed/")
        ? { status: 400, code: "EntityTooLarge" }
        : "pass";
    });
    const job = await stack.waitForJob(
      await uploadAndNotify("tenants/t1/users/u1/media/too-large/photo.jpg", await solid("#e01010")),
    );
    assert.deepEqual(
      [job.status, job.error?.category, job.error?.code, job.error?.retryable, job.attempts],
      ["failed", "processing", "aws-EntityTooLarge", false, 1],
    );
    await drained();
    assert.equal((await stack.queueDepth("dlq")).visible, 0);
    assert.deepEqual(
      await stack.listKeys("tenants/t1/users/u1/media/too-large/processed/"),
      [],
      "the failed run left nothing behind",
    );
  });

  test("an upload in the user's own folder named processed is processed, into processed/processed/", async () => {
    const key = "tenants/t1/users/u1/media/processed/photo.jpg";
    const job = await completed(await uploadAndNotify(key, await solid("#e01010")));
    assert.equal(job.type, "image");
    assert.match(
      outputKeyOf(job, "thumb_small.webp"),
      /^tenants\/t1\/users\/u1\/media\/processed\/processed\/photo\.jpg\.[0-9a-f]{8}_thumb_small\.webp$/,
    );
    assert.equal((await manifestOf(key)).jobId, job.id);
  });

  test("a bucket notifying us of every object we wrote (no filter) makes no job: all of them are dropped as outputs", async () => {
    await drained();
    const written = (await stack.listKeys("")).filter((key) => !sources.has(key));
    assert.ok(
      written.some((key) => key.endsWith("_manifest.json")) &&
        written.some((key) => key.includes("/hls/")) &&
        written.some((key) => /\.[0-9a-f]{8}_thumb_small\.webp$/.test(key)),
      "flat files, trees and manifests",
    );
    const droppedBefore = await droppedOutputs(stack);
    const jobsBefore = (await stack.store.list({ limit: 1000 })).jobs.length;
    for (let start = 0; start < written.length; start += 10) {
      await stack.sendRaw(
        buildS3Notification(
          written
            .slice(start, start + 10)
            .map((key) => ({ bucket: stack.bucket, key, eTag: "e", sequencer: newSequencer() })),
        ),
      );
    }
    await drained();
    assert.equal(
      (await droppedOutputs(stack)) - droppedBefore,
      written.length,
      `${written.length} notifications for our own outputs`,
    );
    assert.equal((await stack.store.list({ limit: 1000 })).jobs.length, jobsBefore, "no job for any of them");
  });
});

/** The UTF-8 length of the object key in a path-style S3 request path (`/bucket/key?query`). */
function keyBytesOf(requestPath: string): number {
  const pathname = requestPath.split("?")[0] ?? "";
  const key = pathname.split("/").slice(2).join("/");
  try {
    return utf8Bytes(decodeURIComponent(key));
  } catch {
    return utf8Bytes(key);
  }
}

async function droppedOutputs(stack: TestStack): Promise<number> {
  const metric = (await stack.worker.metrics.messagesDropped.get()).values.find(
    (value) => value.labels.reason === "output-key",
  );
  return metric?.value ?? 0;
}
