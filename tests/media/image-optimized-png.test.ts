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
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-optimized-png-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Far more than 256 colours: a hue sweep with an alpha ramp and per-pixel noise, like a cut-out render. */
async function manyColourAlphaPng(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 4);
  let seed = 7;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const at = (y * width + x) * 4;
      pixels[at] = (x * 255) / width;
      pixels[at + 1] = (y * 255) / height;
      pixels[at + 2] = seed & 0xff;
      pixels[at + 3] = Math.round((x * 255) / (width - 1));
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

async function rgba(
  bytes: Buffer | string,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function run(name: string, bytes: Buffer) {
  const file = path.join(dir, name);
  await writeFile(file, bytes);
  const local = await processLocally(createImageProcessor(testConfig()), file);
  const output = (variant: string) => {
    const key = [...local.files.keys()].find((candidate) => path.basename(candidate).includes(`_${variant}.`));
    assert.ok(key, `${variant} was written`);
    return local.files.get(key)!;
  };
  return { local, output };
}

test("a truecolour PNG with alpha gets a lossless optimized PNG: every pixel and alpha value as uploaded", async () => {
  const source = await manyColourAlphaPng(640, 480);
  const { local, output } = await run("render.png", source);
  try {
    const optimized = output("optimized");
    const metadata = await sharp(optimized).metadata();
    assert.equal(metadata.format, "png");
    assert.equal(metadata.isPalette, false, "not quantised to a palette");
    const [before, after] = await Promise.all([rgba(source), rgba(optimized)]);
    assert.deepEqual([after.width, after.height], [before.width, before.height]);
    assert.ok(before.data.equals(after.data), "the optimized PNG holds exactly the source's pixels");
    assert.equal(local.result.metadata.isPalette, false);
  } finally {
    await local.cleanup();
  }
});

test("a palette PNG stays a palette PNG with exactly its colours", async () => {
  const source = await sharp(await manyColourAlphaPng(400, 300))
    .png({ palette: true, colours: 64 })
    .toBuffer();
  assert.equal((await sharp(source).metadata()).isPalette, true, "the fixture is a palette PNG");
  const { local, output } = await run("logo.png", source);
  try {
    const optimized = output("optimized");
    assert.equal((await sharp(optimized).metadata()).isPalette, true);
    const [before, after] = await Promise.all([rgba(source), rgba(optimized)]);
    assert.ok(before.data.equals(after.data), "re-quantising ≤ 256 colours loses none of them");
    assert.equal(local.result.metadata.isPalette, true);
  } finally {
    await local.cleanup();
  }
});

test("thumbnails of a large PNG with alpha, cut from the web-sized decode, have their exact box sizes and keep alpha", async () => {
  const { local, output } = await run("wide.png", await manyColourAlphaPng(3000, 2000));
  try {
    const config = testConfig().image;
    for (const [variant, box] of [
      ["thumb_small", config.thumbnailSizes.small],
      ["thumb_medium", config.thumbnailSizes.medium],
      ["thumb_large", config.thumbnailSizes.large],
      ["webp", config.webMaxDimension],
      ["avif", config.webMaxDimension],
    ] as const) {
      const image = await rgba(output(variant));
      assert.deepEqual([image.width, image.height], [box, Math.round((box * 2000) / 3000)], variant);
      // The alpha ramp runs left (transparent) to right (opaque) and survives every encode.
      const row = Math.floor(image.height / 2) * image.width * 4;
      assert.ok(image.data[row + 3]! < 16, `${variant}: left edge transparent, alpha ${image.data[row + 3]}`);
      assert.ok(image.data[row + (image.width - 1) * 4 + 3]! > 239, `${variant}: right edge opaque`);
      const recorded = local.result.outputs.find((entry) => entry.variant === variant)!;
      assert.deepEqual([recorded.width, recorded.height], [image.width, image.height], `${variant}: recorded size`);
    }
  } finally {
    await local.cleanup();
  }
});

test("semi-transparent pixels keep their colour in every web-sized variant (no second unpremultiply of the web decode)", async () => {
  // A flat blue whose alpha ramps from 0 to 255 left to right, wider than the web size so the web decode resizes.
  const width = 2600;
  const height = 1000;
  const pixels = Buffer.alloc(width * height * 4);
  for (let index = 0; index < width * height; index += 1)
    pixels.set([40, 90, 200, Math.round(((index % width) * 255) / (width - 1))], index * 4);
  const { local, output } = await run(
    "ramp.png",
    await sharp(pixels, { raw: { width, height, channels: 4 } })
      .png()
      .toBuffer(),
  );
  try {
    for (const variant of ["thumb_small", "thumb_medium", "thumb_large", "webp", "avif", "optimized"]) {
      const image = await rgba(output(variant));
      // A quarter of the way across: alpha ≈ 64, where a wrong unpremultiply multiplies colours by ~4.
      const at = (Math.floor(image.height / 2) * image.width + Math.floor(image.width / 4)) * 4;
      const [red, green, blue, alpha] = image.data.subarray(at, at + 4);
      assert.ok(alpha! > 40 && alpha! < 90, `${variant}: alpha ${alpha}`);
      assert.ok(
        Math.abs(red! - 40) < 20 && Math.abs(green! - 90) < 20 && Math.abs(blue! - 200) < 20,
        `${variant}: colour ${red},${green},${blue} under alpha ${alpha}, expected about 40,90,200`,
      );
    }
  } finally {
    await local.cleanup();
  }
});

test("a grey PNG with alpha, decoded once: lossless optimized PNG, a web WebP of the web size with alpha", async () => {
  const width = 2600;
  const height = 400;
  const pixels = Buffer.alloc(width * height * 2);
  for (let at = 0; at < pixels.length; at += 2) {
    pixels[at] = (at / 2) % 251;
    pixels[at + 1] = ((at / 2) % width) % 256;
  }
  const source = await sharp(pixels, { raw: { width, height, channels: 2 } })
    .toColourspace("b-w")
    .png()
    .toBuffer();
  assert.equal((await sharp(source).metadata()).channels, 2);
  const { local, output } = await run("grey.png", source);
  try {
    const optimized = await sharp(output("optimized")).raw().toBuffer({ resolveWithObject: true });
    const expected = await sharp(source).raw().toBuffer();
    assert.equal(optimized.info.channels, 4, "grey + alpha in the sRGB it always had");
    assert.ok(optimized.data.equals(expected), "every pixel and alpha value as uploaded");
    const web = await sharp(output("webp")).metadata();
    assert.deepEqual([web.width, web.height, web.hasAlpha], [2048, 315, true]);
  } finally {
    await local.cleanup();
  }
});
