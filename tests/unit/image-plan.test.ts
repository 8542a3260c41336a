import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "../../src/config/config.ts";
import {
  decodesOnce,
  displayedSize,
  fitInside,
  planVariants,
  pngOptions,
} from "../../src/processors/image/image.plan.ts";

/** The image plan (src/processors/image/image.plan.ts): pure sizes and variant choices. */

const baseEnv = {
  MEDIA_BUCKET: "media",
  MEDIA_PROCESSING_QUEUE_URL: "http://localhost:4566/000000000000/q",
  REDIS_URL: "redis://localhost:6379",
};
const config = loadConfig(baseEnv).image;
const names = (format: string, hasAlpha = false, pages = 1) =>
  planVariants({ format, width: 10, height: 10, pages, hasAlpha }, config).map((plan) => plan.name);
const optimizedPalette = (isPalette: boolean, format = "png") =>
  planVariants({ format, width: 10, height: 10, pages: 1, hasAlpha: true, isPalette }, config).find(
    (plan) => plan.variant === "optimized",
  )!.palette;

test("image plan: an EXIF orientation that turns the picture swaps its displayed width and height", () => {
  assert.deepEqual(displayedSize(400, 300, 6), { width: 300, height: 400 });
  assert.deepEqual(displayedSize(400, 300, 3), { width: 400, height: 300 });
});

test("image plan: fitting inside a box keeps the aspect ratio and never enlarges", () => {
  assert.deepEqual(fitInside(6000, 4000, 1200), { width: 1200, height: 800 });
  assert.deepEqual(fitInside(100, 50, 1200), { width: 100, height: 50 });
});

test("image plan: a JPEG gets three thumbnails, an optimised JPEG, WebP and AVIF", () => {
  assert.deepEqual(names("jpeg"), [
    "thumb_small.webp",
    "thumb_medium.webp",
    "thumb_large.webp",
    "optimized.jpg",
    "webp.webp",
    "avif.avif",
  ]);
});

test("image plan: the optimised variant follows the source family (PNG with alpha, animated GIF, HEIF as JPEG)", () => {
  assert.ok(names("png", true).includes("optimized.png"));
  assert.ok(names("gif", false, 3).includes("optimized.gif"));
  assert.ok(names("heif").includes("optimized.jpg"));
});

test("image plan: only a palette PNG keeps a palette (quantising truecolour to 256 colours is not lossless)", () => {
  assert.equal(optimizedPalette(false), false);
  assert.equal(optimizedPalette(true), true);
  assert.equal(optimizedPalette(true, "webp"), false);
});

test("image plan: PNG options are lossless zlib with adaptive filtering, palette only when asked", () => {
  assert.deepEqual(pngOptions(false), { palette: false, compressionLevel: 6, adaptiveFiltering: true });
  assert.equal(pngOptions(true).palette, true);
});

test("image plan: only an 8-bit still PNG without an ICC profile, up to 24 MP, is decoded once for every variant", () => {
  const png = { format: "png", pages: 1, width: 4000, height: 3000, hasIccProfile: false, bitDepth: "uchar" };
  assert.equal(decodesOnce(png), true);
  assert.equal(decodesOnce({ ...png, format: "jpeg" }), false, "a JPEG keeps its shrink-on-load web decode");
  assert.equal(decodesOnce({ ...png, bitDepth: "ushort" }), false, "a 16-bit PNG keeps the path it had");
  assert.equal(decodesOnce({ ...png, hasIccProfile: true }), false, "an ICC profile is kept from the file");
  assert.equal(decodesOnce({ ...png, pages: 3 }), false);
  assert.equal(decodesOnce({ ...png, width: 6000, height: 4001 }), false, "over DECODE_ONCE_MAX_PIXELS");
  assert.equal(decodesOnce({ ...png, width: 6000, height: 4000 }), true);
});
