import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import { isPng, pngChunkTypes, withoutPngChunks } from "../../src/media/png-chunks.ts";

test("removing the eXIf chunk leaves a PNG that decodes to the same pixels, without EXIF but with its ICC profile", async () => {
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: "#c03030" } })
    .png()
    .withExif({ IFD0: { Make: "Apple", Model: "iPhone" } })
    .withMetadata({ orientation: 6 })
    .withIccProfile("p3")
    .toBuffer();
  assert.ok(pngChunkTypes(png).includes("eXIf"));
  const stripped = withoutPngChunks(png, ["eXIf"]);
  assert.ok(isPng(stripped));
  assert.deepEqual(
    pngChunkTypes(stripped),
    pngChunkTypes(png).filter((type) => type !== "eXIf"),
  );
  const before = await sharp(png).metadata();
  const after = await sharp(stripped).metadata();
  assert.equal(before.orientation, 6);
  assert.equal(after.orientation, undefined);
  assert.equal(after.exif, undefined);
  assert.ok(after.icc, "the ICC profile stays");
  assert.deepEqual(await sharp(stripped).raw().toBuffer(), await sharp(png).raw().toBuffer());
});

test("a buffer that is not a PNG, or a PNG cut inside a chunk, is refused rather than half-copied", async () => {
  assert.throws(() => withoutPngChunks(Buffer.from("GIF89a...."), ["eXIf"]), /not a PNG/);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } })
    .png()
    .toBuffer();
  assert.throws(() => withoutPngChunks(png.subarray(0, png.length - 20), ["eXIf"]), /truncated PNG chunk/);
});
