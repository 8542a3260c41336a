import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { createImageProcessor } from "../../src/processors/image.processor.ts";
import { animatedPng, animatedWebp, avifWithSecondPrimary, multiPageTiff } from "../helpers/generate-images.ts";
import { processLocally, testConfig, type LocalRun } from "../helpers/process-locally.ts";

/**
 * Pages are not frames. Multi-page stills (fax TIFFs, HEIF/AVIF collections) show their
 * primary page and say how many pages they have; GIF, WebP and APNG animations stay animated
 * in the variants that can carry it, or the job says why not. Real sharp, libheif and ffmpeg on
 * generated files.
 */
let dir: string;
const runs: LocalRun[] = [];
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-pages-"));
});
after(async () => {
  await Promise.all(runs.map((run) => run.cleanup()));
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, bytes: Buffer, env: Record<string, string> = {}): Promise<LocalRun> {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  const config = testConfig(env);
  const local = await processLocally(createImageProcessor(config), file, {
    config,
    sourceKey: `tenants/t1/users/u1/media/${name}`,
  });
  runs.push(local);
  return local;
}
const fileOf = (local: LocalRun, variant: string) =>
  local.files.get(local.result.outputs.find((output) => output.variant === variant)!.key)!;
async function firstPixel(file: string): Promise<number[]> {
  const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return [...data.subarray(0, 3)];
}

describe("multi-page stills use their primary page", () => {
  test("a two-page fax TIFF with pages of different sizes completes with page 1 and records 2 pages", async () => {
    const local = await run(
      "fax.tif",
      multiPageTiff([
        { width: 200, height: 100, grey: 40 },
        { width: 100, height: 150, grey: 220 },
      ]),
    );
    const optimized = await sharp(fileOf(local, "optimized")).metadata();
    assert.deepEqual([optimized.width, optimized.height, optimized.pages ?? 1], [200, 100, 1]);
    assert.ok(Math.abs((await firstPixel(fileOf(local, "thumb_small")))[0]! - 40) < 6, "the thumbnail shows page 1");
    assert.equal(local.result.metadata["pages"], 2);
    assert.equal(local.result.metadata["animated"], false);
  });

  test("a same-size three-page TIFF is not stacked into a tall strip", async () => {
    const local = await run(
      "scans.tif",
      multiPageTiff([
        { width: 120, height: 80, grey: 40 },
        { width: 120, height: 80, grey: 220 },
        { width: 120, height: 80, grey: 128 },
      ]),
    );
    for (const variant of ["optimized", "webp", "avif", "thumb_large"]) {
      const metadata = await sharp(fileOf(local, variant)).metadata();
      assert.deepEqual([variant, metadata.width, metadata.height], [variant, 120, 80]);
    }
    assert.equal(local.result.metadata["pages"], 3);
  });

  test("an AVIF whose primary item is the second one shows that item", async () => {
    const local = await run("burst.avif", await avifWithSecondPrimary());
    const optimized = await sharp(fileOf(local, "optimized")).metadata();
    assert.deepEqual([optimized.width, optimized.height], [32, 24]);
    const [r, , b] = await firstPixel(fileOf(local, "webp"));
    assert.ok(b! > 200 && r! < 50, `the primary (blue) image, got ${r},${b}`);
    assert.deepEqual([local.result.metadata["pages"], local.result.metadata["pagePrimary"]], [2, 1]);
  });
});

describe("animations stay animated, or say why not", () => {
  test("a 97-frame APNG becomes an animated WebP (and optimized WebP) with its frames and delays", async () => {
    const local = await run("spinner.png", await animatedPng(97));
    for (const variant of ["webp", "optimized"]) {
      const metadata = await sharp(fileOf(local, variant), { animated: true }).metadata();
      assert.deepEqual([variant, metadata.format, metadata.pages, metadata.pageHeight], [variant, "webp", 97, 90]);
      assert.ok(
        metadata.delay?.every((delay) => delay === 100),
        `10 fps frames keep 100 ms delays: ${metadata.delay?.slice(0, 5).join(",")}`,
      );
    }
    assert.deepEqual(
      [
        local.result.metadata["animated"],
        local.result.metadata["frames"],
        local.result.metadata["animatedVariants"],
        local.result.metadata["pages"],
      ],
      [true, 97, ["optimized", "webp"], 97],
    );
    assert.equal(local.result.metadata["animationDropped"], undefined);
  });

  test("a 97-frame animated WebP keeps its frames in the WebP variant and says which variants move", async () => {
    const local = await run("loop.webp", await animatedWebp(97));
    const webp = await sharp(fileOf(local, "webp"), { animated: true }).metadata();
    assert.equal(webp.pages, 97);
    assert.deepEqual(local.result.metadata["animatedVariants"], ["optimized", "webp"]);
  });

  test("an APNG over the animation pixel limit keeps its first frame and records animationDropped with the reason", async () => {
    const local = await run("huge.png", await animatedPng(40), { MAX_IMAGE_PIXELS: String(120 * 90 * 5) });
    const webp = await sharp(fileOf(local, "webp"), { animated: true }).metadata();
    assert.equal(webp.pages ?? 1, 1);
    assert.equal(local.result.metadata["animationDropped"], true);
    assert.match(
      String(local.result.metadata["animationDroppedReason"]),
      /40 frames of 120×90 pixels are over the animation limit/,
    );
  });
});
