import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { MediaError } from "../../src/errors.ts";
import { detectFromBytes } from "../../src/media/detect-type.ts";
import { createImageProcessor } from "../../src/processors/image.processor.ts";
import { heicBomb, phoneHeic } from "../helpers/generate-images.ts";
import { processLocally, testConfig, type LocalRun } from "../helpers/process-locally.ts";
import { firstReceiveFate } from "../helpers/fate.ts";

/**
 * HEIC, the iPhone camera's default, through the real image processor: libheif decodes it (the
 * sharp build has no HEVC decoder), the result looks like the photo, EXIF facts are read but
 * never copied, the P3 profile survives in the optimized original, and broken or bomb HEICs fail
 * as processing errors before or instead of decoding.
 */
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-heic-test-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, bytes: Buffer, env: Record<string, string> = {}): Promise<LocalRun> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return processLocally(createImageProcessor(testConfig(env)), file);
}

const fileOf = (local: LocalRun, variant: string) =>
  local.files.get(local.result.outputs.find((output) => output.variant === variant)!.key)!;

test("a HEIC photo yields every variant, upright as stored, red half left, with its camera facts", async () => {
  const heic = await phoneHeic();
  assert.equal(detectFromBytes(heic).format, "heif");
  const local = await run("IMG_0001.HEIC", heic);
  try {
    const metadata = local.result.metadata as {
      format: string;
      compression: string;
      width: number;
      height: number;
      exif: { camera: string; hasGps: boolean; takenAt: string };
    };
    assert.equal(metadata.format, "heif");
    assert.equal(metadata.compression, "hevc");
    assert.deepEqual(
      [metadata.width, metadata.height],
      [640, 480],
      "HEIF rotation lives in the container; the EXIF Orientation is not applied on top",
    );
    assert.equal(metadata.exif.camera, "Apple iPhone 15 Pro");
    assert.equal(metadata.exif.hasGps, true);
    assert.equal(metadata.exif.takenAt?.slice(0, 10), "2025-06-07");
    assert.deepEqual(local.result.outputs.map((output) => output.variant).sort(), [
      "avif",
      "optimized",
      "thumb_large",
      "thumb_medium",
      "thumb_small",
      "webp",
    ]);
    assert.ok(local.steps.some((step) => step.event === "heic-decoded"));

    for (const variant of ["thumb_small", "webp", "optimized"]) {
      const { data, info } = await sharp(fileOf(local, variant))
        .toColourspace("srgb")
        .raw()
        .toBuffer({ resolveWithObject: true });
      assert.ok(
        Math.abs(info.width / info.height - 640 / 480) < 0.02,
        `${variant} keeps the landscape shape, got ${info.width}×${info.height}`,
      );
      const pixel = (x: number) => [
        ...data.subarray(
          (Math.floor(info.height / 2) * info.width + x) * info.channels,
          (Math.floor(info.height / 2) * info.width + x) * info.channels + 3,
        ),
      ];
      const [lr, , lb] = pixel(Math.floor(info.width / 8));
      const [rr, , rb] = pixel(Math.floor((info.width * 7) / 8));
      assert.ok(lr! > 150 && lb! < 100, `${variant}: left is red, got ${pixel(Math.floor(info.width / 8)).join(",")}`);
      assert.ok(
        rb! > 150 && rr! < 100,
        `${variant}: right is blue, got ${pixel(Math.floor((info.width * 7) / 8)).join(",")}`,
      );
    }
    const optimized = await sharp(fileOf(local, "optimized")).metadata();
    assert.equal(optimized.format, "jpeg");
    assert.equal(optimized.exif, undefined, "no EXIF (GPS) in outputs");
    assert.ok(optimized.icc, "the optimized original keeps the ICC profile");
    const thumb = await sharp(fileOf(local, "thumb_small")).metadata();
    assert.equal(thumb.exif, undefined);
  } finally {
    await local.cleanup();
  }
});

test("a truncated HEIC fails on its header as a processing error, not retried", async () => {
  const heic = await phoneHeic();
  await assert.rejects(run("cut.heic", heic.subarray(0, Math.floor(heic.length * 0.6))), (error: unknown) => {
    assert.ok(error instanceof MediaError, String(error));
    assert.equal(error.category, "processing");
    assert.equal(firstReceiveFate(error), "failed → delete");
    assert.equal(error.code, "image-unreadable");
    return true;
  });
});

test("a HEIC whose coded picture is garbage fails in libheif as image-corrupt, not retried", async () => {
  const heic = Buffer.from(await phoneHeic());
  const mdat = heic.indexOf("mdat");
  heic.fill(0, mdat + 8, mdat + 8 + Math.floor((heic.length - mdat) / 2));
  await assert.rejects(run("garbage.heic", heic), (error: unknown) => {
    assert.ok(error instanceof MediaError, String(error));
    assert.equal(error.code, "image-corrupt");
    assert.equal(firstReceiveFate(error), "failed → delete");
    assert.match(error.message, /HEIC image cannot be decoded/);
    return true;
  });
});

test("a HEIC declaring 65000×65000 pixels is refused from its header, before libheif decodes it", async () => {
  const started = Date.now();
  await assert.rejects(run("bomb.heic", await heicBomb()), (error: unknown) => {
    assert.ok(error instanceof MediaError, String(error));
    assert.equal(error.category, "processing");
    assert.equal(error.code, "pixel-limit");
    return true;
  });
  assert.ok(Date.now() - started < 10_000);
});
