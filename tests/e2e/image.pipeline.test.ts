import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import {
  animatedGif,
  decompressionBombJpeg,
  rotatedPhoneJpeg,
  transparentPng,
  truncatedJpeg,
} from "../helpers/generate-images.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { outputKeyOf } from "../helpers/outputs.ts";
import { waitFor } from "../helpers/wait-for.ts";

describe("image uploads through the real consumer, Redis and emulator", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack.stop();
  });

  test("a JPEG with EXIF Orientation=6 yields portrait outputs of the configured sizes, stripped of EXIF", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-photo.jpg";
    const jobId = await stack.uploadAndNotify(key, await rotatedPhoneJpeg());
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.type, "image");
    assert.equal(job.tenantId, "t1");
    assert.equal(job.userId, "u1");
    // The seed's shape with the source's extension and the run in the base: …/processed/1700000000-abc-photo.jpg.<run>_<variant>.<ext>.
    const prefix = outputKeyOf(job, "x.x").slice(0, -"x.x".length);
    assert.match(prefix, /^tenants\/t1\/users\/u1\/media\/processed\/1700000000-abc-photo\.jpg\.[0-9a-f]{8}_$/);
    const expected = {
      thumb_small: { ext: "webp", width: 113, height: 150 },
      thumb_medium: { ext: "webp", width: 300, height: 400 },
      thumb_large: { ext: "webp", width: 300, height: 400 },
      optimized: { ext: "jpg", width: 300, height: 400 },
      webp: { ext: "webp", width: 300, height: 400 },
      avif: { ext: "avif", width: 300, height: 400 },
    };
    for (const [variant, want] of Object.entries(expected)) {
      const bytes = await stack.getObject(`${prefix}${variant}.${want.ext}`);
      const metadata = await sharp(bytes).metadata();
      assert.equal(metadata.width, want.width, `${variant} width`);
      assert.equal(metadata.height, want.height, `${variant} height`);
      assert.equal(
        metadata.format,
        want.ext === "jpg" ? "jpeg" : want.ext === "avif" ? "heif" : want.ext,
        `${variant} format`,
      );
      assert.equal(metadata.exif, undefined, `${variant} must carry no EXIF (GPS)`);
      assert.ok(metadata.orientation === undefined || metadata.orientation === 1, `${variant} orientation`);
    }
    // The blue bar stored on the left of the landscape file is on top once rotated 90° clockwise.
    const { data, info } = await sharp(await stack.getObject(`${prefix}thumb_medium.webp`))
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) =>
      Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    assert.ok(pixel(150, 20)[2]! > 150 && pixel(150, 20)[0]! < 100, `top should be blue, got ${pixel(150, 20)}`);
    assert.ok(pixel(150, 300)[0]! > 150, `bottom should be red, got ${pixel(150, 300)}`);

    const result = job.result as {
      outputs: Array<{ key: string; variant: string }>;
      metadata: Record<string, unknown>;
      manifestKey: string;
    };
    assert.equal(result.metadata.width, 300);
    assert.equal(result.metadata.height, 400);
    assert.deepEqual(result.metadata.exif, {
      camera: "TestCam X1",
      lens: "Test 24mm",
      takenAt: "2024-05-06T07:08:09.000Z",
      hasGps: true,
    });
    assert.match(String(result.metadata.thumbhash), /^[A-Za-z0-9+/=]{20,}$/);
    assert.match(String(result.metadata.dominantColour), /^#[0-9a-f]{6}$/);
    assert.equal(result.manifestKey, "tenants/t1/users/u1/media/processed/1700000000-abc-photo.jpg_manifest.json");
    const manifest = JSON.parse((await stack.getObject(result.manifestKey)).toString()) as {
      jobId: string;
      outputs: unknown[];
    };
    assert.equal(manifest.jobId, jobId);
    assert.equal(manifest.outputs.length, 6);

    const events = job.timeline.map((entry) => entry.event);
    const order = [
      "received",
      "downloading",
      "downloaded",
      "detected",
      "processing",
      "inspected",
      "encoded",
      "processed",
      "manifest-written",
      "completed",
    ];
    assert.deepEqual(
      events.filter((event) => order.includes(event)),
      order,
    );
    const depth = await stack.queueDepth();
    assert.deepEqual(depth, { visible: 0, inFlight: 0, delayed: 0 }, "the message is deleted");
  });

  test("a second delivery of the same event does not process the job again", async () => {
    const key = "uploads/dup.png";
    const jobId = await stack.uploadAndNotify(key, await transparentPng());
    const first = await stack.waitForJob(jobId);
    assert.equal(first.status, "completed");
    // A redelivery is the same event: same ETag, same sequencer.
    const { eTag, sequencer } = first.source;
    await stack.sendEvent(key, eTag, sequencer);
    await stack.sendEvent(key, eTag, sequencer);
    await waitFor(
      async () => (await stack.queueDepth()).visible + (await stack.queueDepth()).inFlight === 0,
      "the queue drained",
      20_000,
    );
    const again = await stack.store.get(jobId);
    assert.equal(again?.attempts, 1);
    assert.equal(again?.timeline.filter((entry) => entry.event === "completed").length, 1);
  });

  test("a PNG with alpha keeps alpha in WebP and its optimized PNG", async () => {
    const jobId = await stack.uploadAndNotify("uploads/logo.png", await transparentPng());
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    for (const name of ["webp.webp", "optimized.png", "thumb_small.webp"]) {
      const bytes = await stack.getObject(outputKeyOf(job, name));
      const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 4);
      assert.ok(data[3]! < 10, `${name}: left edge transparent`);
      assert.ok(data[(info.width - 1) * 4 + 3]! > 245, `${name}: right edge opaque`);
    }
  });

  test("an animated GIF keeps its frames in the WebP variant", async () => {
    const jobId = await stack.uploadAndNotify("uploads/anim.gif", await animatedGif());
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const webp = await sharp(await stack.getObject(outputKeyOf(job, "webp.webp")), { animated: true }).metadata();
    assert.equal(webp.pages, 2);
    const gif = await sharp(await stack.getObject(outputKeyOf(job, "optimized.gif")), { animated: true }).metadata();
    assert.equal(gif.pages, 2);
  });

  test("a decompression bomb and a truncated JPEG fail as processing errors, are not retried, and the worker goes on", async () => {
    const bombId = await stack.uploadAndNotify("uploads/bomb.jpg", await decompressionBombJpeg());
    const truncatedId = await stack.uploadAndNotify("uploads/truncated.jpg", await truncatedJpeg());
    const textId = await stack.uploadAndNotify("uploads/lies.jpg", "this is not an image at all");
    const bomb = await stack.waitForJob(bombId);
    assert.equal(bomb.status, "failed");
    assert.equal(bomb.error?.category, "processing");
    assert.equal(bomb.error?.code, "pixel-limit");
    assert.equal(bomb.attempts, 1);
    const truncated = await stack.waitForJob(truncatedId);
    assert.equal(truncated.status, "failed");
    assert.equal(truncated.error?.category, "processing");
    const text = await stack.waitForJob(textId);
    assert.equal(text.status, "failed");
    assert.equal(text.error?.code, "unsupported-type");
    await waitFor(
      async () => {
        const depth = await stack.queueDepth();
        return depth.visible + depth.inFlight + depth.delayed === 0;
      },
      "the queue drained",
      20_000,
    );
    assert.equal((await stack.queueDepth("dlq")).visible, 0);
    const okId = await stack.uploadAndNotify("uploads/after.png", await transparentPng());
    assert.equal((await stack.waitForJob(okId)).status, "completed");
  });

  test("a truncated AVIF fails with a message naming the upload, never the worker's temp dir", async () => {
    // libheif names the file it reads in every line of its error ("<path>: bad seek to 1024").
    const avif = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#f00" } })
      .avif()
      .toBuffer();
    const key = "tenants/t1/users/u1/media/cut.avif";
    const job = await stack.waitForJob(await stack.uploadAndNotify(key, avif.subarray(0, 120)));
    assert.deepEqual([job.status, job.error?.category], ["failed", "processing"]);
    const message = job.error?.message ?? "";
    assert.ok(!message.includes(stack.tempDir) && !/\/input\b/.test(message), message);
    assert.ok(message.includes(key), message);
    const retried = job.timeline.filter((entry) => JSON.stringify(entry.detail ?? {}).includes(stack.tempDir));
    assert.deepEqual(retried, [], "no timeline entry names the temp dir either");
  });
});
