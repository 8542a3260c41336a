import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { createImageProcessor } from "../../src/processors/image.processor.ts";
import { processLocally, testConfig } from "../helpers/process-locally.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-colour-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const gradient = (width: number, height: number) =>
  sharp(
    Buffer.from(
      `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g"><stop offset="0" stop-color="#ff0000"/><stop offset="1" stop-color="#0000ff"/></linearGradient></defs><rect width="${width}" height="${height}" fill="url(#g)"/></svg>`,
    ),
  );

async function run(name: string, bytes: Buffer) {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  return processLocally(createImageProcessor(testConfig()), file);
}

test("a CMYK JPEG is converted to sRGB outputs with the right colours", async () => {
  const local = await run("cmyk.jpg", await gradient(400, 200).toColourspace("cmyk").jpeg().toBuffer());
  try {
    assert.equal(local.result.metadata.colourSpace, "cmyk");
    const webp = local.files.get([...local.files.keys()].find((key) => key.endsWith("_webp.webp"))!)!;
    const { data, info } = await sharp(webp).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    assert.ok(data[0]! > 180 && data[2]! < 90, `left edge red, got ${data.subarray(0, 3).join(",")}`);
  } finally {
    await local.cleanup();
  }
});

test("a 16-bit PNG and a greyscale PNG produce 8-bit web variants of the right size", async () => {
  for (const [name, bytes] of [
    ["deep.png", await gradient(300, 150).toColourspace("rgb16").png().toBuffer()],
    ["grey.png", await gradient(300, 150).greyscale().png().toBuffer()],
  ] as const) {
    const local = await run(name, bytes);
    try {
      const thumb = local.files.get([...local.files.keys()].find((key) => key.endsWith("_thumb_small.webp"))!)!;
      const metadata = await sharp(thumb).metadata();
      assert.deepEqual([metadata.width, metadata.height, metadata.depth], [150, 75, "uchar"], name);
      assert.equal(local.result.outputs.length, 6, name);
    } finally {
      await local.cleanup();
    }
  }
});
