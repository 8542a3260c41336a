import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { MediaError } from "../../src/errors.ts";
import { renderCover } from "../../src/processors/audio/cover-art.ts";

const options = { maxDimension: 300, maxPixels: 1_000_000, jpegQuality: 80 };
const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 4, background: { r: 20, g: 120, b: 200, alpha: 0.5 } } })
    .png()
    .toBuffer();

describe("cover art", () => {
  it("is resized inside the maximum and flattened to a JPEG", async () => {
    const cover = await renderCover(await png(900, 600), options);
    assert.deepEqual([cover.width, cover.height], [300, 200]);
    const metadata = await sharp(cover.jpeg).metadata();
    assert.deepEqual([metadata.format, metadata.hasAlpha], ["jpeg", false]);
  });

  it("is never enlarged", async () => {
    const cover = await renderCover(await png(120, 90), options);
    assert.deepEqual([cover.width, cover.height], [120, 90]);
  });

  it("declaring more pixels than MAX_IMAGE_PIXELS is refused without decoding", async () => {
    await assert.rejects(
      renderCover(await png(1200, 1000), options),
      (error: unknown) => error instanceof MediaError && error.code === "cover-too-large",
    );
  });

  it("corrupt bytes are a processing error, not a crash", async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 0x13)]);
    await assert.rejects(
      renderCover(bytes, options),
      (error: unknown) =>
        error instanceof MediaError && error.code === "cover-unreadable" && error.category === "processing",
    );
  });
});
