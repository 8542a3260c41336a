import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import type { WaveformData } from "../../src/processors/audio/waveform-data.ts";
import { drawWaveform, parseHexColor, renderWaveformPng } from "../../src/processors/audio/waveform-image.ts";

const options = { width: 100, height: 41, color: "#FF0000", backgroundColor: "#FFFFFF" };

/** Constant-amplitude waveform data: every point spans -amplitude..+amplitude. */
function flat(amplitude: number, length: number, channels = 1): WaveformData {
  const values = new Int16Array(length * channels * 2);
  for (let index = 0; index < values.length; index += 2) {
    values[index] = -amplitude;
    values[index + 1] = amplitude;
  }
  return { sampleRate: 8000, samplesPerPixel: 256, channels, length, values };
}

/** Rows of column `x` painted in the waveform colour (red). */
function paintedRows(pixels: Buffer, width: number, height: number, x: number): number[] {
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    const offset = (y * width + x) * 4;
    if (pixels[offset] === 255 && pixels[offset + 1] === 0) rows.push(y);
  }
  return rows;
}

describe("waveform image", () => {
  it("silence is a one-pixel line through the middle", () => {
    const pixels = drawWaveform(flat(0, 50), options);
    for (const x of [0, 50, 99]) assert.deepEqual(paintedRows(pixels, 100, 41, x), [20]);
  });

  it("full scale fills the height and half scale fills about half of it", () => {
    assert.equal(paintedRows(drawWaveform(flat(32767, 50), options), 100, 41, 10).length, 41);
    const half = paintedRows(drawWaveform(flat(16384, 50), options), 100, 41, 10);
    assert.ok(half.length >= 20 && half.length <= 22, `half amplitude painted ${half.length} rows`);
    assert.equal(half[0], 10);
  });

  it("split channels are drawn as stacked bands", () => {
    const pixels = drawWaveform(flat(0, 10, 2), { ...options, height: 40 });
    const rows = paintedRows(pixels, 100, 40, 5);
    assert.equal(rows.length, 2);
    assert.ok(rows[0]! < 20 && rows[1]! >= 20, `lines at ${rows.join(",")}`);
  });

  it("a column covers the points under it: a single loud point shows in a long file", () => {
    const data = flat(0, 10_000);
    data.values[5000 * 2] = -32768;
    data.values[5000 * 2 + 1] = 32767;
    const pixels = drawWaveform(data, options);
    assert.equal(paintedRows(pixels, 100, 41, 50).length, 41);
    assert.equal(paintedRows(pixels, 100, 41, 49).length, 1);
  });

  it("no audio draws the silent line instead of failing", () => {
    const pixels = drawWaveform(
      { sampleRate: 8000, samplesPerPixel: 256, channels: 1, length: 0, values: new Int16Array(0) },
      options,
    );
    assert.deepEqual(paintedRows(pixels, 100, 41, 0), [20]);
  });

  it("encodes a PNG of the configured size with transparency when asked", async () => {
    const png = await renderWaveformPng(flat(8000, 20), { ...options, backgroundColor: "#00000000" });
    const metadata = await sharp(png).metadata();
    assert.equal(metadata.format, "png");
    assert.deepEqual([metadata.width, metadata.height, metadata.hasAlpha], [100, 41, true]);
  });

  it("parses #RRGGBB and #RRGGBBAA and refuses anything else", () => {
    assert.deepEqual(parseHexColor("#3A6EA5"), [0x3a, 0x6e, 0xa5, 255]);
    assert.deepEqual(parseHexColor("ffffff80"), [255, 255, 255, 128]);
    assert.throws(() => parseHexColor("red"), RangeError);
  });
});
